import Bus
import Contracts
import Foundation
import TestSupport
import Testing

/// The notifier as a process fed hostile frames: heartbeats whose interval is NaN, infinite or
/// -1e300 (one of them used to kill it) and an alert whose 1 MB title is full of CR/LF header
/// injections. It stays up, mails the next alert cleanly over real SMTP (aiosmtpd), and its
/// `status.notifier` heartbeat counts what it refused.
@Suite("Notifier against hostile input, end to end", .serialized, .timeLimit(.minutes(3)))
struct NotifierHostileInputTests {
    static let injection = "Feed down\r\nBcc: victim@evil.example\r\nX-Injected: yes\r\n\r\n"

    func startSMTP(port: Int) async throws -> RunningProcess {
        let sink = try RunningProcess(
            "smtp_sink",
            arguments: [
                Paths.repository.appendingPathComponent("Tests/python/smtp_sink.py").path, "--port", String(port),
            ],
            environment: ProcessInfo.processInfo.environment, executable: Paths.python)
        #expect(await sink.waitForOutput(seconds: 20) { $0.contains("ready") }, "smtp_sink: \(sink.stderr)")
        return sink
    }

    func mails(_ sink: RunningProcess) -> [[String: Any]] { jsonLines(sink.stdout) }

    func subject(_ mail: [String: Any]) -> String { ((mail["headers"] as? [String: Any])?["Subject"] as? String) ?? "" }

    /// Refusals the notifier reports in its latest heartbeat: its own `rejected.*` counters and
    /// the frames the subscription skipped as invalid (`skipped.*`).
    func refusals(_ tap: RunningProcess) -> Int {
        let statuses = jsonLines(tap.stdout).compactMap { $0["status"] as? [String: Any] }
            .filter { $0["service"] as? String == "notifier" }
        guard let counters = statuses.last?["counters"] as? [String: Any] else { return 0 }
        return counters.filter { $0.key.hasPrefix("rejected.") || $0.key.hasPrefix("skipped.") }
            .map { Int("\($0.value)") ?? 0 }.reduce(0, +)
    }

    @Test("NaN, inf and -1e300 heartbeats and a CRLF-laden 1 MB alert: up, a clean mail after, the refusals counted")
    func hostileFrames() async throws {
        let smtpPort = try TestBus.freePort()
        let smtp = try await startSMTP(port: smtpPort)
        let bus = try TestBus()
        let data = try TemporaryDirectory()
        let config = try writeConfig(
            #"""
            {
                "heartbeat": { "interval_seconds": 0.5 },
                "notification_recipients": ["ops@example.com"],
                "notifications": {
                    "enabled": true, "data_directory": "\#(data.path)",
                    "retry_initial_seconds": 0.5, "retry_max_seconds": 1, "timeout_seconds": 5,
                    "email": { "enabled": true, "smtp_server": "127.0.0.1", "smtp_port": \#(smtpPort),
                               "security": "none", "from_email": "tickwire@example.com" }
                }
            }
            """#)
        let proxy = try await startProxy(bus)
        let tap = try RunningProcess(
            "bus-tap", arguments: ["status.notifier", "--duration", "90"], environment: bus.environment)
        let notifier = try RunningProcess("notifier", arguments: ["--config", config], environment: bus.environment)
        try await Task.sleep(for: .seconds(2))

        try await withContext { context in
            let publisher = try await MessagePublisher(
                context: context, endpoint: bus.publishEndpoint, producer: Producer(service: "ingestor", instance: "t"), options: try bus.options(as: "ingestor"))
            try await Task.sleep(for: .milliseconds(500))
            for interval in [Double.nan, .infinity, -1e300] {
                var status = ServiceStatus()
                status.service = "x"
                status.instance = "1"
                status.state = .running
                status.intervalSeconds = interval
                publisher.publish(.status(status), on: try Topic.status("x"))
            }
            var hostile = Alert()
            hostile.severity = .error
            hostile.category = "provider.down"
            hostile.title = Self.injection + String(repeating: "A", count: 1_000_000 - Self.injection.utf8.count)
            hostile.message = Self.injection
            hostile.service = "ingestor"
            publisher.publish(.alert(hostile), on: .alert(.error))  // refused at the bus boundary (size)
            hostile.title = Self.injection  // short enough to pass the boundary: the notifier defuses it
            publisher.publish(.alert(hostile), on: .alert(.error))
            try await Task.sleep(for: .seconds(2))
            var normal = Alert()
            normal.severity = .error
            normal.category = "provider.auth_failed"
            normal.title = "alphavantage: key rejected"
            normal.message = "the provider refused the key"
            normal.service = "ingestor"
            publisher.publish(.alert(normal), on: .alert(.error))
            try await Task.sleep(for: .seconds(1))
            await publisher.close()
        }
        let delivered = await smtp.waitForOutput(seconds: 20) { _ in
            mails(smtp).contains { subject($0).contains("key rejected") }
        }
        let counted = await tap.waitForOutput(seconds: 10) { _ in refusals(tap) >= 3 }
        let stillUp = notifier.process.isRunning
        #expect(await notifier.stop() == 0, "\(notifier.stderr.suffix(4_000))")
        await tap.stop()
        await proxy.stop()
        await smtp.stop()

        #expect(stillUp, "the notifier died: \(notifier.stderr.suffix(4_000))")
        #expect(delivered, "no mail for the normal alert: \(subjectsOf(smtp))\n\(notifier.stderr.suffix(4_000))")
        #expect(counted, "refusals in status.notifier: \(refusals(tap)); tap: \(tap.stdout.suffix(2_000))")
        // The short hostile alert arrives, rendered harmless.
        #expect(
            mails(smtp).contains { subject($0).hasPrefix("Tickwire ERROR: Feed down Bcc: victim@evil.example") },
            "\(subjectsOf(smtp))")
        for mail in mails(smtp) {
            #expect(mail["rcpt_tos"] as? [String] == ["ops@example.com"], "an injected Bcc added a recipient")
            let content = mail["content"] as? String ?? ""
            let headers = (content.components(separatedBy: "\r\n\r\n").first ?? "").components(separatedBy: "\r\n")
            #expect(!headers.contains { $0.hasPrefix("Bcc:") || $0.hasPrefix("X-Injected:") }, "\(headers)")
            let text = subject(mail)
            #expect(!text.contains("\r") && !text.contains("\n") && text.count <= 200, "\(text.prefix(300))")
            #expect(content.utf8.count < 200_000, "a mail of \(content.utf8.count) bytes")
        }
    }

    func subjectsOf(_ sink: RunningProcess) -> [String] { mails(sink).map { String(subject($0).prefix(120)) } }

    @Test("a damaged outbox file stops the notifier at start: exit 78, naming the file")
    func damagedOutbox() async throws {
        let bus = try TestBus()
        let data = try TemporaryDirectory()
        let outbox = try data.write("notifier-outbox.sqlite", String(repeating: "not a database\n", count: 100))
        let config = try writeConfig(#"{ "notifications": { "enabled": true, "data_directory": "\#(data.path)" } }"#)
        let notifier = try RunningProcess("notifier", arguments: ["--config", config], environment: bus.environment)
        let status = await notifier.wait(seconds: 20)
        if status == nil { await notifier.stop() }
        #expect(status == 78, "\(notifier.stderr)")
        #expect(
            notifier.stderr.contains(outbox) && notifier.stderr.contains("notifications.data_directory"),
            "\(notifier.stderr)")
    }
}
