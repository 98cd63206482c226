import Bus
import Contracts
import Foundation
import NIOCore
import ServiceKit
import TestSupport
import Testing

@testable import MarketData

/// What the ingestor publishes when a provider hands it nonsense, and the bounds on what it
/// remembers about data from outside.
@Suite("Ingestor bounds", .timeLimit(.minutes(1)))
struct IngestorBoundsTests {
    static func tradeEvent(_ symbol: String, id: Int, price: Double = 100, size: Double = 10, time: Int64? = nil)
        -> MarketEvent
    {
        var trade = Trade()
        trade.symbol = symbol
        trade.price = price
        trade.size = size
        trade.tradeID = String(id)
        return .trade(trade, time: time ?? Fixtures.time + Int64(id))
    }

    @Test("events of unsubscribed symbols and values out of range are dropped and counted by reason, never published")
    func rejectsBadEvents() async throws {
        var quote = Quote()
        quote.symbol = "AAPL"
        quote.bidPrice = 100
        quote.askPrice = 1e10
        var bar = Bar()
        bar.symbol = "AAPL"
        (bar.open, bar.high, bar.low, bar.close, bar.volume) = (1, 2, 1, 2, 10)
        bar.startTimeNs = Fixtures.time
        bar.endTimeNs = Fixtures.time - 1
        let events: [MarketEvent] = [
            Self.tradeEvent("ZZZZ", id: 1),
            Self.tradeEvent("AAPL", id: 2, price: 1e12),
            Self.tradeEvent("AAPL", id: 3, price: .nan),
            Self.tradeEvent("AAPL", id: 4, size: -1),
            Self.tradeEvent("AAPL", id: 5, time: .max),
            Self.tradeEvent("AAPL", id: 6, time: WallClock.nanoseconds() + 86_400 * 1_000_000_000),
            .bar(bar),
            .quote(quote, time: Fixtures.time),
            Self.tradeEvent("AAPL", id: 9),
            Self.tradeEvent("MSFT", id: 10),
        ]
        let provider = ScriptedProvider([.stream(events), .idle])
        let counters = ServiceCounters()
        try await withIngestor(provider, counters: counters) { iterator, _ in
            let ticks = try await collect(2, from: &iterator) { $0.topic.kind == Topic.tickKind }
            let ids = ticks.compactMap { delivery -> String? in
                if case .trade(let trade) = delivery.payload { return trade.tradeID }
                return nil
            }
            #expect(ids == ["9", "10"])
        }
        let named = counters.snapshot.named
        #expect(named["rejected.unsubscribed_symbol"] == 1)
        #expect(named["rejected.price_range"] == 3)
        #expect(named["rejected.size_range"] == 1)
        #expect(named["rejected.time_range"] == 2)
        #expect(named["rejected.time_future"] == 1)
        #expect(named["provider.trades"] == 2)
    }

    @Test("a provider that may play any symbol is capped at 10,000 symbols")
    func symbolLimit() async throws {
        let count = MarketLimits.maximumSymbols + 1
        let events = (0..<count).map { Self.tradeEvent("S\($0)", id: $0) }
        let provider = ScriptedProvider([.stream(events), .idle], acceptsAnySymbol: true)
        let counters = ServiceCounters()
        try await withIngestor(provider, counters: counters) { _, _ in
            try await waitUntil(seconds: 30, "every event handled") {
                let named = counters.snapshot.named
                return (named["provider.trades"] ?? 0) + (named["rejected.symbol_limit"] ?? 0) == UInt64(count)
            }
        }
        #expect(counters.snapshot.named["rejected.symbol_limit"] == 1)
    }

    @Test("alert throttling remembers at most 1,024 keys, evicting the least recently seen and counting them")
    func alertKeysBounded() async throws {
        let issues = (0..<1_500).map { ProviderIssue(.unknownSymbol, "scripted: unknown S\($0)", symbol: "S\($0)") }
        let provider = ScriptedProvider([.stream([Self.tradeEvent("AAPL", id: 1)], issues: issues), .idle])
        let counters = ServiceCounters()
        try await withIngestor(provider, counters: counters) { iterator, _ in
            _ = try await collect(1, from: &iterator) { $0.topic.kind == Topic.tickKind }
        }
        let named = counters.snapshot.named
        #expect(named["provider.issues.unknown_symbol"] == 1_500)
        #expect((named["provider.alert_keys_evicted"] ?? 0) >= 1_500 - 1_024)
    }

    @Test("the message assembler joins fragments, drops a too-large message without keeping it, and goes on")
    func assembler() {
        var assembler = MessageAssembler(maximumSize: 10)
        func add(_ text: String, _ kind: MessageAssembler.FrameKind, fin: Bool) -> MessageAssembler.Message? {
            assembler.add(kind, ByteBuffer(string: text), fin: fin)
        }
        #expect(add("abc", .text, fin: false) == nil)
        #expect(add("def", .continuation, fin: true) == .text("abcdef"))
        #expect(add("0123456", .text, fin: false) == nil)
        #expect(add("789ab", .continuation, fin: false) == nil)
        #expect(add(String(repeating: "x", count: 1_000), .continuation, fin: true) == .tooLarge(1_012))
        #expect(add("ok", .text, fin: true) == .text("ok"))
        #expect(add("stray", .continuation, fin: true) == .unexpectedContinuation)
        #expect(add("\u{1}", .binary, fin: true) == .binary(1))
    }

    @Test("the reconnect backoff never traps: NaN (0 × ∞) is no delay, a huge one is clamped")
    func backoffNeverTraps() {
        let zero = RetryPolicy(maxRetries: .max, initialDelay: .zero, multiplier: 2, maximumDelay: .seconds(60))
        #expect(zero.delay(beforeRetry: 2_000, unit: 0.5) == .zero)
        let huge = RetryPolicy(
            maxRetries: .max, initialDelay: .seconds(1e15), multiplier: 2, maximumDelay: .seconds(1e16), jitter: 0.25)
        #expect(huge.delay(beforeRetry: 5, unit: 0.9) == .nanoseconds(Int64.max))
        let normal = RetryPolicy(
            maxRetries: 3, initialDelay: .seconds(1), multiplier: 2, maximumDelay: .seconds(60), jitter: 0)
        #expect(normal.delay(beforeRetry: 3, unit: 0) == .seconds(4))
    }

    @Test("the simulator never trades at NaN or beyond the price bounds, and its history refuses absurd arguments")
    func simulatorBounds() {
        var settings = TickwireConfig.Simulator()
        settings.startPrices = ["AAPL": .nan, "MSFT": -5, "BIG": 1e300]
        settings.annualVolatility = 10
        var market = SimulatedMarket(symbols: ["AAPL", "MSFT", "BIG"], settings: settings, start: Fixtures.time)
        for _ in 0..<2_000 {
            switch market.next(sessionStart: Fixtures.time) {
            case .trade(let trade, _): #expect(MarketLimits.isPrice(trade.price), "\(trade)")
            case .quote(let quote, _): #expect(MarketLimits.isPrice(quote.askPrice), "\(quote)")
            }
        }
        let config = TickwireConfig()
        #expect(SimulatedHistory.bars(symbol: "AAPL", config: config, count: 10, intervalSeconds: .max / 1_000).isEmpty)
        #expect(SimulatedHistory.bars(symbol: "AAPL", config: config, count: -5, intervalSeconds: 60).isEmpty)
        #expect(SimulatedHistory.problem(count: 10, intervalSeconds: 100_000) != nil)
        #expect(SimulatedHistory.bars(symbol: "AAPL", config: config, count: 5, intervalSeconds: 60).count >= 4)
    }
}
