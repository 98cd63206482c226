import Contracts
import FeatureContract
import Foundation
import Indicators
import Processing
import ServiceKit
import Testing
import Tickwire

// This target also imports Contracts (the bus messages): the library's names win here.
typealias Trade = Tickwire.Trade
typealias Quote = Tickwire.Quote
typealias Bar = Tickwire.Bar
typealias Signal = Tickwire.Signal
typealias Action = Tickwire.Action

/// A Monday's open in New York, 2025-01-06 14:30 UTC.
let sessionStart = Date(timeIntervalSince1970: 1_736_173_800)

/// Trades for `symbols` from a seeded random walk: `perSecond` trades per symbol per second for
/// `seconds` seconds, at whole milliseconds (so a `Date` holds them exactly).
func walkTrades(_ symbols: [String], seconds: Int, perSecond: Int = 4, seed: UInt64 = 9) -> [Trade] {
    var state = seed
    func unit() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }
    var prices = Dictionary(uniqueKeysWithValues: symbols.map { ($0, 100.0) })
    var trades: [Trade] = []
    var id = 0
    for millisecond in stride(from: 0, to: seconds * 1_000, by: 1_000 / perSecond) {
        for symbol in symbols {
            let move: Double = (unit() - 0.5) * 0.004
            let price: Double = (prices[symbol] ?? 100) * (1 + move)
            prices[symbol] = price
            id += 1
            let size: Double = Double(1 + Int(unit() * 9)) * 100
            let time = sessionStart.addingTimeInterval(Double(millisecond) / 1_000)
            trades.append(Trade(symbol: symbol, price: (price * 100).rounded() / 100, size: size, time: time, id: String(id)))
        }
    }
    return trades
}

@Suite("StreamProcessor")
struct StreamProcessorTests {
    @Test("gives the processor's own bars and features (TickerPipeline fed directly)")
    func sameAsTickerPipeline() throws {
        let symbols = ["AAA", "BBB"]
        let trades = walkTrades(symbols, seconds: 150)
        var processor = try StreamProcessor(windowSize: 20, barInterval: .seconds(2), lateTolerance: .milliseconds(500))
        var closed: [ClosedBar] = []
        for trade in trades { closed += processor.process(.trade(trade)) }

        var config = TickwireConfig()
        config.windowSize = 20
        config.processor.barIntervalSeconds = 2
        config.processor.lateToleranceSeconds = 0.5
        let settings = try ProcessorSettings.resolve(config: config, instance: "test", tickersFromCommandLine: symbols)
        var pipelines = Dictionary(uniqueKeysWithValues: symbols.map { ($0, TickerPipeline(symbol: $0, settings: settings)) })
        var expected: [TickerPipeline.Output] = []
        for trade in trades {
            var message = Contracts.Trade()
            message.symbol = trade.symbol
            message.price = trade.price
            message.size = trade.size
            message.tradeID = trade.id
            let time = Int64((trade.time.timeIntervalSince1970 * 1_000).rounded()) * 1_000_000
            _ = pipelines[trade.symbol]?.add(message, time: time)
            for symbol in symbols { expected += pipelines[symbol]?.close(asOf: time) ?? [] }
        }

        #expect(closed.count == expected.count && closed.count > 100, "\(closed.count) bars, expected \(expected.count)")
        #expect(closed.filter { $0.features != nil }.count > 20, "the indicators warmed up")
        for (got, want) in zip(closed, expected) {
            #expect(got.bar.symbol == want.bar.symbol)
            #expect(got.bar.end == Date(timeIntervalSince1970: Double(want.bar.endTimeNs) / 1e9))
            #expect([got.bar.open, got.bar.high, got.bar.low, got.bar.close, got.bar.volume, got.bar.vwap]
                == [want.bar.open, want.bar.high, want.bar.low, want.bar.close, want.bar.volume, want.bar.vwap])
            #expect(got.features?.values == want.features?.values)
            #expect(got.features?.close == want.features?.close)
        }
        let last = try #require(closed.last?.features)
        #expect(processor.latestFeatures(for: last.symbol) == last)
        #expect(processor.window(for: "AAA").count == 20)
        #expect(processor.isReady("AAA") && !processor.isReady("ZZZ"))
        #expect(processor.counts.trades == UInt64(trades.count))
    }

    @Test("features by name; history bars warm up without making live features")
    func namesAndHistory() throws {
        var processor = try StreamProcessor(barInterval: .seconds(60))
        var outputs: [ClosedBar] = []
        for index in 0..<80 {
            let start = sessionStart.addingTimeInterval(Double(index) * 60)
            let close = 100 + sin(Double(index) / 5) * 3
            let bar = Bar(
                symbol: "AAA", start: start, end: start.addingTimeInterval(60), open: close - 0.5, high: close + 1,
                low: close - 1, close: close, volume: 1_000 + Double(index), origin: .history)
            outputs += processor.process(.bar(bar))
        }
        #expect(outputs.count == 80)
        let features = try #require(outputs.last?.features)
        #expect(features.isFromHistory)
        #expect(Features.names == FeaturePipeline.schema.names)
        #expect(Features.names.count == features.values.count)
        let rsi = try #require(features["rsi_14"])
        #expect(rsi == features.values[try #require(Features.names.firstIndex(of: "rsi_14"))])
        #expect((0...1).contains(rsi))
        #expect(features["no_such_feature"] == nil)
        // A bar of another length is not mixed in; a live provider bar is ignored when bars are built from trades.
        let odd = Bar(symbol: "AAA", start: sessionStart, end: sessionStart.addingTimeInterval(5), open: 1, high: 1, low: 1, close: 1, volume: 1, origin: .history)
        #expect(processor.process(.bar(odd)).isEmpty)
        #expect(processor.counts.otherIntervalBars == 1)
        var live = odd
        live.origin = .live
        live.end = sessionStart.addingTimeInterval(60)
        #expect(processor.process(.bar(live)).isEmpty)
    }

    @Test("provider bars drive the indicators with .providerBars; settings out of range are refused")
    func providerBarsAndSettings() throws {
        var processor = try StreamProcessor(barInterval: .seconds(60), barSource: .providerBars)
        let bar = Bar(
            symbol: "AAA", start: sessionStart, end: sessionStart.addingTimeInterval(60), open: 10, high: 11, low: 9,
            close: 10.5, volume: 100)
        #expect(processor.process(.bar(bar)).map(\.bar.close) == [10.5])
        #expect(processor.process(.bar(bar)).isEmpty, "a bar not newer than the last is stale")
        #expect(processor.process(.trade(Trade(symbol: "AAA", price: 10, size: 1, time: sessionStart))).isEmpty)
        #expect(throws: ConfigurationError.self) { try StreamProcessor(barInterval: .zero) }
        #expect(throws: ConfigurationError.self) { try StreamProcessor(windowSize: 0) }
        #expect(throws: ConfigurationError.self) { try StreamProcessor(barInterval: .seconds(86_401)) }
    }

    @Test("a quiet ticker's bar closes on the event clock")
    func closesOnTime() throws {
        var processor = try StreamProcessor(barInterval: .seconds(1), lateTolerance: .zero)
        let trade = Trade(symbol: "AAA", price: 10, size: 1, time: sessionStart.addingTimeInterval(0.25))
        #expect(processor.process(.trade(trade)).isEmpty)
        #expect(processor.closeBars(asOf: sessionStart.addingTimeInterval(0.9)).isEmpty)
        let closed = processor.closeBars(asOf: sessionStart.addingTimeInterval(1))
        #expect(closed.map(\.bar.close) == [10])
        #expect(closed.first?.bar.origin == .built)
    }
}
