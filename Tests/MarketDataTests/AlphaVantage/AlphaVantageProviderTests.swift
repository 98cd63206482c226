import Contracts
import Foundation
import MarketData
import ServiceKit
import Synchronization
import Testing
import TestSupport

/// A wall clock the test sets; every reading advances it by 1 s so that request times are
/// distinct and predictable.
private final class SteppingWallClock: Sendable {
    private let value: Atomic<Int64>
    init(_ start: Int64) { value = Atomic(start) }
    func read() -> Int64 { value.wrappingAdd(1_000_000_000, ordering: .relaxed).oldValue }
    func set(_ time: Int64) { value.store(time, ordering: .relaxed) }
}

/// The 1min fixture with one more bar, 11:43 ET, on top.
private func intradayWith1143() throws -> AVFakeServer.Reply {
    let text = try AVFixtures.text("intraday_1min_AAPL.json").replacingOccurrences(
        of: "\"Time Series (1min)\": {",
        with: """
            "Time Series (1min)": {
                    "2025-03-14 11:43:00": {
                        "1. open": "213.1800",
                        "2. high": "213.4000",
                        "3. low": "213.1000",
                        "4. close": "213.3500",
                        "5. volume": "98765"
                    },
            """)
    return .text(text)
}

private func quoteWithPrice(_ price: String) throws -> AVFakeServer.Reply {
    .text(try AVFixtures.text("global_quote_AAPL.json").replacingOccurrences(of: "\"05. price\": \"213.1800\"", with: "\"05. price\": \"\(price)\""))
}

private func expectNoKey(_ recorder: AVRecorder, _ thrown: (any Error)? = nil, key: String = AVFixtures.apiKey) {
    for issue in recorder.issues.values {
        #expect(!issue.description.contains(key), "\(issue)")
    }
    if let thrown {
        #expect(!"\(thrown)".contains(key))
        #expect(!String(reflecting: thrown).contains(key))
    }
}

/// 2025-03-14 12:00:00 EDT = 16:00:00 UTC.
private let noonEastern: Int64 = 1_741_968_000_000_000_000

