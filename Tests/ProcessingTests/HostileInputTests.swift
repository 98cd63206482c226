import Bus
import Contracts
import Foundation
import Indicators
import Logging
@testable import Processing
import ServiceKit
import SwiftProtobuf
import Synchronization
import TestSupport
import Testing
import Timekeeping

/// A reference clock a test moves by hand (UTC nanoseconds).
final class TestTime: Sendable {
    private let value: Mutex<Int64>
    init(_ now: Int64) { value = Mutex(now) }
    var now: Int64 { value.withLock { $0 } }
    func advance(seconds: Int64) { value.withLock { $0 += seconds * second } }
    var clock: ReferenceClock { .replay { self.now } }
}

let day = 86_400 * second

@Suite("Event clock")
struct EventClockTests {
    @Test("events beyond the lead are refused and do not move the clock; Int64.max and Int64.min never trap")
    func lead() {
        let time = TestTime(sessionOpen)
        var clock = EventClock(maxLeadNs: 300 * second, reference: time.clock)
        #expect(clock.watermark() == sessionOpen, "the reference before any event")
        #expect(clock.observe(eventTime: sessionOpen + 10 * second) == true)
        #expect(clock.observe(eventTime: .max) == false)
        #expect(clock.observe(eventTime: sessionOpen + 10 * day) == false)
        #expect(clock.observe(eventTime: sessionOpen + 301 * second) == false)
        #expect(clock.newestEvent == sessionOpen + 10 * second)
        // Older events, Int64.min included, are taken and change nothing.
        #expect(clock.observe(eventTime: .min) == true)
        #expect(clock.observe(eventTime: -1) == true)
        #expect(clock.observe(eventTime: 0) == true)
        #expect(clock.newestEvent == sessionOpen + 10 * second)
        time.advance(seconds: 5)
        #expect(clock.watermark() == sessionOpen + 15 * second)
        // Within the lead an event moves it: bounded by the lead.
        #expect(clock.observe(eventTime: sessionOpen + 300 * second) == true)
        #expect(clock.watermark() == sessionOpen + 300 * second)
    }

    @Test("the reference clock is the replay's: data from any year is not 'in the future' for it")
    func replay() {
        let past: Int64 = 946_684_800 * second  // 2000-01-01
        let time = TestTime(past)
        var clock = EventClock(maxLeadNs: 60 * second, reference: time.clock)
        #expect(clock.observe(eventTime: past + 30 * second) == true)
        #expect(clock.observe(eventTime: past + 61 * second) == false)
        // A reference at the ends of Int64 saturates.
        let end = TestTime(.max)
        var saturated = EventClock(maxLeadNs: .max, reference: end.clock)
        #expect(saturated.observe(eventTime: .max) == true)
        end.advance(seconds: -1)
        #expect(saturated.watermark() == .max)
        #expect(EventClock(maxLeadNs: -5).maxLeadNs == 0)
    }
}

@Suite("Hostile trades and bars in the pipeline")
struct HostilePipelineTests {
    @Test("trades at Int64.max, Int64.min and far away are out of range, not a trap; 0 and -1 are 1970")
    func tradeTimes() {
        var pipeline = TickerPipeline(symbol: "AAPL", settings: settings())
        for time: Int64 in [.max, .min, .max - 1, .min + 1, 9_000_000_000 * second, -9_000_000_000 * second] {
            #expect(pipeline.add(trade(10), time: time) == .outOfRange, "\(time)")
        }
        #expect(pipeline.add(trade(10), time: 0) == .accepted)
        #expect(pipeline.add(trade(10), time: -1) == .accepted)
        #expect(pipeline.counts.outOfRangeTrades == 6)
        #expect(pipeline.close(asOf: .max).count == 2)
        #expect(pipeline.close(asOf: .min).isEmpty)
    }

    @Test("an over-long trade id is invalid, not kept")
    func longTradeID() {
        var pipeline = TickerPipeline(symbol: "AAPL", settings: settings())
        let id = String(repeating: "x", count: 1 << 20)
        #expect(pipeline.add(trade(10, id: id), time: sessionOpen) == .invalid)
        #expect(pipeline.add(trade(10, id: "ok"), time: sessionOpen) == .accepted)
    }

