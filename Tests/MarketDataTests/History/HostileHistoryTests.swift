import Bars
import Bus
import Contracts
import Foundation
import Indicators
import MarketData
import Processing
import ServiceKit
import SwiftProtobuf
import Synchronization
import Testing
import TestSupport
import Timekeeping

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
        for (_, bad, _) in hostileHistoryBars() { history.record(.bar(bad), eventTime: 0) }
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
        #expect(rejected.values.reduce(0, +) == UInt64(hostileHistoryBars().count) + 1, "\(rejected)")
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
        for (_, bad, _) in hostileHistoryBars() { reply.bars.append(bad) }
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
            let invalid = hostileHistoryBars().count
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
