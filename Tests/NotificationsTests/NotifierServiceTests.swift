import Bus
import Contracts
import Foundation
import Logging
import ServiceKit
import Synchronization
import TestSupport
import Testing

@testable import Notifications

/// The notifier service fed hostile bus messages directly (a real SQLite outbox, a real
/// ZeroMQ publisher for its own alerts, a real SMTP server where it delivers).
@Suite("Notifier service against hostile input and a failing outbox", .timeLimit(.minutes(2)))
struct NotifierServiceTests {
    static let quietLogger = Logger(label: "notifier-test") { _ in SwiftLogNoOpLogHandler() }

    /// Runs `body` with a notifier over a fresh outbox whose channels are `channels` (console
    /// and an email channel nobody listens to, by default).
    func withNotifier(
        _ configure: (inout TickwireConfig) -> Void = { _ in },
        channels: [any DeliveryChannel]? = nil,
        outbox makeOutbox: ((String) throws -> Outbox)? = nil,
        _ body: (NotifierService, Outbox) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory("notifier-service")
        var config = TickwireConfig()
        config.bus.publishEndpoint = uniqueInprocEndpoint("notifier-service")
        config.bus.security = .none  // an in-process bus of its own, no proxy
        config.notifications.enabled = true
        config.notifications.dataDirectory = directory.path
        configure(&config)
        let path = directory.file("outbox.sqlite")
        let outbox = try makeOutbox?(path) ?? Outbox(path: path)
        let unreachable = EmailChannel(
            settings: EmailSettings(
                server: "127.0.0.1", port: 9, security: .none, from: "tickwire@example.com",
                recipients: ["ops@example.com"]))
        try await withContext { context in
            let environment = try await ServiceRuntime.openEnvironment(
                name: "notifier", config: config, logger: Self.quietLogger, context: context, instance: "test")
            let service = NotifierService(
                environment: environment, outbox: outbox,
                channels: channels ?? [ConsoleChannel(logger: Self.quietLogger), unreachable])
            do {
                try await body(service, outbox)
            } catch {
                await environment.publisher.close()
                throw error
            }
            await environment.publisher.close()
        }
    }

    func delivery(
        _ payload: Envelope.OneOf_Payload, on topic: Topic, from service: String = "ingestor", sequence: UInt64 = 1
    )
        -> Delivery
    {
        var envelope = Envelope()
        envelope.payload = payload
        envelope.producer = Producer(service: service, instance: "t", startedAt: 1)
        envelope.sequence = sequence
        envelope.eventTimeNs = 1_741_786_200_000_000_000
        return Delivery(topic: topic, envelope: envelope)
    }

    func heartbeat(_ service: String, interval: Double) throws -> Delivery {
        var status = ServiceStatus()
        status.service = service
        status.instance = "1"
        status.state = .running
        status.intervalSeconds = interval
        return delivery(.status(status), on: try Topic.status("x"))
    }

    func alert(_ title: String, sequence: UInt64) -> Delivery {
        var alert = Alert()
        alert.severity = .error
        alert.category = "provider.down"
        alert.title = title
        alert.dedupKey = title
        return delivery(.alert(alert), on: .alert(.error), sequence: sequence)
    }

    func named(_ service: NotifierService, _ counter: String) -> UInt64 {
        service.environment.counters.snapshot.named[counter] ?? 0
    }

    @Test("NaN, infinite and absurd heartbeat intervals are dropped and counted; the quiet check cannot trap")
    func hostileHeartbeats() async throws {
        try await withNotifier { service, _ in
            for interval in [Double.nan, .infinity, -.infinity, -1e300, 1e300] {
                await service.handle(try heartbeat("x", interval: interval))
            }
            await service.handle(try heartbeat("ingestor", interval: 5))
            #expect(named(service, "rejected.heartbeat_interval") == 5)
            // The old code stored the NaN and trapped converting it to a Duration here.
            let quiet = service.core.values.withLock { $0.watch.newlyQuiet(at: .now + .seconds(1_000), factor: 3) }
            #expect(quiet.map(\.key) == ["ingestor/1"])
            #expect(service.report().contains("services quiet: ingestor/1"))
        }
    }

    @Test("a flood of status.<random> keeps the heartbeat watch bounded and counts evictions")
    func heartbeatFlood() async throws {
        try await withNotifier { service, _ in
            for index in 0..<3_000 { await service.handle(try heartbeat("svc-\(index)", interval: 5)) }
            let (count, evictions) = service.core.values.withLock { ($0.watch.beats.count, $0.watch.evictions) }
            #expect(count == 1_024 && evictions == 3_000 - 1_024)
            #expect(service.report().contains("and 974 more"))
        }
    }