@Suite("AlphaVantageProvider")
struct AlphaVantageProviderTests {
    @Test("success: backfill bars, a trade per changed quote, live bars after the last one, exact values and times")
    func success() async throws {
        let replies: [String: [AVFakeServer.Reply]] = [
            "TIME_SERIES_INTRADAY": [try .fixture("intraday_1min_AAPL.json"), try intradayWith1143()],
            "GLOBAL_QUOTE": [try .fixture("global_quote_AAPL.json"), try .fixture("global_quote_AAPL.json"), try quoteWithPrice("213.2500")],
        ]
        try await withAVServer(replies) { server in
            let wall = SteppingWallClock(noonEastern)
            let provider = try AlphaVantageProvider(
                config: avConfig(baseURL: server.baseURL, backfill: true), clock: ContinuousClock(),
                wallClock: { wall.read() })
            let recorder = AVRecorder()
            let task = avStart(provider, ["AAPL"], recorder)
            try await waitUntil(seconds: 15, "two trades and the fourth quote request") {
                recorder.trades.count == 2 && server.received("GLOBAL_QUOTE").count >= 4
            }
            let thrown = try await avStop(task)
            #expect(thrown == nil)

            // Request order: backfill (t0), then per cycle quote + intraday.
            let functions = server.received.prefix(6).map(\.function)
            #expect(functions == ["TIME_SERIES_INTRADAY", "GLOBAL_QUOTE", "TIME_SERIES_INTRADAY", "GLOBAL_QUOTE", "TIME_SERIES_INTRADAY", "GLOBAL_QUOTE"])
            let first = try #require(server.received.first)
            #expect(first.query == ["function": "TIME_SERIES_INTRADAY", "symbol": "AAPL", "interval": "1min", "outputsize": "compact", "apikey": AVFixtures.apiKey])

            let trades = recorder.trades
            #expect(trades.count == 2)
            var expected = Trade()
            expected.symbol = "AAPL"
            expected.price = 213.18
            expected.size = 0
            expected.exchange = ""
            expected.conditions = ["global_quote"]
            expected.provider = "alphavantage"
            #expect(trades.first?.0 == expected)
            #expect(trades.first?.1 == noonEastern + 1_000_000_000)  // the second request's time
            expected.price = 213.25
            #expect(trades.last?.0 == expected)
            #expect(trades.last?.1 == noonEastern + 5_000_000_000)  // the sixth request's time

            let bars = recorder.bars
            #expect(bars.count == 101)
            let backfill = bars.filter { $0.origin == .backfill }
            #expect(backfill.count == 100)
            var oldest = Bar()
            oldest.symbol = "AAPL"
            oldest.startTimeNs = AVFixtures.oldestBarStart
            oldest.endTimeNs = AVFixtures.oldestBarStart + AVFixtures.minute
            oldest.open = 211.73
            oldest.high = 211.75
            oldest.low = 211.70
            oldest.close = 211.74
            oldest.volume = 145_739
            oldest.origin = .backfill
            oldest.provider = "alphavantage"
            #expect(backfill.first == oldest)
            #expect(backfill.last?.startTimeNs == AVFixtures.newestBarStart)
            #expect(backfill.map(\.startTimeNs) == backfill.map(\.startTimeNs).sorted())
            let live = bars.filter { $0.origin == .live }
            var newBar = Bar()
            newBar.symbol = "AAPL"
            newBar.startTimeNs = AVFixtures.newestBarStart + AVFixtures.minute
            newBar.endTimeNs = AVFixtures.newestBarStart + 2 * AVFixtures.minute
            newBar.open = 213.18
            newBar.high = 213.40
            newBar.low = 213.10
            newBar.close = 213.35
            newBar.volume = 98_765
            newBar.origin = .live
            newBar.provider = "alphavantage"
            #expect(live == [newBar])
            // Bars first (backfill), then the first trade.
            if case .bar = recorder.events.values.first {} else { Issue.record("the first event is not a bar") }

            #expect(recorder.issues.values.isEmpty)
            #expect(recorder.connections.current == 1)
            #expect(recorder.count("trades") == 2)
            #expect(recorder.count("bars") == 101)
            #expect(recorder.count("requests") >= 6)
            #expect(recorder.count("responses") >= 6)
            #expect(recorder.count("requests") - recorder.count("responses") <= 1)
        }
    }

    @Test("a bar still forming at request time waits for the next poll")
    func formingBar() async throws {
        try await withAVServer(["TIME_SERIES_INTRADAY": [try .fixture("intraday_1min_AAPL.json")], "GLOBAL_QUOTE": [try .fixture("global_quote_AAPL.json")]]) {
            server in
            // 11:42:30 EDT: the 11:42 bar has not ended. One request per reading, +1 s each.
            let wall = SteppingWallClock(AVFixtures.newestBarStart + 30_000_000_000)
            let provider = try AlphaVantageProvider(
                config: avConfig(baseURL: server.baseURL, backfill: true, updateInterval: 0.2), clock: ContinuousClock(),
                wallClock: { wall.read() })
            let recorder = AVRecorder()
            let task = avStart(provider, ["AAPL"], recorder)
            try await waitUntil(seconds: 15) { server.received("TIME_SERIES_INTRADAY").count >= 1 && recorder.trades.count == 1 }
            #expect(recorder.bars.count == 99)
            #expect(recorder.bars.last?.startTimeNs == AVFixtures.newestBarStart - AVFixtures.minute)
            wall.set(AVFixtures.newestBarStart + 61_000_000_000)
            try await waitUntil(seconds: 15) { recorder.bars.count == 100 }
            _ = try await avStop(task)
            let last = try #require(recorder.bars.last)
            #expect(last.startTimeNs == AVFixtures.newestBarStart)
            #expect(last.origin == .live)
            #expect(last.close == 213.18)
        }
    }

