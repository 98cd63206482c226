import Foundation
import TestSupport
import Testing

/// The scheduler as a process: its calendar against exchange_calendars, the simulated clock's
/// sessions and timers, and the ingestor polling only in the sessions it should, with and
/// without a scheduler.
@Suite("Scheduler end to end", .serialized, .timeLimit(.minutes(3)))
struct SchedulerTests {
    /// Parses `2025-03-14T09:30:00-04:00` into UTC seconds.
    func epoch(_ text: Substring) -> Int64? {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: String(text)).map { Int64($0.timeIntervalSince1970) }
    }

    @Test("scheduler calendar 2000-2035 equals exchange_calendars day by day")
    func calendarMatchesReference() async throws {
        let scheduler = try RunningProcess(
            "scheduler", arguments: ["calendar", "--from", "2000-01-01", "--to", "2035-12-31", "--format", "csv"], environment: [:])
        #expect(await scheduler.wait(seconds: 60) == 0, "\(scheduler.stderr)")
        let reference = try RunningProcess(
            "python", arguments: [Paths.repository.appendingPathComponent("Tests/python/xnys_reference.py").path],
            environment: ProcessInfo.processInfo.environment, executable: Paths.python)
        #expect(await reference.wait(seconds: 120) == 0, "\(reference.stderr)")

        let ours = scheduler.stdout.split(separator: "\n")
        let theirs = reference.stdout.split(separator: "\n")
        #expect(ours.first == "date,open,close,early_close,pre_open,post_close")
        var expected: [Substring: (open: Int64, close: Int64, early: Substring)] = [:]
        for line in theirs.dropFirst() {
            let cells = line.split(separator: ",")
            expected[cells[0]] = (Int64(cells[1])!, Int64(cells[2])!, cells[3])
        }
        var mismatches: [String] = []
        var seen = Set<Substring>()
        for line in ours.dropFirst() {
            let cells = line.split(separator: ",")
            let date = cells[0]
            seen.insert(date)
            guard let want = expected[date] else {
                mismatches.append("\(date): we trade, exchange_calendars does not")
                continue
            }
            if epoch(cells[1]) != want.open || epoch(cells[2]) != want.close || cells[3] != want.early {
                mismatches.append("\(date): ours \(cells[1]) \(cells[2]) \(cells[3]), reference \(want)")
            }
        }
        for date in expected.keys where !seen.contains(date) { mismatches.append("\(date): exchange_calendars trades, we do not") }
        #expect(expected.count > 9_000, "the reference has \(expected.count) sessions")
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.sorted().prefix(10))")
    }

    @Test("simulated clock: the close, post-market and end-of-day timer arrive on time; status reports repeat")
    func simulatedClock() async throws {
        let bus = try TestBus()
        let config = try writeConfig(#"""
            {
                "scheduler": { "simulated_start": "2025-03-14T15:59:58-04:00", "simulated_speed": 2,
                               "status_interval_seconds": 0.5, "report_interval_seconds": 4 },
                "heartbeat": { "interval_seconds": 1 }
            }
            """#)
        let proxy = try await startProxy(bus)
        let tap = try RunningProcess("bus-tap", arguments: ["market.session", "timer.", "--duration", "6"], environment: bus.environment)
        try await Task.sleep(for: .seconds(1.5))
        let scheduler = try RunningProcess("scheduler", arguments: ["--config", config], environment: bus.environment)
        #expect(await tap.wait(seconds: 15) == 0, "\(tap.stderr)")
        #expect(await scheduler.stop() == 0, "\(scheduler.stderr)")
        await proxy.stop()

        let lines = jsonLines(tap.stdout)
        let sessions = lines.compactMap { $0["session"] as? [String: Any] }
        let changes = sessions.filter { $0["changed"] as? Bool == true }.compactMap { $0["phase"] as? String }
        #expect(changes == ["SESSION_PHASE_REGULAR", "SESSION_PHASE_POST_MARKET"], "phase changes: \(changes)\n\(scheduler.stderr)")
        #expect(sessions.count >= 6, "periodic messages every 0.5 s: \(sessions.count)")
        #expect(sessions.allSatisfy { $0["simulated_clock"] as? Bool == true && $0["trading_day"] as? String == "2025-03-14" })
        let regular = sessions.first { $0["phase"] as? String == "SESSION_PHASE_REGULAR" }
        // 2025-03-14 16:00 New York (EDT) = 20:00 UTC.
        #expect(regular?["next_change_ns"] as? Int == 1_741_982_400_000_000_000)
        #expect(regular?["regular_close_ns"] as? Int == 1_741_982_400_000_000_000)
        let timers = lines.compactMap { $0["timer"] as? [String: Any] }
        let endOfDay = timers.filter { $0["name"] as? String == "end_of_day" }
        #expect(endOfDay.count == 1 && endOfDay.first?["trading_day"] as? String == "2025-03-14", "\(timers)")
        #expect(timers.contains { $0["name"] as? String == "status_report" }, "\(timers)")
    }

    /// Requests the Alpha Vantage provider has made, from each ingestor heartbeat: (publish time, count).
    func requests(_ lines: [[String: Any]]) -> [(time: Int, count: Int)] {
        lines.compactMap { line in
            guard let status = line["status"] as? [String: Any], status["service"] as? String == "ingestor",
                let time = line["publish_time_ns"] as? Int
            else { return nil }
            let counters = status["counters"] as? [String: Any] ?? [:]
            return (time, Int("\(counters["provider.alphavantage.requests"] ?? 0)") ?? 0)
        }
    }

    /// The bus's environment without the suite-wide session default: these tests set their own.
    func environment(_ bus: TestBus) -> [String: String] {
        var environment = bus.environment
        environment["TICKWIRE_SESSION_DEFAULT"] = nil
        return environment
    }

    func ingestorConfig(port: Int, scheduler: String, sessionDefault: String) throws -> String {
        try writeConfig(#"""
            {
                "provider": "alphavantage", "api_key": "K", "tickers": ["AAPL"],
                "provider_url": "http://127.0.0.1:\#(port)/query",
                "update_interval": 0.3,
                "rate_limit": { "requests_per_minute": 100000, "requests_per_day": 10000000 },
                "ingestor": { "backfill": false, "session_default": "\#(sessionDefault)" },
                "heartbeat": { "interval_seconds": 0.25 },
                "scheduler": \#(scheduler)
            }
            """#)
    }

    @Test("with a simulated trading day, the ingestor polls only while the regular session is open")
    func ingestorFollowsSessions() async throws {
        let server = try await startAlphaVantage(mode: .normal)
        let bus = try TestBus()
        // 3600x: one real second is a simulated hour. Pre-market from the start, the open after
        // ~1 s, the close 6.5 s later, then after-hours (closed for an ingestor without extended hours).
        let config = try ingestorConfig(
            port: server.port,
            scheduler: #"{ "simulated_start": "2025-03-14T08:30:00-04:00", "simulated_speed": 3600, "status_interval_seconds": 0.5 }"#,
            sessionDefault: "closed")
        let proxy = try await startProxy(bus)
        let tap = try RunningProcess("bus-tap", arguments: ["market.session", "status.ingestor", "--duration", "14"], environment: bus.environment)
        try await Task.sleep(for: .seconds(1.5))
        let ingestor = try RunningProcess("ingestor", arguments: ["--config", config], environment: environment(bus))
        try await Task.sleep(for: .seconds(1))
        let scheduler = try RunningProcess("scheduler", arguments: ["--config", config], environment: bus.environment)
        _ = await tap.wait(seconds: 20)
        for process in [scheduler, ingestor] { #expect(await process.stop() == 0, "\(process.name): \(process.stderr)") }
        await proxy.stop()
        await server.stop()

        let lines = jsonLines(tap.stdout)
        let changes = lines.compactMap { line -> (time: Int, phase: String)? in
            guard let session = line["session"] as? [String: Any], session["changed"] as? Bool == true,
                let time = line["publish_time_ns"] as? Int, let phase = session["phase"] as? String
            else { return nil }
            return (time, phase)
        }
        let opened = try #require(changes.first { $0.phase == "SESSION_PHASE_REGULAR" }, "no open: \(changes)")
        let closed = try #require(changes.first { $0.phase == "SESSION_PHASE_POST_MARKET" }, "no close: \(changes)")
        let counts = requests(lines)
        let beforeOpen = counts.filter { $0.time < opened.time }.map(\.count).max() ?? 0
        let atClose = counts.filter { $0.time < closed.time + 1_000_000_000 }.map(\.count).max() ?? 0
        let atEnd = counts.map(\.count).max() ?? 0
        #expect(!counts.isEmpty, "no heartbeats: \(ingestor.stderr)")
        #expect(beforeOpen == 0, "polled \(beforeOpen) times before the open")
        #expect(atClose >= 5, "only \(atClose) requests during a 6.5 s session at 0.3 s intervals")
        #expect(atEnd == atClose, "polled \(atEnd - atClose) times after the close")
    }

    @Test("without a scheduler the ingestor follows session_default; when the scheduler goes quiet it falls back and alerts")
    func fallback() async throws {
        let server = try await startAlphaVantage(mode: .normal)
        let bus = try TestBus()
        // Regular hours on the simulated clock (real time speed): the open session comes only
        // from the scheduler; session_default is closed.
        let config = try ingestorConfig(
            port: server.port,
            scheduler: #"{ "simulated_start": "2025-03-14T11:00:00-04:00", "simulated_speed": 1, "status_interval_seconds": 0.5 }"#,
            sessionDefault: "closed")
        let proxy = try await startProxy(bus)
        let tap = try RunningProcess("bus-tap", arguments: ["status.ingestor", "alert.", "--duration", "12"], environment: bus.environment)
        try await Task.sleep(for: .seconds(1.5))
        let ingestor = try RunningProcess("ingestor", arguments: ["--config", config], environment: environment(bus))
        try await Task.sleep(for: .seconds(2.5))
        let noScheduler = requests(jsonLines(tap.stdout)).map(\.count).max() ?? -1
        let scheduler = try RunningProcess("scheduler", arguments: ["--config", config], environment: bus.environment)
        try await Task.sleep(for: .seconds(3))
        scheduler.signal(SIGKILL)
        let killedAt = Int64(Date().timeIntervalSince1970 * 1e9)
        _ = await scheduler.wait(seconds: 5)
        _ = await tap.wait(seconds: 15)
        #expect(await ingestor.stop() == 0, "\(ingestor.stderr)")
        await proxy.stop()
        await server.stop()

        let lines = jsonLines(tap.stdout)
        let counts = requests(lines)
        #expect(noScheduler == 0, "polled \(noScheduler) times with session_default closed and no scheduler")
        let withScheduler = counts.filter { Int64($0.time) < killedAt }.map(\.count).max() ?? 0
        #expect(withScheduler >= 3, "only \(withScheduler) requests while the scheduler said open")
        // After 3 status intervals (1.5 s) of silence it is closed again: allow 2.5 s.
        let settled = counts.filter { Int64($0.time) > killedAt + 2_500_000_000 }.map(\.count)
        #expect(settled.count >= 4 && settled.min() == settled.max(), "kept polling after the scheduler died: \(settled)")
        let alerts = lines.compactMap { $0["alert"] as? [String: Any] }.compactMap { $0["category"] as? String }
        #expect(alerts.contains("scheduler.silent"), "alerts: \(alerts)")
        #expect(ingestor.stderr.contains("following the scheduler's market.session"))
    }
}