    @Test("alerts with random titles: at most max_per_minute stored per channel, the rest counted and summarised")
    func alertFlood() async throws {
        try await withNotifier({ $0.notifications.maxPerMinute = 5 }) { service, outbox in
            for index in 0..<5_000 { await service.handle(alert("random \(index) \(UUID())", sequence: UInt64(index))) }
            #expect(try await outbox.counts() == [.pending: 10], "5 for email, 5 for the console")
            #expect(named(service, "notifications.rate_capped.email") == 4_995)
            #expect(named(service, "notifications.rate_capped.console") == 4_995)
            let (keys, evicted) = service.core.values.withLock { ($0.inFlight.count, $0.inFlight.evictions) }
            #expect(keys == NotifierService.throttleKeyCapacity && evicted == UInt64(5_000 - keys))
            // After the minute: one summary per channel, through the outbox.
            let summaries = service.core.values.withLock { $0.rateCap.summaries(at: .now + .seconds(61)) }
            #expect(summaries.map(\.channel) == ["console", "email"] && summaries.map(\.held) == [4_995, 4_995])
            for (channel, held) in summaries { await service.summarise(held: held, on: channel) }
            let email = try await outbox.due(channel: "email")
            #expect(email.count == 6)
            #expect(email.last?.message.subject == "Tickwire: 4995 notification(s) held back on email")
        }
    }

    @Test("the same alert id twice takes one slot of the rate cap, not two")
    func duplicatesRefunded() async throws {
        try await withNotifier({ config in
            config.notifications.maxPerMinute = 2
            config.notifications.priorities["alert.error"] = "high"
        }) { (service: NotifierService, outbox: Outbox) async throws in
            for _ in 0..<3 { await service.handle(alert("same", sequence: 7)) }
            await service.handle(alert("other", sequence: 8))
            #expect(try await outbox.due(channel: "email").count == 2)
            #expect(named(service, "notifications.rate_capped.email") == 0)
        }
    }

    @Test("signals with NaN or infinite numbers or a bad symbol are dropped and counted")
    func hostileSignals() async throws {
        try await withNotifier { service, outbox in
            var nan = BoundedStateTests.signal()
            nan.confidence = .nan
            var infinite = BoundedStateTests.signal()
            infinite.price = .infinity
            var symbol = BoundedStateTests.signal()
            symbol.symbol = "AAPL\r\nBcc: x@example.com"
            for signal in [nan, infinite, symbol] {
                await service.handle(delivery(.signal(signal), on: try Topic.signal("AAPL"), from: "signal-generator"))
            }
            #expect(named(service, "rejected.signal_value") == 2)
            #expect(named(service, "rejected.signal_symbol") == 1)
            #expect(try await outbox.counts().isEmpty)
            await service.handle(
                delivery(.signal(BoundedStateTests.signal()), on: try Topic.signal("AAPL"), from: "signal-generator"))
            #expect(try await outbox.counts() == [.pending: 2])
        }
    }

    /// Holds SQLite's RESERVED lock on `path` (other connections may read, not write) until stopped.
    func lockWrites(_ path: String) async throws -> ChildProcess {
        let script = """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            sys.stdin.read()
            """
        let child = try ChildProcess(executable: Paths.python, arguments: ["-c", script, path])
        _ = try await child.waitForLine(prefix: "locked")
        return child
    }

    @Test("a delivery whose outbox update fails is never sent again; the update is retried; a failed store is counted")
    func markSentFails() async throws {
        try await using(try await SMTPSink.start(), stop: { await $0.stop() }) { sink in
            let email = EmailChannel(settings: EmailChannelTests.settings(port: sink.port))
            try await withNotifier(
                channels: [email], outbox: { try Outbox(path: $0, busyTimeout: 0.2) }
            ) { service, outbox in
                let signal = delivery(
                    .signal(BoundedStateTests.signal()), on: try Topic.signal("AAPL"), from: "signal-generator")
                await service.handle(signal)
                let due = await service.dueDeliveries("email", limit: 10)
                #expect(due.count == 1)
                let lock = try await lockWrites(outbox.path)
                var noBreaker: CircuitBreaker<ContinuousClock>? = nil
                for item in due { await service.attempt(item, on: email, breaker: &noBreaker) }
                #expect(try await sink.waitForMessages(1).count == 1)
                #expect(named(service, "outbox.record_failed") == 1)
                #expect(try await outbox.state(id: due[0].id, channel: "email") == .pending, "the write really failed")
                // Still pending in the database, but remembered as delivered: not due again.
                #expect(await service.dueDeliveries("email", limit: 10).isEmpty)
                // A store that fails is counted (and logged), not ignored.
                var other = BoundedStateTests.signal()
                other.id = "AAPL-2-BUY"
                await service.handle(delivery(.signal(other), on: try Topic.signal("AAPL"), from: "signal-generator"))
                #expect(named(service, "outbox.write_failed") == 1)
                #expect(service.environment.counters.snapshot.errors >= 2)
                await lock.stop()

                await service.recordPendingOutcomes(of: "email")
                #expect(named(service, "outbox.record_retried") == 1)
                #expect(try await outbox.state(id: due[0].id, channel: "email") == .sent)
                #expect(await service.dueDeliveries("email", limit: 10).isEmpty)
                try await Task.sleep(for: .milliseconds(500))
                #expect(try sink.received().count == 1, "delivered exactly once")
            }
        }
    }
}
