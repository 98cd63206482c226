import Foundation
import TestSupport
import Testing

/// The ingestor as a process against fake provider servers, read back with bus-tap.
@Suite("Ingestor against fake providers", .serialized, .timeLimit(.minutes(2)))
struct ProviderTests {
    /// Starts bus-tap processes, then gives their subscriptions time to reach the proxy:
    /// what a provider publishes once at start (backfill, the first alert) is delivered only
    /// to subscribers that are already there.
    func startTaps(_ bus: TestBus, _ argumentLists: [[String]]) async throws -> [RunningProcess] {
        let taps = try argumentLists.map { try RunningProcess("bus-tap", arguments: $0, environment: bus.environment) }
        try await Task.sleep(for: .seconds(1.5))
        return taps
    }

    @Test("Alpha Vantage with no config file: backfill bars and the quote reach the bus exactly")
    func alphaVantage() async throws {
        let server = try await startAlphaVantage(mode: .normal)
        let bus = try TestBus()
        let config = try writeConfig(#"{"rate_limit": {"requests_per_minute": 600, "requests_per_day": 100000}, "update_interval": 1}"#)
        let proxy = try await startProxy(bus)
        let taps = try await startTaps(bus, [
            ["bar.AAPL", "--count", "100", "--duration", "40"], ["tick.AAPL", "--count", "1", "--duration", "40"],
        ])
        let (bars, ticks) = (taps[0], taps[1])
        let ingestor = try RunningProcess(
            "ingestor",
            arguments: ["--provider", "alphavantage", "--api-key", "K", "--tickers", "AAPL,MSFT", "--config", config,
                        "--provider-url", "http://127.0.0.1:\(server.port)/query"],
            environment: bus.environment)
        let barStatus = await bars.wait(seconds: 45)
        let tickStatus = await ticks.wait(seconds: 45)
        await ingestor.stop()
        await proxy.stop()
        await server.stop()
        #expect(barStatus == 0, "\(bars.stderr)\n\(ingestor.stderr)")
        #expect(tickStatus == 0, "\(ticks.stderr)")
        let barLines = jsonLines(bars.stdout).compactMap { $0["bar"] as? [String: Any] }
        #expect(barLines.count == 100)
        // The fixture's oldest bar: 2025-03-14 10:03 US/Eastern (EDT) = 14:03 UTC.
        #expect(barLines.first?["start_time_ns"] as? Int == 1_741_960_980_000_000_000)
        #expect(barLines.first?["origin"] as? String == "BAR_ORIGIN_BACKFILL")
        let trade = jsonLines(ticks.stdout).first?["trade"] as? [String: Any]
        #expect(trade?["price"] as? Double == 213.18, "\(ticks.stdout)")
        #expect(trade?["provider"] as? String == "alphavantage")
    }

    @Test("Alpha Vantage trouble becomes an alert and the ingestor keeps running", arguments: [
        (AlphaVantageMode.rateLimit, "provider.rate_limited"),
        (.serverError, "provider.http_status"),
        (.garbage, "provider.malformed_payload"),
        (.hang, "provider.timeout"),
    ])
    func alphaVantageTrouble(_ mode: AlphaVantageMode, _ category: String) async throws {
        let server = try await startAlphaVantage(mode: mode)
        let bus = try TestBus()
        let config = try writeConfig(
            #"{"rate_limit": {"requests_per_minute": 600, "requests_per_day": 100000}, "update_interval": 1, "ingestor": {"request_timeout_seconds": 1, "backfill": false}}"#)
        let proxy = try await startProxy(bus)
        let alerts = try await startTaps(bus, [["alert.", "--count", "1", "--duration", "40"]])[0]
        let ingestor = try RunningProcess(
            "ingestor",
            arguments: ["--provider", "alphavantage", "--api-key", "K", "--tickers", "AAPL", "--config", config,
                        "--provider-url", "http://127.0.0.1:\(server.port)/query"],
            environment: bus.environment)
        let status = await alerts.wait(seconds: 45)
        let stillRunning = ingestor.process.isRunning
        await ingestor.stop()
        await proxy.stop()
        await server.stop()
        #expect(status == 0, "\(alerts.stderr)\n\(ingestor.stderr)")
        let alert = jsonLines(alerts.stdout).first?["alert"] as? [String: Any]
        #expect(alert?["category"] as? String == category, "\(alerts.stdout)")
        #expect(stillRunning, "the ingestor must survive \(mode.rawValue)")
        #expect(!(alerts.stdout + ingestor.stderr).contains("apikey=K"), "the key leaked")
    }

    @Test("Polygon drops mid-stream: the ingestor reconnects and no trade is lost or duplicated")
    func polygonReconnect() async throws {
        let connections = Counter()
        let server = try await startPolygon(connections: connections)
        let bus = try TestBus()
        let fixture = try ProviderFixtures.lines("polygon/session.jsonl").joined(separator: "\n")
        let expectedIDs = try NSRegularExpression(pattern: #"\{"ev":"T","sym":"AAPL","i":"(\d+)""#)
            .matches(in: fixture, range: NSRange(fixture.startIndex..., in: fixture))
            .compactMap { Range($0.range(at: 1), in: fixture).map { String(fixture[$0]) } }
        #expect(expectedIDs.count > 40)
        let proxy = try await startProxy(bus)
        let tap = try await startTaps(bus, [["tick.AAPL", "--duration", "12"]])[0]
        let config = try writeConfig(#"{"ingestor": {"reconnect_initial_seconds": 0.2}, "providers": {"polygon": {"channels": ["T", "Q", "A", "AM"]}}}"#)
        let ingestor = try RunningProcess(
            "ingestor",
            arguments: ["--provider", "polygon", "--api-key", "FAKE", "--tickers", "AAPL,MSFT", "--config", config,
                        "--provider-url", "ws://127.0.0.1:\(server.port)/stocks"],
            environment: bus.environment)
        _ = await tap.wait(seconds: 20)
        await ingestor.stop()
        await proxy.stop()
        await server.stop()
        #expect(connections.current >= 2, "the fake never saw a reconnect: \(ingestor.stderr)")
        let ids = jsonLines(tap.stdout).compactMap { ($0["trade"] as? [String: Any])?["trade_id"] as? String }
        #expect(ids.count == expectedIDs.count, "published \(ids.count) trades, the session has \(expectedIDs.count)")
        #expect(Set(ids) == Set(expectedIDs))
        #expect(Set(ids).count == ids.count, "a trade was published twice")
    }
}