    static func hostileBars() -> [(String, Bar, BarProblem)] {
        func make(_ change: (inout Bar) -> Void) -> Bar {
            var value = bar(minute: 0, close: 10)
            change(&value)
            return value
        }
        return [
            ("end before start", make { $0.endTimeNs = $0.startTimeNs - 1 }, .span),
            ("end equal to start", make { $0.endTimeNs = $0.startTimeNs }, .span),
            ("a 400-day span", make { $0.endTimeNs = $0.startTimeNs + 400 * day }, .span),
            ("Int64.min to Int64.max", make { $0.startTimeNs = .min; $0.endTimeNs = .max }, .timeRange),
            ("ends at Int64.max", make { $0.endTimeNs = .max }, .timeRange),
            ("NaN close", make { $0.close = .nan }, .price),
            ("infinite high", make { $0.high = .infinity }, .price),
            ("1e300 open", make { $0.open = 1e300 }, .price),
            ("high below low", make { $0.high = $0.low - 1 }, .price),
            ("NaN volume", make { $0.volume = .nan }, .volume),
            ("infinite volume", make { $0.volume = .infinity }, .volume),
            ("negative volume", make { $0.volume = -1 }, .volume),
            ("1e20 volume", make { $0.volume = 1e20 }, .volume),
        ]
    }

    @Test("bars with end <= start, huge spans, NaN/inf/negative volume or high < low are refused")
    func badBars() {
        for (name, bad, problem) in Self.hostileBars() {
            #expect(bad.problem == problem, "\(name)")
            var pipeline = TickerPipeline(symbol: "AAPL", settings: settings())
            #expect(pipeline.feed(bad) == nil, "\(name)")
            #expect(pipeline.counts.invalidBars == 1 && pipeline.counts.bars == 0, "\(name)")
            // A good bar afterwards is taken: the bad one changed nothing.
            #expect(pipeline.feed(bar(minute: 1, close: 10)) != nil, "\(name)")
        }
        #expect(bar(minute: 0, close: 10).problem == nil)
    }
}

@Suite("Hostile history requests and replies")
struct HostileHistoryTests {
    func store(
        capacity: Int = 500, maxTickers: Int? = nil, time: TestTime = TestTime(sessionOpen + 3_600 * second)
    ) -> BarHistory {
        var config = TickwireConfig()
        config.ingestor.historyBars = capacity
        var settings = BarHistory.Settings(config: config)
        if let maxTickers { settings.maxTickers = maxTickers }
        return BarHistory(settings: settings, reference: time.clock)
    }

    func request(
        _ symbols: [String], interval: Int64 = 60 * second, max: UInt32 = 100, source: String = "trades"
    ) -> HistoryRequest {
        var request = HistoryRequest()
        request.schemaVersion = Codec.schemaVersion
        request.symbols = symbols
        request.intervalNs = interval
        request.maxBars = max
        request.barSource = source
        return request
    }

    @Test("trades stamped Int64.max, Int64.min or 10 days ahead are dropped and counted; bars still close")
    func hostileTrades() {
        let history = store()
        history.record(.trade(trade(11)), eventTime: .max)
        history.record(.trade(trade(11)), eventTime: sessionOpen + 3_600 * second + 10 * day)
        history.record(.trade(trade(11)), eventTime: .min)
        history.record(.trade(trade(12)), eventTime: sessionOpen + 60 * second)
        history.record(.trade(trade(13)), eventTime: sessionOpen + 185 * second)
        history.closeDueBars()
        let reply = history.reply(to: request(["AAPL"]), producer: Producer())
        #expect(reply.bars.map(\.close) == [12], "the 09:31 bar closed; the 09:33 one is still open")
        let rejected = history.statistics.rejected
        #expect(rejected["history.rejected.future_time"] == 2, "\(rejected)")
        #expect(rejected["history.rejected.time_range"] == 1, "\(rejected)")
    }

