import Bus
import Contracts
import Foundation
import MarketData
import Processing
import ServiceKit
import SwiftProtobuf
import TestSupport
import Testing

@Suite("History endpoint store")
struct BarHistoryTests {
    func history(capacity: Int = 500) -> BarHistory {
        var config = TickwireConfig()
        config.ingestor.historyBars = capacity
        return BarHistory(settings: BarHistory.Settings(config: config))
    }

    func request(_ symbols: [String], interval: Int64 = 60 * second, max: UInt32 = 100, source: String = "trades") -> HistoryRequest {
        var request = HistoryRequest()
        request.schemaVersion = 1
        request.symbols = symbols
        request.intervalNs = interval
        request.maxBars = max
        request.barSource = source
        return request
    }

    @Test("builds the processors' bars from trades, with provider backfill before them")
    func builtAndBackfill() {
        let store = history()
        for minute in 0..<3 { store.record(.bar(bar(minute: minute, close: 10, origin: .backfill)), eventTime: 0) }
        // Trades in minutes 3, 4 and 6; bars close once newer event times pass their end.
        store.record(.trade(trade(11)), eventTime: sessionOpen + 185 * second)
        store.record(.trade(trade(12)), eventTime: sessionOpen + 245 * second)
        store.record(.trade(trade(13)), eventTime: sessionOpen + 400 * second)
        store.closeDueBars()
        // Minute 6 stays open: the newest event (its own trade) has not passed its end.
        #expect(store.reply(to: request(["AAPL"]), producer: Producer()).bars.count == 5)
        store.record(.trade(trade(14)), eventTime: sessionOpen + 500 * second)
        store.closeDueBars()
        let reply = store.reply(to: request(["AAPL", "MSFT"]), producer: Producer())
        #expect(reply.error.isEmpty)
        #expect(reply.bars.map(\.origin) == [.backfill, .backfill, .backfill, .built, .built, .built])
        #expect(reply.bars.map(\.close) == [10, 10, 10, 11, 12, 13])
        // Minutes 0-2 from backfill, then 3, 4 and 6 built (no trade in minute 5: no bar).
        #expect(reply.bars.map(\.startTimeNs) == [0, 1, 2, 3, 4, 6].map { sessionOpen + Int64($0) * 60 * second })
        let limited = store.reply(to: request(["AAPL"], max: 2), producer: Producer())
        #expect(limited.bars.map(\.close) == [12, 13], "the newest bars, oldest first")
    }

    @Test("a request for another bar length, or an unknown version, gets an error saying so")
    func refusals() {
        let store = history()
        let wrong = store.reply(to: request(["AAPL"], interval: 5 * second), producer: Producer())
        #expect(wrong.error.contains("builds 60 s bars, not 5 s"), "\(wrong.error)")
        var future = request(["AAPL"])
        future.schemaVersion = 9
        #expect(store.reply(to: future, producer: Producer()).error.contains("unknown schema version 9"))
        let garbage = store.handle(frames: [[0xFF, 0xFF, 0xFF]], producer: Producer())
        let decoded = try? HistoryReply(serializedBytes: garbage[0])
        #expect(decoded?.error.contains("malformed request") == true)
    }

    @Test("keeps at most history_bars per ticker")
    func bounded() {
        let store = history(capacity: 5)
        for minute in 0..<20 { store.record(.bar(bar(minute: minute, close: Double(minute), origin: .live)), eventTime: 0) }
        let reply = store.reply(to: request(["AAPL"], source: "provider"), producer: Producer())
        #expect(reply.bars.map(\.close) == [15, 16, 17, 18, 19])
    }

    @Test("served over a Replier and fetched by the HistoryClient")
    func overTheWire() async throws {
        let store = history()
        for minute in 0..<60 { store.record(.bar(bar(minute: minute, close: 100 + Double(minute), origin: .backfill)), eventTime: 0) }
        try await withContext { context in
            let replier = try await Replier(context: context, bind: "tcp://127.0.0.1:*") { frames in
                store.handle(frames: frames, producer: Producer())
            }
            let client = HistoryClient(
                context: context, endpoints: [replier.endpoint, "tcp://127.0.0.1:1"], timeout: .milliseconds(500),
                requester: "test")
            let result = await client.fetch(symbols: ["AAPL"], intervalNs: 60 * second, maxBars: 50, source: "trades")
            #expect(result.bars["AAPL"]?.count == 50)
            #expect(result.bars["AAPL"]?.last?.close == 159)
            #expect(result.problems.count == 1, "the dead endpoint is reported: \(result.problems)")
            await replier.close()
        }
    }
}