    @Test("invalid API key: fatal .authFailed thrown, nothing emitted, the key in no error")
    func invalidKey() async throws {
        try await withAVServer(["GLOBAL_QUOTE": [try .fixture("global_quote_AAPL.json")]]) { server in
            let wrongKey = "WRONGKEY0SECRET9"
            let provider = try AlphaVantageProvider(
                config: avConfig(baseURL: server.baseURL, apiKey: wrongKey), clock: ContinuousClock())
            let recorder = AVRecorder()
            let thrown = try await avOutcome(avStart(provider, ["AAPL"], recorder))
            let issue = try #require(thrown as? ProviderIssue)
            #expect(issue.kind == .authFailed)
            #expect(issue.isFatal)
            #expect(issue.severity == .critical)
            #expect(issue.message.hasPrefix("alphavantage GLOBAL_QUOTE AAPL: the API key was refused: the parameter apikey is invalid or missing."))
            #expect(recorder.events.values.isEmpty)
            #expect(recorder.issues.values.isEmpty)
            #expect(recorder.connections.current == 0)
            #expect(recorder.count("issues.auth_failed") == 1)
            #expect(server.received.count == 1)
            expectNoKey(recorder, thrown, key: wrongKey)
        }
    }

    @Test("unknown symbols: reported once per function, not fatal, never requested again; the others go on")
    func unknownSymbol() async throws {
        let replies: [String: [AVFakeServer.Reply]] = [
            "TIME_SERIES_INTRADAY:AAPL": [try .fixture("intraday_1min_AAPL.json")],
            "TIME_SERIES_INTRADAY:ZZZZ": [try .fixture("error_invalid_symbol_intraday.json")],
            "GLOBAL_QUOTE:AAPL": [try .fixture("global_quote_AAPL.json")],
            "GLOBAL_QUOTE:ZZZZ": [try .fixture("global_quote_unknown_symbol.json")],
        ]
        try await withAVServer(replies) { server in
            let provider = try AlphaVantageProvider(
                config: avConfig(baseURL: server.baseURL, backfill: true), clock: ContinuousClock())
            let recorder = AVRecorder()
            let task = avStart(provider, ["AAPL", "ZZZZ"], recorder)
            try await waitUntil(seconds: 15) { server.received("GLOBAL_QUOTE").filter { $0.symbol == "AAPL" }.count >= 4 }
            let thrown = try await avStop(task)
            #expect(thrown == nil)
            let unknown = recorder.issues(.unknownSymbol)
            #expect(unknown.count == 2)
            #expect(unknown.allSatisfy { $0.symbol == "ZZZZ" && !$0.isFatal })
            #expect(unknown.first?.message.hasPrefix("alphavantage TIME_SERIES_INTRADAY ZZZZ: the symbol or request was refused: Invalid API call.") == true)
            #expect(unknown.last?.message == "alphavantage GLOBAL_QUOTE ZZZZ: unknown symbol (empty 'Global Quote')")
            #expect(recorder.issues.values.count == 2)
            #expect(server.received.filter { $0.symbol == "ZZZZ" }.map(\.function) == ["TIME_SERIES_INTRADAY", "GLOBAL_QUOTE"])
            #expect(recorder.events.values.allSatisfy { $0.symbol == "AAPL" })
            #expect(recorder.trades.count == 1)
            #expect(recorder.bars.filter { $0.origin == .backfill }.count == 100)
            #expect(recorder.count("issues.unknown_symbol") == 2)
            expectNoKey(recorder, thrown)
        }
    }

    @Test("every symbol unknown: fatal .unknownSymbol once nothing is left to poll")
    func allUnknown() async throws {
        let replies: [String: [AVFakeServer.Reply]] = [
            "TIME_SERIES_INTRADAY": [try .fixture("error_invalid_symbol_intraday.json")],
            "GLOBAL_QUOTE": [try .fixture("global_quote_unknown_symbol.json")],
        ]
        try await withAVServer(replies) { server in
            let provider = try AlphaVantageProvider(config: avConfig(baseURL: server.baseURL), clock: ContinuousClock())
            let recorder = AVRecorder()
            let thrown = try await avOutcome(avStart(provider, ["ZZZZ"], recorder))
            let issue = try #require(thrown as? ProviderIssue)
            #expect(issue.kind == .unknownSymbol)
            #expect(issue.isFatal)
            #expect(recorder.issues(.unknownSymbol).count == 2)
            #expect(recorder.events.values.isEmpty)
            #expect(server.received.count == 2)
        }
    }

    @Test("per-minute throttle (Note): reported, then no request for 60 s on the budget's clock")
    func throttleNote() async throws {
        try await throttle("rate_limit_note.json", kind: .rateLimited, wait: .seconds(60))
    }