    @Test("invalid provider bars are not kept (a span of Int64.min to Int64.max used to trap the reply)")
    func hostileProviderBars() {
        let history = store()
        for (_, bad, _) in HostilePipelineTests.hostileBars() { history.record(.bar(bad), eventTime: 0) }
        var future = bar(minute: 0, close: 10)
        future.startTimeNs = sessionOpen + 3_600 * second + 10 * day
        future.endTimeNs = future.startTimeNs + 60 * second
        history.record(.bar(future), eventTime: 0)
        history.record(.bar(bar(minute: 1, close: 10)), eventTime: 0)
        for interval in [60 * second, 1, .max, .min + 1] {
            _ = history.reply(to: request(["AAPL"], interval: interval, source: "provider"), producer: Producer())
        }
        let reply = history.reply(to: request(["AAPL"], source: "provider"), producer: Producer())
        #expect(reply.bars.count == 1 && reply.bars.first?.close == 10)
        let rejected = history.statistics.rejected
        #expect(rejected["history.rejected.future_time"] == 1, "\(rejected)")
        #expect(rejected.values.reduce(0, +) == UInt64(HostilePipelineTests.hostileBars().count) + 1, "\(rejected)")
    }

    @Test("interval_ns 0, negative or huge, and too many symbols get an error reply")
    func badRequests() {
        let history = store()
        for interval: Int64 in [0, -1, .min, .max, BarTime.maxIntervalNs + 1] {
            for source in ["trades", "provider"] {
                let asked = request(["AAPL"], interval: interval, source: source)
                let reply = history.reply(to: asked, producer: Producer())
                #expect(reply.error.contains("not a bar length"), "\(interval) \(source): \(reply.error)")
            }
        }
        let many = (0..<20_000).map { "S\($0)" }
        #expect(history.reply(to: request(many), producer: Producer()).error.contains("at most 10000"))
    }

    @Test("repeated symbols and a huge max_bars get a bounded answer")
    func boundedAnswer() {
        // The reference a day on: 1,000 one-minute bars are all in the past.
        let history = store(capacity: 1_000, time: TestTime(sessionOpen + day))
        for minute in 0..<1_000 {
            history.record(.bar(bar(minute: minute, close: 10, origin: .backfill)), eventTime: 0)
        }
        let repeatedRequest = request(Array(repeating: "AAPL", count: 5_000), max: .max, source: "trades")
        let repeated = history.reply(to: repeatedRequest, producer: Producer())
        #expect(repeated.error.isEmpty)
        #expect(repeated.bars.count == 1_000, "each symbol once, at most history_bars")
        // Many symbols with history share the reply's bound.
        let wide = store(capacity: 1_000, time: TestTime(sessionOpen + day))
        for symbol in (0..<200).map({ "S\($0)" }) {
            for minute in 0..<1_000 {
                wide.record(.bar(bar(minute: minute, close: 10, symbol: symbol, origin: .backfill)), eventTime: 0)
            }
        }
        let all = wide.reply(to: request((0..<200).map { "S\($0)" }, max: .max), producer: Producer())
        #expect(all.bars.count <= BarHistory.maxReplyBars)
        #expect(all.bars.count == 200 * (BarHistory.maxReplyBars / 200))
    }

    @Test("tickers are capped: the least recently seen is evicted and counted")
    func tickerCap() {
        let history = store(maxTickers: 3)
        for symbol in ["A", "B", "C"] { history.record(.bar(bar(minute: 0, close: 1, symbol: symbol)), eventTime: 0) }
        history.record(.bar(bar(minute: 1, close: 1, symbol: "A")), eventTime: 0)  // A is recent again
        history.record(.bar(bar(minute: 0, close: 1, symbol: "D")), eventTime: 0)  // evicts B
        history.record(.bar(bar(minute: 0, close: 1, symbol: String(repeating: "X", count: 1 << 20))), eventTime: 0)
        let reply = history.reply(to: request(["A", "B", "C", "D"], source: "provider"), producer: Producer())
        #expect(Set(reply.bars.map(\.symbol)) == ["A", "C", "D"])
        #expect(history.statistics.evictedTickers == 1, "a megabyte-long symbol is refused, not kept")
        #expect(history.statistics.rejected["history.rejected.symbol"] == 1)
    }

