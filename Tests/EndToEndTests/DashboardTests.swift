import Bus
import Contracts
import Foundation
import TestSupport
import Testing

/// The dashboard as a process, watched by a real headless Chromium while the test publishes.
@Suite("Dashboard end to end", .serialized, .timeLimit(.minutes(3)))
struct DashboardTests {
    @Test("the page goes live, shows a published trade and signal with its votes within seconds, its own heartbeat and an alert's markup as text; SIGTERM stops it with a stream open")
    func liveInBrowser() async throws {
        guard Chromium.executable != nil else {
            Issue.record("no chromium-headless-shell: run `make deps` (as root: apt-get install -y chromium-headless-shell)")
            return
        }
        let bus = try TestBus()
        var environment = bus.environment
        environment["TICKWIRE_HEARTBEAT_INTERVAL"] = nil
        let config = try writeConfig(#"{"heartbeat": {"interval_seconds": 0.5}}"#)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let proxy = try await startProxy(bus)
        let port = try TestBus.freePort()
        let dashboard = try RunningProcess(
            "dashboard", arguments: ["--config", config, "--http-port", String(port)], environment: environment)
        #expect(await dashboard.waitForOutput(seconds: 15) { $0.contains("dashboard on http://127.0.0.1:\(port)/") }, "\(dashboard.stderr)")

        let directory = try TemporaryDirectory("tickwire-dashboard")
        let keep = ProcessInfo.processInfo.environment["TICKWIRE_REPORT_ARTIFACTS"].flatMap { $0.isEmpty ? nil : $0 }
        let base = keep ?? directory.path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let screenshot = (base as NSString).appendingPathComponent("dashboard.png")
        let check = try RunningProcess(
            "python",
            arguments: [Paths.repository.appendingPathComponent("Tests/python/dashboard_check.py").path, "http://127.0.0.1:\(port)/", "ZZTOP", screenshot],
            environment: ProcessInfo.processInfo.environment, executable: Paths.python)
        #expect(await check.waitForOutput(seconds: 60) { $0.contains("ready\n") }, "\(check.stdout)\(check.stderr)")

        try await withContext { context in
            let ingestor = try await MessagePublisher(
                context: context, endpoint: bus.publishEndpoint, producer: Producer(service: "ingestor", instance: "t"),
                options: try bus.options(as: "ingestor"))
            let generator = try await MessagePublisher(
                context: context, endpoint: bus.publishEndpoint, producer: Producer(service: "signal-generator", instance: "t"),
                options: try bus.options(as: "signal-generator"))
            try await Task.sleep(for: .milliseconds(500))
            for round in 0..<3 {
                var trade = Trade()
                trade.symbol = "ZZTOP"
                trade.price = 123.45 + Double(round)
                trade.size = 10
                ingestor.publish(.trade(trade), on: try Topic.tick("ZZTOP"))
                var signal = Signal()
                signal.symbol = "ZZTOP"
                signal.action = .buy
                signal.confidence = 0.81
                signal.price = trade.price
                signal.id = "ZZTOP-\(round)-BUY"
                signal.ensembleMethod = "dynamic_ensemble"
                var vote = ModelVote()
                vote.model = "gbt"
                vote.action = .buy
                vote.probability = 0.7
                vote.weight = 0.5
                vote.liveAccuracy = 0.6
                signal.votes = [vote, vote]
                generator.publish(.signal(signal), on: try Topic.signal("ZZTOP"))
                var alert = Alert()
                alert.severity = .warning
                alert.category = "test.markup"
                alert.title = "<img src=x onerror=alert(1)>"
                alert.message = "<script>alert(2)</script>"
                alert.service = "signal-generator"
                generator.publish(.alert(alert), on: .alert(.warning))
                try await Task.sleep(for: .milliseconds(700))
            }
            #expect(await check.wait(seconds: 90) == 0, "dashboard_check.py: \(check.stdout)\(check.stderr)")
            await ingestor.close()
            await generator.close()
        }
        let json = check.stdout.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? ""
        let found = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(found?["ok"] as? Bool == true, "\(json)")
        #expect(((found?["signal_seconds"] as? Double) ?? 99) < 5, "the signal took too long to show: \(json)")
        #expect(FileManager.default.fileExists(atPath: screenshot))

        // A client holding /events open does not keep SIGTERM from stopping the dashboard.
        let stream = try RunningProcess(
            "python",
            arguments: [
                "-c",
                "import sys, urllib.request\nfor line in urllib.request.urlopen(sys.argv[1], timeout=30):\n    if b'ZZTOP' in line: print('event with ZZTOP', flush=True)",
                "http://127.0.0.1:\(port)/events",
            ],
            environment: ProcessInfo.processInfo.environment, executable: Paths.python)
        #expect(await stream.waitForOutput(seconds: 10) { $0.contains("event with ZZTOP") }, "\(stream.stdout)\(stream.stderr)")
        let started = ContinuousClock.now
        #expect(await dashboard.stop(grace: 10) == 0, "\(dashboard.stderr.suffix(2_000))")
        #expect(ContinuousClock.now - started < .seconds(5))
        stream.signal(SIGKILL)
        await proxy.stop()
    }
}