    @Test("burst limit (Information, 1/s): .rateLimited, 60 s back-off")
    func throttleBurst() async throws {
        try await throttle("rate_limit_information_burst.json", kind: .rateLimited, wait: .seconds(60))
    }

    @Test("daily quota (Information): .dailyLimit, no request until the day window frees; the key is redacted")
    func throttleDaily() async throws {
        try await throttle("rate_limit_information_daily.json", kind: .dailyLimit, wait: .seconds(86_400))
    }

    private func throttle(_ fixture: String, kind: ProviderIssue.Kind, wait: Duration) async throws {
        let replies: [String: [AVFakeServer.Reply]] = [
            "GLOBAL_QUOTE": [try .fixture(fixture), try .fixture("global_quote_AAPL.json")],
            "TIME_SERIES_INTRADAY": [try .fixture("intraday_1min_AAPL.json")],
        ]
        try await withAVServer(replies) { server in
            let clock = ManualClock()
            let provider = try AlphaVantageProvider(
                config: avConfig(baseURL: server.baseURL, updateInterval: 1), clock: clock)
            let recorder = AVRecorder()
            let task = avStart(provider, ["AAPL"], recorder)
            // The quote was throttled; the intraday poll of the same cycle waits.
            try await waitUntil(seconds: 15) { recorder.issues.count == 1 && clock.sleeperCount == 1 }
            #expect(clock.nextDeadline == ManualClock.Instant(offset: wait))
            #expect(server.received.count == 1)
            let issue = try #require(recorder.issues.values.first)
            #expect(issue.kind == kind)
            #expect(!issue.isFatal)
            #expect(issue.severity == .error)
            #expect(recorder.count("issues.\(kind.rawValue)") == 1)
            #expect(recorder.events.values.isEmpty)
            // Nothing moves before the window frees…
            clock.advance(by: wait - .seconds(1))
            try await Task.sleep(for: .milliseconds(100))
            #expect(server.received.count == 1)
            // …then polling resumes: the intraday poll, and the next cycle's quote.
            clock.advance(by: .seconds(1))
            // Each later request waits its 1 ms slot: keep the manual clock moving until the
            // next cycle's quote arrived.
            try await waitUntil(seconds: 15) {
                if recorder.trades.count == 1 && recorder.bars.count == 1 { return true }
                if let next = clock.nextDeadline { clock.advance(to: next) }
                return false
            }
            #expect(server.received.map(\.function) == ["GLOBAL_QUOTE", "TIME_SERIES_INTRADAY", "GLOBAL_QUOTE"])
            _ = try await avStop(task)
            expectNoKey(recorder)
        }
    }

    @Test("premium-only GLOBAL_QUOTE: reported once, never called again, live bars for every symbol instead")
    func premiumQuote() async throws {
        let replies: [String: [AVFakeServer.Reply]] = [
            "GLOBAL_QUOTE": [try .fixture("premium_endpoint_information.json")],
            "TIME_SERIES_INTRADAY": [try .fixture("intraday_1min_AAPL.json"), try intradayWith1143()],
        ]
        try await withAVServer(replies) { server in
            // Room for the quote only: without the premium gate no intraday poll would be made.
            let provider = try AlphaVantageProvider(
                config: avConfig(baseURL: server.baseURL, updateInterval: 0.1, perMinute: 600), clock: ContinuousClock())
            #expect(provider.plan(symbols: 1).intradayPerCycle == 0)
            let recorder = AVRecorder()
            let task = avStart(provider, ["AAPL"], recorder)
            try await waitUntil(seconds: 15) { server.received("TIME_SERIES_INTRADAY").count >= 3 }
            let thrown = try await avStop(task)
            #expect(thrown == nil)
            #expect(server.received("GLOBAL_QUOTE").count == 1)
            let premium = recorder.issues(.premiumOnly)
            #expect(premium.count == 1)
            #expect(premium.first?.isFatal == false)
            #expect(recorder.issues.values.count == 1)
            // Backfill off: the first response gives its newest bar, later ones what is new.
            #expect(recorder.bars.map { $0.startTimeNs } == [AVFixtures.newestBarStart, AVFixtures.newestBarStart + AVFixtures.minute])
            #expect(recorder.bars.allSatisfy { $0.origin == .live })
            #expect(recorder.trades.isEmpty)
        }
    }

