import Contracts
import FeatureContract
import Foundation
import Indicators
import Processing
import ServiceKit
import Testing

/// Settings for a pipeline with 60 s bars and a 2 s tolerance, New York time.
func settings(tickers: [String] = ["AAPL"], window: Int = 100) -> ProcessorSettings {
    var config = TickwireConfig()
    config.tickers = tickers
    config.windowSize = window
    return try! ProcessorSettings.resolve(config: config, instance: "t", tickersFromCommandLine: nil)
}

let second: Int64 = 1_000_000_000
/// 2024-03-14 09:30 New York.
let sessionOpen: Int64 = 1_710_423_000 * second

func trade(_ price: Double, size: Double = 100, id: String = "", provider: String = "sim") -> Trade {
    var trade = Trade()
    trade.symbol = "AAPL"
    trade.price = price
    trade.size = size
    trade.tradeID = id
    trade.provider = provider
    return trade
}

func bar(minute: Int, close: Double, symbol: String = "AAPL", origin: BarOrigin = .live) -> Bar {
    var bar = Bar()
    bar.symbol = symbol
    bar.startTimeNs = sessionOpen + Int64(minute) * 60 * second
    bar.endTimeNs = bar.startTimeNs + 60 * second
    bar.open = close - 0.1
    bar.high = close + 0.5
    bar.low = close - 0.6
    bar.close = close
    bar.volume = 1_000 + Double(minute % 7) * 100
    bar.origin = origin
    return bar
}

@Suite("Ticker pipeline")
struct TickerPipelineTests {
    @Test("duplicate trade ids are ignored; the same id from another provider is not a duplicate")
    func duplicates() {
        var pipeline = TickerPipeline(symbol: "AAPL", settings: settings())
        #expect(pipeline.add(trade(10, id: "7"), time: sessionOpen + second) == .accepted)
        #expect(pipeline.add(trade(10, id: "7"), time: sessionOpen + second) == .duplicate)
        #expect(pipeline.add(trade(10, id: "7", provider: "other"), time: sessionOpen + second) == .accepted)
        #expect(pipeline.add(trade(10), time: sessionOpen + second) == .accepted)  // no id: never a duplicate
        let outputs = pipeline.close(asOf: sessionOpen + 62 * second)
        #expect(outputs.count == 1)
        #expect(outputs.first?.bar.tradeCount == 3)
        #expect(outputs.first?.bar.origin == .built)
        #expect(pipeline.counts.duplicateTrades == 1)
    }

    @Test("features appear once every feature is defined, equal to the offline pipeline's")
    func featuresMatchOffline() throws {
        var pipeline = TickerPipeline(symbol: "AAPL", settings: settings(window: 30))
        var offline = FeaturePipeline(timeZone: TimeZone(identifier: "America/New_York")!)
        var firstReady: Int?
        for minute in 0..<80 {
            let b = bar(minute: minute, close: 100 + sin(Double(minute) / 5) * 3 + Double(minute) * 0.05)
            let fed = pipeline.feed(b)
            let output = try #require(fed)
            let ready = offline.update(
                OHLCV(time: b.endTimeNs, open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume))
            #expect((output.features != nil) == ready)
            if let features = output.features {
                if firstReady == nil { firstReady = minute }
                #expect(features.values == offline.features)
                #expect(features.names == FeaturePipeline.schema.names)
                #expect(features.schemaHash == FeaturePipeline.schema.hash)
                #expect(features.barEndTimeNs == b.endTimeNs)
            }
        }
        #expect(firstReady == 49, "the default features need 50 bars (sma_50, ema_50)")
        #expect(pipeline.window.count == 30)
        #expect(pipeline.window.last?.endTimeNs == bar(minute: 79, close: 0).endTimeNs)
    }

