import Bus
import Contracts
import Foundation
import Hummingbird
import Synchronization
import TestSupport
import Testing

/// The notifier as a process against a real SMTP server (aiosmtpd): signals arrive as email,
/// once; repeats are throttled as configured; "stopped" is not lost; a message pending while
/// the server is down arrives exactly once after a kill -9 and a restart.
@Suite("Notifier end to end", .serialized, .timeLimit(.minutes(3)))
struct NotifierTests {
    /// Starts smtp_sink.py on `port` and waits for it to listen.
    func startSMTP(port: Int) async throws -> RunningProcess {
        let sink = try RunningProcess(
            "smtp_sink", arguments: [Paths.repository.appendingPathComponent("Tests/python/smtp_sink.py").path, "--port", String(port)],
            environment: ProcessInfo.processInfo.environment, executable: Paths.python)
        #expect(await sink.waitForOutput(seconds: 20) { $0.contains("ready") }, "smtp_sink: \(sink.stderr)")
        return sink
    }

    func subjects(_ sink: RunningProcess) -> [String] {
        jsonLines(sink.stdout).compactMap { ($0["headers"] as? [String: Any])?["Subject"] as? String }
    }

    func signal(_ symbol: String, _ action: Action, id: String) -> Envelope.OneOf_Payload {
        var signal = Signal()
        signal.symbol = symbol
        signal.action = action
        signal.confidence = 0.72
        signal.price = 231.5
        signal.shares = 12
        signal.suggestedPositionSize = 0.03
        signal.id = id
        signal.ensembleMethod = "dynamic_ensemble"
        return .signal(signal)
    }