    @Test("both functions premium-only: fatal .premiumOnly")
    func premiumEverything() async throws {
        try await withAVServer(["GLOBAL_QUOTE": [try .fixture("premium_endpoint_information.json")], "TIME_SERIES_INTRADAY": [try .fixture("premium_endpoint_information.json")]]) {
            server in
            let provider = try AlphaVantageProvider(config: avConfig(baseURL: server.baseURL), clock: ContinuousClock())
            let recorder = AVRecorder()
            let thrown = try await avOutcome(avStart(provider, ["AAPL"], recorder))
            let issue = try #require(thrown as? ProviderIssue)
            #expect(issue.kind == .premiumOnly)
            #expect(issue.isFatal)
            #expect(recorder.issues(.premiumOnly).count == 2)
            #expect(server.received.count == 2)
        }
    }

    @Test("HTTP 500 on every request: .httpStatus 500 reported, then a non-fatal error for the retry logic")
    func http500() async throws {
        try await withAVServer(["GLOBAL_QUOTE": [.text("{}", status: 500)], "TIME_SERIES_INTRADAY": [.text("{}", status: 500)]]) { server in
            let provider = try AlphaVantageProvider(config: avConfig(baseURL: server.baseURL), clock: ContinuousClock())
            let recorder = AVRecorder()
            let thrown = try await avOutcome(avStart(provider, ["AAPL"], recorder))
            let issue = try #require(thrown as? ProviderIssue)
            #expect(issue.kind == .httpStatus)
            #expect(issue.code == 500)
            #expect(!issue.isFatal)
            #expect(issue.message.hasPrefix("alphavantage: all 2 requests of the cycle failed; last: alphavantage TIME_SERIES_INTRADAY AAPL: HTTP status 500"))
            let reported = recorder.issues(.httpStatus)
            #expect(reported.count == 2)
            #expect(reported.allSatisfy { $0.code == 500 && !$0.isFatal })
            #expect(recorder.events.values.isEmpty)
            #expect(recorder.connections.current == 0)
            #expect(recorder.count("responses") == 2)
        }
    }

    @Test("a cycle with some failures carries on; only an all-failed cycle throws")
    func partialFailure() async throws {
        let replies: [String: [AVFakeServer.Reply]] = [
            "GLOBAL_QUOTE:AAPL": [try .fixture("global_quote_AAPL.json")],
            "GLOBAL_QUOTE:MSFT": [.text("{}", status: 502)],
            "TIME_SERIES_INTRADAY": [.text("{}", status: 502)],
        ]
        try await withAVServer(replies) { server in
            let provider = try AlphaVantageProvider(
                config: avConfig(baseURL: server.baseURL, perMinute: 600), clock: ContinuousClock())
            let recorder = AVRecorder()
            let task = avStart(provider, ["AAPL", "MSFT"], recorder)
            try await waitUntil(seconds: 15) { server.received("GLOBAL_QUOTE").count >= 6 }
            let thrown = try await avStop(task)
            #expect(thrown == nil)
            #expect(recorder.trades.count == 1)
            #expect(recorder.issues(.httpStatus).count >= 2)
            #expect(recorder.issues(.httpStatus).allSatisfy { $0.symbol == "MSFT" && $0.code == 502 })
        }
    }