    @Test("history that arrives after live bars started: replayed before them, same result as in order")
    func lateHistory() {
        let bars = (0..<70).map { bar(minute: $0, close: 50 + cos(Double($0) / 4) * 2 + Double($0) * 0.03) }
        var inOrder = TickerPipeline(symbol: "AAPL", settings: settings())
        var last: TickerPipeline.Output?
        for b in bars { last = inOrder.feed(b) }
        var late = TickerPipeline(symbol: "AAPL", settings: settings())
        for b in bars[60...] { #expect(late.feed(b)?.features == nil) }  // 10 live bars: not ready
        let warmed = late.warmUp(from: Array(bars[..<65]))  // overlaps the live bars: only 0..<60 used
        #expect(warmed?.features?.values == last?.features?.values)
        #expect(warmed?.features?.fromHistory == false, "the newest output is the newest live bar")
        #expect(late.isReady && late.window.count == 70)
        #expect(late.warmUp(from: Array(bars[..<65])) == nil, "a ready pipeline is left alone")
    }

    @Test("a short history first (an ingestor still backfilling), the full one later: ready, as in order")
    func shortThenFullHistory() {
        let bars = (0..<70).map { bar(minute: $0, close: 80 + sin(Double($0) / 3) * 2 + Double($0) * 0.02) }
        var inOrder = TickerPipeline(symbol: "AAPL", settings: settings())
        var last: TickerPipeline.Output?
        for b in bars { last = inOrder.feed(b) }
        var pipeline = TickerPipeline(symbol: "AAPL", settings: settings())
        #expect(pipeline.warmUp(from: Array(bars[..<30]))?.features == nil, "30 bars: not ready yet")
        for b in bars[65...] { _ = pipeline.feed(b) }  // live bars meanwhile
        #expect(pipeline.warmUp(from: Array(bars[..<30])) == nil, "the same short history gains nothing")
        let warmed = pipeline.warmUp(from: Array(bars[..<65]))
        #expect(warmed?.features?.values == last?.features?.values)
        #expect(pipeline.isReady && pipeline.window.count == 70)
    }

    @Test("a bar that does not end after the last one is stale and ignored")
    func staleBars() {
        var pipeline = TickerPipeline(symbol: "AAPL", settings: settings())
        #expect(pipeline.feed(bar(minute: 5, close: 10)) != nil)
        #expect(pipeline.feed(bar(minute: 5, close: 11)) == nil)
        #expect(pipeline.feed(bar(minute: 4, close: 11)) == nil)
        #expect(pipeline.counts.staleBars == 2)
    }

    @Test("after a warm-up from history, trades inside the history's bars are not built again")
    func historyThenTrades() {
        var pipeline = TickerPipeline(symbol: "AAPL", settings: settings())
        _ = pipeline.add(trade(10), time: sessionOpen + 30 * second)  // minute 0: covered by history
        for minute in 0..<3 { _ = pipeline.feed(bar(minute: minute, close: 10), fromHistory: true) }
        #expect(pipeline.add(trade(10), time: sessionOpen + 90 * second) == .late)  // minute 1: covered
        #expect(pipeline.add(trade(11), time: sessionOpen + 190 * second) == .accepted)  // minute 3: new
        let outputs = pipeline.close(asOf: sessionOpen + 242 * second)
        #expect(outputs.map(\.bar.startTimeNs) == [sessionOpen + 180 * second])
    }
}

@Suite("Processor settings")
struct ProcessorSettingsTests {
    func config() -> TickwireConfig {
        var config = TickwireConfig()
        config.tickers = ["AAPL", "MSFT", "GOOGL"]
        config.processors = [.init(name: "p1", tickers: ["AAPL"]), .init(name: "p2", tickers: ["MSFT", "GOOGL"])]
        return config
    }

    @Test("--tickers, then the processors entry for --instance")
    func tickers() throws {
        #expect(try ProcessorSettings.resolve(config: config(), instance: "p2", tickersFromCommandLine: nil).tickers == ["MSFT", "GOOGL"])
        #expect(try ProcessorSettings.resolve(config: config(), instance: "p2", tickersFromCommandLine: ["X"]).tickers == ["X"])
        var plain = config()
        plain.processors = []
        #expect(try ProcessorSettings.resolve(config: plain, instance: "any", tickersFromCommandLine: nil).tickers == plain.tickers)
    }

    @Test("an instance with no entry is an error that lists the entries")
    func unknownInstance() {
        #expect {
            _ = try ProcessorSettings.resolve(config: config(), instance: "p3", tickersFromCommandLine: nil)
        } throws: { error in
            "\(error)".contains("no processor named 'p3'") && "\(error)".contains("p1, p2")
        }
    }
}
