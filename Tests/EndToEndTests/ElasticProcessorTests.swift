import Foundation
import TestSupport
import Testing

/// Elastic processors as processes: `processor --elastic` instances share the tickers, and
/// every ticker keeps its features coming while processors join, die (kill -9) and stop.
@Suite("Elastic processors end to end", .serialized, .timeLimit(.minutes(3)))
struct ElasticProcessorTests {
    /// One feature vector seen on the bus.
    struct Seen {
        var producer: String
        var symbol: String
        var barEnd: Int64
        var fromHistory: Bool
        var publishedAt: Int64
    }

    func features(_ output: String) -> [Seen] {
        jsonLines(output).compactMap { line in
            guard let producer = line["producer"] as? String, let features = line["features"] as? [String: Any],
                let symbol = features["symbol"] as? String
            else { return nil }
            func number(_ value: Any?) -> Int64 {
                if let text = value as? String { return Int64(text) ?? 0 }
                return (value as? NSNumber)?.int64Value ?? 0
            }
            return Seen(
                producer: producer, symbol: symbol, barEnd: number(features["bar_end_time_ns"]),
                fromHistory: features["from_history"] as? Bool ?? false, publishedAt: number(line["publish_time_ns"]))
        }
    }

    static let tickers = ["AAPL", "MSFT", "GOOGL", "AMZN", "META", "NVDA", "TSLA", "ORCL"]
    static let config = #"""
        {
            "tickers": ["AAPL", "MSFT", "GOOGL", "AMZN", "META", "NVDA", "TSLA", "ORCL"],
            "heartbeat": { "interval_seconds": 1 },
            "simulator": { "trades_per_second": 10, "backfill_bars": 120 },
            "processor": { "bar_interval_seconds": 1, "late_tolerance_seconds": 0.2, "history_timeout_seconds": 1 }
        }
        """#

    static func nowNs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }

    /// Who published live features of each ticker after `since`.
    func owners(_ output: String, since: Int64) -> [String: Set<String>] {
        var owners: [String: Set<String>] = [:]
        for seen in features(output) where seen.publishedAt > since && !seen.fromHistory {
            owners[seen.symbol, default: []].insert(seen.producer)
        }
        return owners
    }

    /// Waits until every ticker has live features after `since` from `producers` only.
    func everyTicker(
        _ tap: RunningProcess, since: Int64, from producers: Set<String>, seconds: Double
    ) async -> Bool {
        await tap.waitForOutput(seconds: seconds) { text in
            let owners = owners(text, since: since)
            return Set(owners.keys) == Set(Self.tickers) && owners.values.allSatisfy { $0.isSubset(of: producers) }
        }
    }

    @Test("elastic processors split the tickers; one joining takes a share, kill -9 and SIGTERM move tickers to the rest within seconds; no bar is built twice")
    func joinDieStop() async throws {
        let bus = try TestBus()
        let config = try writeConfig(Self.config)
        let proxy = try await startProxy(bus)
        let tap = try RunningProcess(
            "bus-tap", arguments: ["features.", "--duration", "120"], environment: bus.environment)
        try await Task.sleep(for: .seconds(1.5))
        let ingestor = try RunningProcess("ingestor", arguments: ["--config", config], environment: bus.environment)
        func elastic(_ name: String) throws -> RunningProcess {
            try RunningProcess(
                "processor", arguments: ["--config", config, "--elastic", "--instance", name], environment: bus.environment)
        }
        let e1 = try elastic("e1")
        let e2 = try elastic("e2")
        defer { tap.signal(SIGKILL) }

        // Two members: every ticker served, each by one of them, and both serve some.
        let started = Self.nowNs()
        #expect(
            await everyTicker(tap, since: started, from: ["processor/e1", "processor/e2"], seconds: 25),
            "not every ticker has features: \(owners(tap.stdout, since: started))\ne1: \(e1.stderr.suffix(2000))\ningestor: \(ingestor.stderr.suffix(2000))")
        try await Task.sleep(for: .seconds(2))
        let steady = Self.nowNs()
        try await Task.sleep(for: .seconds(3))
        var owners = owners(tap.stdout, since: steady)
        #expect(owners.values.allSatisfy { $0.count == 1 }, "a ticker served twice: \(owners)")
        let byTwo = Set(owners.values.flatMap { $0 })
        #expect(byTwo == ["processor/e1", "processor/e2"], "\(owners)")

        // A third joins: it takes a share; the others keep the rest; still one owner each.
        let e3 = try elastic("e3")
        let joined = Self.nowNs()
        let tookShare = await tap.waitForOutput(seconds: 15) { text in
            self.owners(text, since: joined).values.contains { $0.contains("processor/e3") }
        }
        #expect(tookShare, "e3 took nothing: \(e3.stderr.suffix(2000))")
        try await Task.sleep(for: .seconds(2))
        let afterJoin = Self.nowNs()
        try await Task.sleep(for: .seconds(3))
        owners = self.owners(tap.stdout, since: afterJoin)
        #expect(Set(owners.keys) == Set(Self.tickers), "\(owners)")
        #expect(owners.values.allSatisfy { $0.count == 1 }, "a ticker served twice after the join: \(owners)")
        #expect(Set(owners.values.flatMap { $0 }) == ["processor/e1", "processor/e2", "processor/e3"], "\(owners)")

        // kill -9 e1: after 3 missed heartbeats (3 s) its tickers move; all served again soon.
        e1.signal(SIGKILL)
        _ = await e1.wait(seconds: 5)
        let killed = ContinuousClock.now
        let killedNs = Self.nowNs()
        // Features already in flight from e1 may arrive just after; start counting 0.5 s on.
        let moved = await everyTicker(
            tap, since: killedNs + 500_000_000, from: ["processor/e2", "processor/e3"], seconds: 15)
        let recovery = ContinuousClock.now - killed
        #expect(moved, "e1's tickers did not move: \(self.owners(tap.stdout, since: killedNs))\ne2: \(e2.stderr.suffix(2000))")
        #expect(recovery < .seconds(10), "moving e1's tickers took \(recovery)")
        #expect(e2.stderr.contains("missed 3 heartbeats") || e3.stderr.contains("missed 3 heartbeats"))

        // SIGTERM e2: its stopping heartbeat hands its tickers to e3 at once.
        let stopping = ContinuousClock.now
        #expect(await e2.stop() == 0, "e2: \(e2.stderr.suffix(2000))")
        let stoppedNs = Self.nowNs()
        let handed = await everyTicker(tap, since: stoppedNs + 500_000_000, from: ["processor/e3"], seconds: 10)
        #expect(handed, "e3 does not serve every ticker: \(self.owners(tap.stdout, since: stoppedNs))")
        #expect(ContinuousClock.now - stopping < .seconds(8), "handing over after SIGTERM took \(ContinuousClock.now - stopping)")

        // Over the whole run, no bar's live features came from two processors.
        var producersOfBar: [String: Set<String>] = [:]
        for seen in features(tap.stdout) where !seen.fromHistory && seen.barEnd > 0 {
            producersOfBar["\(seen.symbol)@\(seen.barEnd)", default: []].insert(seen.producer)
        }
        let twice = producersOfBar.filter { $0.value.count > 1 }
        #expect(twice.isEmpty, "bars with live features from two processors: \(twice.sorted { $0.key < $1.key }.prefix(10))")
        #expect(producersOfBar.count > 50, "too few bars seen: \(producersOfBar.count)")

        for process in [e3, ingestor] { #expect(await process.stop() == 0, "\(process.name): \(process.stderr.suffix(2000))") }
        await proxy.stop()
    }

    @Test("--elastic with a processors section ignores it and serves the whole universe alone")
    func aloneServesAll() async throws {
        let bus = try TestBus()
        let config = try writeConfig(#"""
            {
                "tickers": ["AAPL", "MSFT", "GOOGL"],
                "heartbeat": { "interval_seconds": 0.5 },
                "simulator": { "trades_per_second": 10, "backfill_bars": 120 },
                "processor": { "bar_interval_seconds": 1, "late_tolerance_seconds": 0.2, "history_timeout_seconds": 1 },
                "processors": [ { "name": "p1", "tickers": ["AAPL"] } ]
            }
            """#)
        let proxy = try await startProxy(bus)
        let tap = try RunningProcess("bus-tap", arguments: ["features.", "--duration", "60"], environment: bus.environment)
        try await Task.sleep(for: .seconds(1.5))
        let ingestor = try RunningProcess("ingestor", arguments: ["--config", config], environment: bus.environment)
        let alone = try RunningProcess(
            "processor", arguments: ["--config", config, "--elastic"], environment: bus.environment)
        defer { tap.signal(SIGKILL) }
        let since = Self.nowNs()
        let all = await tap.waitForOutput(seconds: 20) { text in
            Set(self.features(text).filter { $0.publishedAt > since }.map(\.symbol)) == ["AAPL", "MSFT", "GOOGL"]
        }
        #expect(all, "\(alone.stderr.suffix(2000))")
        // Named after the host (and pid) when no --instance is given.
        let producers = Set(features(tap.stdout).map(\.producer))
        #expect(producers.count == 1 && producers.first?.hasPrefix("processor/") == true && producers.first != "processor/p1", "\(producers)")
        for process in [alone, ingestor] { #expect(await process.stop() == 0, "\(process.name): \(process.stderr.suffix(2000))") }
        await proxy.stop()
    }
}