    @Test("a hostile reply: unrequested symbols, bad bars and too many bars are dropped and counted")
    func hostileReply() async throws {
        var reply = HistoryReply()
        reply.schemaVersion = Codec.schemaVersion
        for minute in 0..<50 { reply.bars.append(bar(minute: minute, close: 100)) }
        for (_, bad, _) in HostilePipelineTests.hostileBars() { reply.bars.append(bad) }
        for minute in 0..<10 { reply.bars.append(bar(minute: minute, close: 1, symbol: "ZZZZ")) }
        let encoded: [UInt8] = try reply.serializedBytes()
        try await withContext { context in
            let replier = try await Replier(context: context, bind: "tcp://127.0.0.1:*") { _ in [encoded] }
            let client = HistoryClient(
                context: context, endpoints: [replier.endpoint], timeout: .seconds(2), requester: "test")
            let result = await client.fetch(symbols: ["AAPL"], intervalNs: 60 * second, maxBars: 20, source: "trades")
            #expect(result.bars.keys.sorted() == ["AAPL"])
            #expect(result.bars["AAPL"]?.count == 20)
            #expect(result.rejected["history.rejected.unrequested"] == 10)
            #expect(result.rejected["history.rejected.excess"] == 30)
            let invalid = HostilePipelineTests.hostileBars().count
            #expect(result.rejected.values.reduce(0, +) == UInt64(10 + 30 + invalid), "\(result.rejected)")
            await replier.close()
        }
    }

    @Test("a history timeout of 1e300 seconds in settings built in code does not trap")
    func hugeTimeout() throws {
        var config = TickwireConfig()
        config.processor.historyTimeoutSeconds = 1e300
        config.processor.lateToleranceSeconds = .infinity
        let resolved = try ProcessorSettings.resolve(config: config, instance: "t", tickersFromCommandLine: nil)
        #expect(resolved.historyTimeout == .seconds(300))
        #expect(resolved.lateToleranceNs == 10 * resolved.barIntervalNs)
        config.processor.maxEventLeadSeconds = .nan
        #expect(throws: ConfigError.self) {
            _ = try ProcessorSettings.resolve(config: config, instance: "t", tickersFromCommandLine: nil)
        }
    }
}

@Suite("The processor service with hostile trades")
struct HostileProcessorServiceTests {
    @Test("trades at Int64.max and 10 days ahead are counted as rejected.future_time; bars keep closing")
    func futureTrades() async throws {
        try await withContext { context in
            let publisher = try await MessagePublisher(
                context: context, endpoint: loopbackWildcard, producer: Producer(service: "processor", instance: "t"),
                bind: true)
            var config = TickwireConfig()
            config.tickers = ["AAPL"]
            config.processor.historyEndpoints = []
            let environment = ServiceEnvironment(
                name: "processor", config: config, logger: Logger(label: "test"), context: context,
                publisher: publisher, counters: ServiceCounters())
            let time = TestTime(sessionOpen)
            let service = ProcessorService(environment: environment, settings: settings(), reference: time.clock)
            func deliver(_ symbol: String, at eventTime: Int64, price: Double = 10) throws {
                var envelope = Fixtures.envelope(Fixtures.trade(symbol, price: price), sequence: 1)
                envelope.eventTimeNs = eventTime
                service.handle(Delivery(topic: try Topic.tick(symbol), envelope: envelope))
            }
            try deliver("AAPL", at: sessionOpen + 1 * second)
            try deliver("AAPL", at: .max)
            try deliver("AAPL", at: sessionOpen + 10 * day)
            try deliver("AAPL", at: .min)
            try deliver("MSFT", at: sessionOpen + 2 * second)
            var mismatched = Fixtures.envelope(Fixtures.trade("MSFT"), sequence: 1)
            mismatched.eventTimeNs = sessionOpen
            service.handle(Delivery(topic: try Topic.tick("AAPL"), envelope: mismatched))
            #expect(service.closeDueBars() == 0, "the 09:30 bar is still open")
            time.advance(seconds: 62)
            try deliver("AAPL", at: sessionOpen + 62 * second, price: 11)
            #expect(service.closeDueBars() == 1, "the 09:30 bar closes on time")
            time.advance(seconds: 61)
            #expect(service.closeDueBars() == 1, "and the next one")
            let named = environment.counters.snapshot.named
            #expect(named["rejected.future_time"] == 2, "\(named)")
            #expect(named["rejected.time_range"] == 1, "\(named)")
            #expect(named["rejected.unknown_ticker"] == 1, "\(named)")
            #expect(named["rejected.symbol_mismatch"] == 1, "\(named)")
            #expect(named["bars.published"] == 2, "\(named)")
            #expect(service.state.values.withLock { $0.pipelines.keys.sorted() } == ["AAPL"])
            await publisher.close()
        }
    }
}

