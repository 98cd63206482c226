import Bus
import Contracts
import Foundation
import TestSupport
import Testing

/// The dashboard as a process, watched by a real headless Chromium while the test publishes as
/// an ingestor, a processor (built bars), a signal generator (signals with votes, heartbeats
/// with the prediction PSI, a model.drift alert) and a notifier (heartbeats with its outbox).
@Suite("Dashboard end to end", .serialized, .timeLimit(.minutes(3)))
struct DashboardTests {
    @Test("the page goes live, shows a published trade and signal with its votes within seconds, its own heartbeat and an alert's markup as text; the model table, the reliability curve and Brier score from signals resolved by bars, prediction PSI, a model.drift alert and the notifier's outbox appear and update; SIGTERM stops it with a stream open")
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
            let processor = try await MessagePublisher(
                context: context, endpoint: bus.publishEndpoint, producer: Producer(service: "processor", instance: "t"),
                options: try bus.options(as: "processor"))
            let notifier = try await MessagePublisher(
                context: context, endpoint: bus.publishEndpoint, producer: Producer(service: "notifier", instance: "t"),
                options: try bus.options(as: "notifier"))
            try await Task.sleep(for: .milliseconds(500))
            // Bars a minute apart, the first half an hour ago (built, as a processor's).
            let minute: Int64 = 60_000_000_000
            let start = (WallClock.nanoseconds() / minute - 30) * minute
            func bar(_ index: Int64, close: Double) throws {
                var bar = Bar()
                bar.symbol = "ZZTOP"
                bar.startTimeNs = start + (index - 1) * minute
                bar.endTimeNs = start + index * minute
                bar.open = close
                bar.high = close
                bar.low = close
                bar.close = close
                bar.volume = 100
                bar.origin = .built
                processor.publish(.bar(bar), on: try Topic.bar("ZZTOP"), eventTime: bar.endTimeNs)
            }
            func scored(_ index: Int64, _ action: Action, confidence: Double, price: Double, horizon: Int32) throws {
                var signal = Signal()
                signal.symbol = "ZZTOP"
                signal.action = action
                signal.confidence = confidence
                signal.price = price
                signal.id = "ZZTOP-bar\(index)-\(action)"
                signal.ensembleMethod = "dynamic_ensemble"
                signal.barEndTimeNs = start + index * minute
                signal.horizonBars = horizon
                var vote = ModelVote()
                vote.model = "gbt"
                vote.action = action
                vote.probability = confidence
                vote.weight = 0.5
                vote.liveAccuracy = 0.6
                signal.votes = [vote]
                generator.publish(.signal(signal), on: try Topic.signal("ZZTOP"), eventTime: signal.barEndTimeNs)
            }
            func heartbeats(psiMilli: UInt64, webhookSent: UInt64, pending: UInt64) throws {
                var status = ServiceStatus()
                status.service = "signal-generator"
                status.instance = "t"
                status.state = .running
                status.intervalSeconds = 5
                status.counters = ["models.prediction_psi_milli": psiMilli]
                generator.publish(.status(status), on: try Topic.status("signal-generator"))
                status.service = "notifier"
                status.counters = [
                    "outbox.pending": pending, "notifications.queued": 12, "notifications.throttled": 2,
                    "notifications.sent.webhook": webhookSent, "notifications.failed.webhook": 1, "notifications.sent.console": 3,
                ]
                notifier.publish(.status(status), on: try Topic.status("notifier"))
            }
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
            // Phase 1: a BUY at 100 (confidence 0.7, two bars), bars up to 102 (a hit: Brier
            // 0.09); PSI 0.18 (watch); the notifier's outbox.
            try bar(0, close: 100)
            try scored(0, .buy, confidence: 0.7, price: 100, horizon: 2)
            try bar(1, close: 99)
            try bar(2, close: 102)
            try heartbeats(psiMilli: 180, webhookSent: 7, pending: 4)
            #expect(await check.waitForOutput(seconds: 60) { $0.contains("phase 2\n") }, "\(check.stdout)\(check.stderr)")
            // Phase 2: a SELL at 102 (confidence 0.45) the next bar closes above (a miss: Brier
            // (0.09 + 0.2025) / 2); PSI 0.31 (shifted) and its model.drift alert; one more sent.
            try scored(3, .sell, confidence: 0.45, price: 102, horizon: 1)
            try bar(3, close: 102)
            try bar(4, close: 103)
            try heartbeats(psiMilli: 310, webhookSent: 8, pending: 0)
            var drift = Alert()
            drift.severity = .warning
            drift.category = "model.drift"
            drift.title = "predictions drifted from training"
            drift.message = "PSI 0.310 (above 0.25)"
            drift.service = "signal-generator"
            generator.publish(.alert(drift), on: .alert(.warning))
            #expect(await check.wait(seconds: 90) == 0, "dashboard_check.py: \(check.stdout)\(check.stderr)")
            await ingestor.close()
            await generator.close()
            await processor.close()
            await notifier.close()
        }
        let json = check.stdout.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? ""
        let found = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(found?["ok"] as? Bool == true, "\(json)")
        #expect(((found?["signal_seconds"] as? Double) ?? 99) < 5, "the signal took too long to show: \(json)")
        #expect(((found?["quality_update_seconds"] as? Double) ?? 99) < 5, "signal quality took too long to update: \(json)")
        #expect(found?["brier"] as? String == "Brier 0.146", "\(json)")
        #expect(found?["reliability_points"] as? Int == 2, "\(json)")
        #expect(found?["psi_label"] as? String == "shifted", "\(json)")
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