    @Test("a garbage body: .malformedPayload, nothing emitted")
    func garbage() async throws {
        try await withAVServer(["GLOBAL_QUOTE": [.text("<html><body>upstream error</body></html>")], "TIME_SERIES_INTRADAY": [.text("{\"Time Series (1min)\": 12")]]) {
            server in
            let provider = try AlphaVantageProvider(config: avConfig(baseURL: server.baseURL), clock: ContinuousClock())
            let recorder = AVRecorder()
            let thrown = try await avOutcome(avStart(provider, ["AAPL"], recorder))
            let issue = try #require(thrown as? ProviderIssue)
            #expect(issue.kind == .malformedPayload)
            #expect(!issue.isFatal)
            let reported = recorder.issues(.malformedPayload)
            #expect(reported.map(\.message) == [
                "alphavantage GLOBAL_QUOTE AAPL: the body is not JSON (40 bytes)",
                "alphavantage TIME_SERIES_INTRADAY AAPL: the body is not JSON (25 bytes)",
            ])
            #expect(recorder.events.values.isEmpty)
        }
    }

    @Test("a hanging server: .timeout within the request timeout, then a non-fatal error")
    func hanging() async throws {
        try await withAVServer(["GLOBAL_QUOTE": [.hanging], "TIME_SERIES_INTRADAY": [.hanging]]) { server in
            let provider = try AlphaVantageProvider(
                config: avConfig(baseURL: server.baseURL, timeout: 0.3), clock: ContinuousClock())
            let recorder = AVRecorder()
            let clock = ContinuousClock()
            let start = clock.now
            let thrown = try await avOutcome(avStart(provider, ["AAPL"], recorder), seconds: 10)
            let elapsed = clock.now - start
            let issue = try #require(thrown as? ProviderIssue)
            #expect(issue.kind == .timeout)
            #expect(!issue.isFatal)
            #expect(recorder.issues(.timeout).count == 2)
            #expect(recorder.issues(.timeout).first?.message.hasPrefix("alphavantage GLOBAL_QUOTE AAPL: no response within 0.3 s: GET http://127.0.0.1:\(server.port)/query?function=GLOBAL_QUOTE&symbol=AAPL&apikey=<redacted> failed (timeout)") == true)
            #expect(elapsed >= .milliseconds(550))
            #expect(elapsed < .seconds(25))  // a missed timeout would run into avOutcome's 30 s guard
            #expect(recorder.events.values.isEmpty)
            expectNoKey(recorder, thrown)
        }
    }

    @Test("connection refused: .unreachable, a non-fatal error, the key in no message")
    func refused() async throws {
        let refused = try RefusedPort()
        defer { withExtendedLifetime(refused) {} }
        let port = refused.port
        let provider = try AlphaVantageProvider(
            config: avConfig(baseURL: "http://127.0.0.1:\(port)/query"), clock: ContinuousClock())
        let recorder = AVRecorder()
        let thrown = try await avOutcome(avStart(provider, ["AAPL"], recorder))
        let issue = try #require(thrown as? ProviderIssue)
        #expect(issue.kind == .unreachable)
        #expect(!issue.isFatal)
        #expect(recorder.issues(.unreachable).count == 2)
        #expect(recorder.count("requests") == 2)
        #expect(recorder.count("responses") == 0)
        #expect(recorder.events.values.isEmpty)
        expectNoKey(recorder, thrown)
        #expect(issue.message.contains("apikey=<redacted>"))
    }

    @Test("polls only while the session is open; backfill runs whatever the session")
    func sessionGate() async throws {
        let replies: [String: [AVFakeServer.Reply]] = [
            "GLOBAL_QUOTE": [try .fixture("global_quote_AAPL.json")],
            "TIME_SERIES_INTRADAY": [try .fixture("intraday_1min_AAPL.json")],
        ]
        try await withAVServer(replies) { server in
            let provider = try AlphaVantageProvider(
                config: avConfig(baseURL: server.baseURL, backfill: true), clock: ContinuousClock())
            let recorder = AVRecorder(session: .closed)
            let task = avStart(provider, ["AAPL"], recorder)
            try await waitUntil(seconds: 15) { recorder.bars.count == 100 }
            try await Task.sleep(for: .milliseconds(300))  // six re-checks of the closed session
            #expect(server.received.map(\.function) == ["TIME_SERIES_INTRADAY"])
            recorder.session = .open(.preMarket)
            try await waitUntil(seconds: 15) { server.received("GLOBAL_QUOTE").count >= 2 }
            #expect(recorder.trades.count == 1)
            recorder.session = .closed
            try await Task.sleep(for: .milliseconds(150))
            let settled = server.received.count
            try await Task.sleep(for: .milliseconds(300))
            #expect(server.received.count == settled)
            let thrown = try await avStop(task)
            #expect(thrown == nil)
        }
    }

    @Test("a plan over budget: one .budget warning with the numbers, not fatal, once per provider")
    func budgetWarning() async throws {
        try await withAVServer(["GLOBAL_QUOTE": [try .fixture("global_quote_AAPL.json")]]) { server in
            let clock = ManualClock()
            let tickers = ["AAPL", "MSFT", "GOOGL", "AMZN", "META"]
            let provider = try AlphaVantageProvider(
                config: avConfig(baseURL: server.baseURL, tickers: tickers, updateInterval: 60, perMinute: 5, perDay: 25),
                clock: clock)
            let recorder = AVRecorder()
            let task = avStart(provider, tickers, recorder)
            // The first quote goes at once; the second waits a full interval.
            try await waitUntil(seconds: 15) { recorder.trades.count == 1 && clock.sleeperCount == 1 }
            #expect(clock.nextDeadline == ManualClock.Instant(offset: .seconds(3456)))
            let budget = recorder.issues(.budget)
            #expect(budget.count == 1)
            let issue = try #require(budget.first)
            #expect(!issue.isFatal)
            #expect(issue.severity == .warning)
            #expect(issue.message == provider.plan(symbols: 5).warning)
            #expect(issue.message.contains("needs 5 requests/min and 7200 requests/day"))
            #expect(issue.message.contains("set update_interval to at least 17280 s"))
            _ = try await avStop(task)
            // A second run of the same provider does not warn again, and the budget carries over.
            let again = AVRecorder()
            let second = avStart(provider, tickers, again)
            try await waitUntil(seconds: 15) { clock.sleeperCount == 1 }
            #expect(clock.nextDeadline == ManualClock.Instant(offset: .seconds(3456)))
            _ = try await avStop(second)
            #expect(again.issues.values.isEmpty)
            #expect(server.received.count == 1)
        }
    }

    @Test("config: a missing key, a bad URL or entitlement are config errors with their paths")
    func configErrors() throws {
        var config = avConfig(baseURL: "http://127.0.0.1:1/query", apiKey: nil)
        #expect(throws: ConfigError.self) { try AlphaVantageProvider(config: config) }
        do {
            _ = try AlphaVantageProvider(config: config)
        } catch {
            #expect(error.path == "api_key")
        }
        config.apiKey = Secret("  ")
        do {
            _ = try AlphaVantageProvider(config: config)
            Issue.record("a blank key was accepted")
        } catch {
            #expect(error.path == "api_key")
        }
        config.apiKey = Secret("K")
        config.providerUrl = "ftp://example.com/query?apikey=SECRET"
        do {
            _ = try AlphaVantageProvider(config: config)
            Issue.record("an ftp URL was accepted")
        } catch {
            #expect(error.path == "provider_url")
            #expect(!error.message.contains("SECRET"))
        }
        config.providerUrl = ""
        let provider = try AlphaVantageProvider(config: config)
        #expect(provider.settings.baseURL == "https://www.alphavantage.co/query")
        #expect(provider.name == "alphavantage")
        #expect(provider.budget.interval == .nanoseconds(1_000_000))  // 60 000/min in avConfig
        config.providers.alphavantage.entitlement = "sometimes"
        do {
            _ = try AlphaVantageProvider(config: config)
            Issue.record("a bad entitlement was accepted")
        } catch {
            #expect(error.path == "providers.alphavantage.entitlement")
        }
        config.providers.alphavantage.entitlement = "delayed"
        config.rateLimit.requestsPerDay = 0
        do {
            _ = try AlphaVantageProvider(config: config)
            Issue.record("a zero daily limit was accepted")
        } catch {
            #expect(error.path == "rate_limit.requests_per_day")
        }
    }

    @Test("the entitlement is sent when configured")
    func entitlement() async throws {
        try await withAVServer(["GLOBAL_QUOTE": [try .fixture("global_quote_AAPL_delayed_entitlement.json")], "TIME_SERIES_INTRADAY": [try .fixture("intraday_1min_AAPL.json")]]) {
            server in
            var config = avConfig(baseURL: server.baseURL)
            config.providers.alphavantage.entitlement = "delayed"
            let provider = try AlphaVantageProvider(config: config, clock: ContinuousClock())
            let recorder = AVRecorder()
            let task = avStart(provider, ["AAPL"], recorder)
            try await waitUntil(seconds: 15) { recorder.trades.count == 1 }
            _ = try await avStop(task)
            #expect(server.received.first?.query["entitlement"] == "delayed")
            #expect(recorder.trades.first?.0.price == 213.18)
        }
    }
}