    @Test("signals by email once, throttled repeats, stopped not lost, pending mail survives kill -9")
    func email() async throws {
        let smtpPort = try TestBus.freePort()
        var smtp = try await startSMTP(port: smtpPort)
        let bus = try TestBus()
        let data = try TemporaryDirectory()
        let config = try writeConfig(#"""
            {
                "notification_recipients": ["ops@example.com", "desk@example.com"],
                "notifications": {
                    "enabled": true,
                    "throttle_period": 60,
                    "data_directory": "\#(data.path)",
                    "retry_initial_seconds": 0.5,
                    "retry_max_seconds": 1,
                    "timeout_seconds": 3,
                    "priorities": { "signal": "normal" },
                    "email": { "enabled": true, "smtp_server": "127.0.0.1", "smtp_port": \#(smtpPort),
                               "security": "none", "from_email": "tickwire@example.com" }
                }
            }
            """#)
        let proxy = try await startProxy(bus)
        var notifier = try RunningProcess("notifier", arguments: ["--config", config], environment: bus.environment)
        try await Task.sleep(for: .seconds(2))

        try await withContext { context in
            let publisher = try await MessagePublisher(
                context: context, endpoint: bus.publishEndpoint, producer: Producer(service: "signal-generator", instance: "t"), options: try bus.options(as: "signal-generator"))
            try await Task.sleep(for: .milliseconds(500))
            let topic = try Topic.signal("AAPL")
            publisher.publish(signal("AAPL", .buy, id: "AAPL-1-BUY"), on: topic)
            publisher.publish(signal("AAPL", .buy, id: "AAPL-1-BUY"), on: topic)   // the same id: never twice
            try await Task.sleep(for: .seconds(2))
            publisher.publish(signal("AAPL", .buy, id: "AAPL-2-BUY"), on: topic)   // same key within 60 s: throttled
            publisher.publish(signal("MSFT", .sell, id: "MSFT-1-SELL"), on: try Topic.signal("MSFT"))
            try await Task.sleep(for: .seconds(1))
            await publisher.close()
        }
        let arrived = await smtp.waitForOutput(seconds: 15) { _ in subjects(smtp).filter { $0.contains("MSFT") }.count == 1 }
        #expect(arrived, "\(smtp.stdout)\n\(notifier.stderr)")
        try await Task.sleep(for: .seconds(1))
        let signalMails = subjects(smtp).filter { $0.contains("Tickwire BUY") || $0.contains("Tickwire SELL") }
        #expect(signalMails.count == 2, "one AAPL BUY and one MSFT SELL: \(signalMails)")
        let first = try #require(jsonLines(smtp.stdout).first { (($0["headers"] as? [String: Any])?["Subject"] as? String)?.contains("AAPL") == true })
        #expect(Set(first["rcpt_tos"] as? [String] ?? []) == ["ops@example.com", "desk@example.com"])
        let body = ((first["parts"] as? [[String: Any]]) ?? []).compactMap { $0["text"] as? String }.joined()
        #expect(body.contains("AAPL") && body.contains("BUY") && body.contains("72.0%") && body.contains("231.50"), "\(body)")

        // The SMTP server goes down; an error alert is stored and retried; kill -9; the server
        // comes back; the restarted notifier delivers it exactly once.
        smtp.signal(SIGKILL)
        #expect(await smtp.wait(seconds: 5) != nil, "the SMTP server did not stop")
        try await withContext { context in
            let publisher = try await MessagePublisher(
                context: context, endpoint: bus.publishEndpoint, producer: Producer(service: "ingestor", instance: "t"), options: try bus.options(as: "ingestor"))
            try await Task.sleep(for: .milliseconds(500))
            var alert = Alert()
            alert.severity = .error
            alert.category = "provider.auth_failed"
            alert.title = "alphavantage: key rejected"
            alert.message = "the provider refused the key"
            alert.service = "ingestor"
            publisher.publish(.alert(alert), on: .alert(.error))
            try await Task.sleep(for: .seconds(1))
            await publisher.close()
        }
        let failed = await notifier.waitForOutput(seconds: 15) { $0.contains("attempt 1 failed") }
        #expect(failed, "\(notifier.stderr)")
        notifier.signal(SIGKILL)
        _ = await notifier.wait(seconds: 5)
        smtp = try await startSMTP(port: smtpPort)
        notifier = try RunningProcess("notifier", arguments: ["--config", config], environment: bus.environment)
        let resumed = await smtp.waitForOutput(seconds: 20) { _ in subjects(smtp).contains { $0.contains("key rejected") } }
        #expect(resumed, "\(notifier.stderr)")
        // SIGTERM: "stopped" is stored first and delivered before exit.
        #expect(await notifier.stop() == 0, "\(notifier.stderr)")
        try await Task.sleep(for: .seconds(1))
        let after = subjects(smtp)
        #expect(after.filter { $0.contains("key rejected") }.count == 1, "\(after)")
        #expect(after.contains { $0.contains("notifier stopped") }, "\(after)")
        #expect(!after.contains { $0.contains("AAPL") }, "a confirmed message was sent again: \(after)")
        smtp.signal(SIGKILL)
        await proxy.stop()
    }

    @Test("a dead channel blocks no other: the webhook gets the alert and one channel-down alert about email")
    func deadChannel() async throws {
        let received = Mutex<[String]>([])
        let webhook = try await FakeServer.start { onRunning, _ in
            let router = Router()
            router.post("hook") { request, context -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                received.withLock { $0.append(String(buffer: body)) }
                return Response(status: .ok)
            }
            return Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { onRunning($0.localAddress?.port ?? 0) })
        }
        let deadPort = try TestBus.freePort()
        let bus = try TestBus()
        let data = try TemporaryDirectory()
        let config = try writeConfig(#"""
            {
                "notification_recipients": ["ops@example.com"],
                "notifications": {
                    "enabled": true, "data_directory": "\#(data.path)",
                    "retry_initial_seconds": 0.2, "retry_max_seconds": 0.5, "timeout_seconds": 2,
                    "email": { "enabled": true, "smtp_server": "127.0.0.1", "smtp_port": \#(deadPort),
                               "security": "none", "from_email": "tickwire@example.com" },
                    "webhook": { "enabled": true, "url": "http://127.0.0.1:\#(webhook.port)/hook" }
                }
            }
            """#)
        let proxy = try await startProxy(bus)
        let notifier = try RunningProcess("notifier", arguments: ["--config", config], environment: bus.environment)
        try await Task.sleep(for: .seconds(2))
        try await withContext { context in
            let publisher = try await MessagePublisher(
                context: context, endpoint: bus.publishEndpoint, producer: Producer(service: "ingestor", instance: "t"), options: try bus.options(as: "ingestor"))
            try await Task.sleep(for: .milliseconds(500))
            var alert = Alert()
            alert.severity = .error
            alert.category = "provider.rate_limited"
            alert.title = "alphavantage: rate limited"
            alert.message = "25 requests a day used up"
            alert.service = "ingestor"
            publisher.publish(.alert(alert), on: .alert(.error))
            try await Task.sleep(for: .seconds(1))
            await publisher.close()
        }
        let both = await waitFor(seconds: 20) {
            let bodies = received.withLock { $0 }
            return bodies.contains { $0.contains("rate limited") } && bodies.contains { $0.contains("channel email is failing") }
        }
        #expect(await notifier.stop() == 0, "\(notifier.stderr)")
        await proxy.stop()
        await webhook.stop()
        let bodies = received.withLock { $0 }
        #expect(both, "webhook got: \(bodies)\n\(notifier.stderr)")
        #expect(bodies.filter { $0.contains("channel email is failing") }.count == 1, "\(bodies)")
    }

    @Test("a service that stops sending heartbeats is reported as gone quiet, once")
    func serviceQuiet() async throws {
        let bus = try TestBus()
        let data = try TemporaryDirectory()
        let config = try writeConfig(#"""
            {
                "tickers": ["AAPL"],
                "heartbeat": { "interval_seconds": 0.5 },
                "notifications": { "enabled": true, "data_directory": "\#(data.path)", "quiet_after_intervals": 3 }
            }
            """#)
        let proxy = try await startProxy(bus)
        let notifier = try RunningProcess("notifier", arguments: ["--config", config], environment: bus.environment)
        try await Task.sleep(for: .seconds(1.5))
        let ingestor = try RunningProcess("ingestor", arguments: ["--config", config, "--instance", "quiet-1"], environment: bus.environment)
        try await Task.sleep(for: .seconds(2.5))
        #expect(!notifier.stderr.contains("has gone quiet"), "reported while alive: \(notifier.stderr)")
        ingestor.signal(SIGKILL)
        _ = await ingestor.wait(seconds: 5)
        let reported = await notifier.waitForOutput(seconds: 10) { $0.contains("ingestor/quiet-1 has gone quiet") }
        try await Task.sleep(for: .seconds(2))
        #expect(await notifier.stop() == 0, "\(notifier.stderr)")
        await proxy.stop()
        #expect(reported, "\(notifier.stderr)")
        let mentions = notifier.stderr.components(separatedBy: "Tickwire: ingestor/quiet-1 has gone quiet").count - 1
        #expect(mentions == 1, "reported \(mentions) times")
    }

    func waitFor(seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return condition()
    }
}

