import Bars
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