@Suite("Processor settings bounds")
struct ProcessorBoundsTests {
    func loadError(_ json: String) throws -> ConfigError? {
        let directory = try TemporaryDirectory()
        let file = try directory.write("config.json", json)
        do {
            _ = try ConfigLoader(environment: [:]).load(file: file)
            return nil
        } catch {
            return error
        }
    }

    static let manyInstances =
        "[" + (0..<257).map { #"{"name": "p\#($0)", "tickers": ["T\#($0)"]}"# }.joined(separator: ",") + "]"
    static let manyTickers = "[" + (0..<1_001).map { #""T\#($0)""# }.joined(separator: ",") + "]"

    @Test("every processor number has an upper bound, named by its JSON path", arguments: [
        (#"{"processor": {"history_timeout_seconds": 1e300}}"#, "processor.history_timeout_seconds"),
        (#"{"processor": {"history_timeout_seconds": 301}}"#, "processor.history_timeout_seconds"),
        (#"{"processor": {"max_event_lead_seconds": 0}}"#, "processor.max_event_lead_seconds"),
        (#"{"processor": {"max_event_lead_seconds": -1}}"#, "processor.max_event_lead_seconds"),
        (#"{"processor": {"max_event_lead_seconds": 604801}}"#, "processor.max_event_lead_seconds"),
        (#"{"processor": {"max_event_lead_seconds": 1e300}}"#, "processor.max_event_lead_seconds"),
        (#"{"processor": {"late_tolerance_seconds": 1e300}}"#, "processor.late_tolerance_seconds"),
        (#"{"processor": {"bar_interval_seconds": 1e300}}"#, "processor.bar_interval_seconds"),
        (#"{"window_size": 100001}"#, "window_size"),
        (#"{"ingestor": {"history_bars": 100001}}"#, "ingestor.history_bars"),
        (#"{"processors": \#(manyInstances)}"#, "processors"),
        (#"{"processors": [{"name": "p", "tickers": \#(manyTickers)}]}"#, "processors[0].tickers"),
    ])
    func bounds(json: String, path: String) throws {
        let error = try #require(try loadError(json))
        #expect(error.path == path, "\(error)")
    }

    @Test("the defaults and the limits themselves are accepted")
    func limits() throws {
        #expect(try loadError("{}") == nil)
        let config = try ConfigLoader(environment: [:]).load(file: nil).config
        #expect(config.processor.maxEventLeadSeconds == 300)
        let atLimits = #"""
            {"processor": {"max_event_lead_seconds": 604800, "history_timeout_seconds": 300}, "window_size": 100000}
            """#
        #expect(try loadError(atLimits) == nil)
    }

    @Test("--tickers and the config's tickers are checked: valid symbols, at most 1000 per processor")
    func tickers() throws {
        var config = TickwireConfig()
        let bad = #expect(throws: ConfigError.self) {
            _ = try ProcessorSettings.resolve(
                config: config, instance: "t", tickersFromCommandLine: ["AAPL", "NOT A SYMBOL"])
        }
        #expect(bad?.path == "--tickers[1]")
        config.tickers = (0..<1_001).map { "T\($0)" }
        let many = #expect(throws: ConfigError.self) {
            _ = try ProcessorSettings.resolve(config: config, instance: "t", tickersFromCommandLine: nil)
        }
        #expect(many?.path == "tickers")
        let repeated = try ProcessorSettings.resolve(
            config: TickwireConfig(), instance: "t", tickersFromCommandLine: ["A", "A"])
        #expect(repeated.tickers == ["A"])
    }
}
