import Bus
import Contracts
import Foundation
import ServiceKit
import TestSupport
import Testing

/// The bus as shipped (CURVE, publish rights) against clients that should not get through:
/// none without a key, none with an unknown key, an authenticated identity only within its
/// rights and only as itself. A legitimate bus-tap watches; nothing forged may reach it.
@Suite("Bus security end to end", .timeLimit(.minutes(2)))
struct SecurityTests {
    /// A signal as the signal generator would send it.
    static func forgedSignal(producer: String) -> Envelope {
        var signal = Signal()
        signal.symbol = "AAPL"
        signal.action = .buy
        signal.confidence = 0.99
        signal.price = 100
        signal.id = "AAPL-1-BUY"
        var envelope = Envelope()
        envelope.schemaVersion = Codec.schemaVersion
        envelope.producer = Producer(service: producer, instance: "forger")
        envelope.sequence = 1
        envelope.eventTimeNs = WallClock.nanoseconds()
        envelope.publishTimeNs = envelope.eventTimeNs
        envelope.payload = .signal(signal)
        return envelope
    }

    /// Publishes `frames` every 50 ms for `seconds` from a PUB socket with `options`.
    func publish(_ frames: [[UInt8]], to endpoint: String, options: SocketOptions, seconds: Double) async throws {
        try await withContext { context in
            let publisher = try await Publisher(context: context, endpoint: endpoint, options: options)
            let deadline = ContinuousClock.now + .seconds(seconds)
            while ContinuousClock.now < deadline {
                publisher.publish(topic: frames[0]) { _ in frames[1] }
                try await Task.sleep(for: .milliseconds(50))
            }
            await publisher.close()
        }
    }

    /// How many messages a SUB socket with `options` receives on everything in `seconds`.
    func received(from endpoint: String, options: SocketOptions, seconds: Double) async throws -> Int {
        try await withContext { context in
            var configuration = Subscription.Configuration()
            configuration.socket = options
            let subscription = try await Subscription(context: context, endpoint: endpoint, prefixes: [[]], configuration: configuration)
            let closer = closeAfter(seconds: seconds) { await subscription.close() }
            var count = 0
            for try await _ in subscription { count += 1 }
            closer.cancel()
            return count
        }
    }

    /// A fresh key pair that no key directory knows.
    func strangerOptions(_ bus: TestBus) throws -> SocketOptions {
        let stranger = try CurveKeyPair.generate()
        var options = SocketOptions()
        options.curve = .client(
            publicKey: stranger.publicKey, secretKey: stranger.secretKey, serverKey: try bus.keys.publicKey("bus-proxy"))
        return options
    }

    @Test("no key or an unknown key: nothing is received and nothing published gets through; refusals are counted")
    func outsiders() async throws {
        let bus = try TestBus()
        let proxy = try await startProxy(bus)
        let ingestor = try RunningProcess(
            "ingestor", arguments: ["--provider", "simulated", "--tickers", "AAPL"], environment: bus.environment)
        let tap = try RunningProcess(
            "bus-tap", arguments: ["tick.AAPL", "signal.", "status.bus-proxy", "--duration", "12"], environment: bus.environment)
        #expect(await tap.waitForOutput(seconds: 15) { $0.contains("tick.AAPL") }, "no ticks: \(tap.stderr)")

        let forged = [try Topic.signal("AAPL").wire, try Codec.encode(Self.forgedSignal(producer: "signal-generator"))]
        async let plainReads = received(from: bus.subscribeEndpoint, options: SocketOptions(), seconds: 3)
        async let strangerReads = received(from: bus.subscribeEndpoint, options: try strangerOptions(bus), seconds: 3)
        try await publish(forged, to: bus.publishEndpoint, options: SocketOptions(), seconds: 2)
        try await publish(forged, to: bus.publishEndpoint, options: try strangerOptions(bus), seconds: 2)
        let (plain, stranger) = try await (plainReads, strangerReads)
        _ = await tap.wait(seconds: 20)
        await ingestor.stop()
        await proxy.stop()

        #expect(plain == 0, "a client without keys read \(plain) messages")
        #expect(stranger == 0, "a client with an unknown key read \(stranger) messages")
        let lines = jsonLines(tap.stdout)
        #expect(lines.contains { $0["topic"] as? String == "tick.AAPL" }, "the legitimate tap saw no ticks")
        #expect(!lines.contains { ($0["topic"] as? String)?.hasPrefix("signal.") == true }, "a forged signal got through")
        let counters = lines.compactMap { $0["status"] as? [String: Any] }.last?["counters"] as? [String: Any] ?? [:]
        #expect(Int("\(counters["auth.refused"] ?? 0)") ?? 0 >= 2, "refused clients not counted: \(counters)")
        #expect(proxy.stderr.contains("is not in the allow-list"), "\(proxy.stderr.suffix(2_000))")
    }

    @Test("an identity outside its rights, or naming another producer, is refused at the proxy and counted")
    func insiders() async throws {
        let bus = try TestBus()
        let proxy = try await startProxy(bus)
        let tap = try RunningProcess(
            "bus-tap", arguments: ["tick.AAPL", "signal.", "status.bus-proxy", "--duration", "10"], environment: bus.environment)
        try await Task.sleep(for: .seconds(1.5))
        // The ingestor's key may publish ticks, not signals.
        let signal = [try Topic.signal("AAPL").wire, try Codec.encode(Self.forgedSignal(producer: "ingestor"))]
        try await publish(signal, to: bus.publishEndpoint, options: try bus.options(as: "ingestor"), seconds: 2)
        // A tick from the ingestor's key that claims to come from the processor.
        var tick = Self.forgedSignal(producer: "processor")
        tick.payload = Fixtures.trade("AAPL")
        let impostor = [try Topic.tick("AAPL").wire, try Codec.encode(tick)]
        try await publish(impostor, to: bus.publishEndpoint, options: try bus.options(as: "ingestor"), seconds: 2)
        // bus-tap's key may publish nothing at all.
        var honest = tick
        honest.producer = Producer(service: "bus-tap", instance: "x")
        try await publish(
            [try Topic.tick("AAPL").wire, try Codec.encode(honest)], to: bus.publishEndpoint,
            options: try bus.options(as: "bus-tap"), seconds: 2)
        _ = await tap.wait(seconds: 15)
        await proxy.stop()

        let lines = jsonLines(tap.stdout)
        #expect(!lines.contains { $0["topic"] as? String == "tick.AAPL" || ($0["topic"] as? String)?.hasPrefix("signal.") == true },
            "a refused message got through: \(tap.stdout.suffix(2_000))")
        let counters = lines.compactMap { $0["status"] as? [String: Any] }.last?["counters"] as? [String: Any] ?? [:]
        func count(_ name: String) -> Int { Int("\(counters[name] ?? 0)") ?? 0 }
        #expect(count("proxy.refused.not_permitted") >= 2, "\(counters)")
        #expect(count("proxy.refused.producer_mismatch") >= 1, "\(counters)")
    }

    @Test("security none: every service warns, and bus-proxy refuses to bind beyond loopback (exit 78)")
    func optOut() async throws {
        let bus = try TestBus()
        var environment = bus.environment
        environment["TICKWIRE_BUS_SECURITY"] = "none"
        let exposed = try RunningProcess(
            "bus-proxy", arguments: ["--xsub-bind", "tcp://*:\(try TestBus.freePort())", "--xpub-bind", bus.subscribeEndpoint],
            environment: environment)
        let status = await exposed.wait(seconds: 15)
        #expect(status == 78, "bus-proxy: \(exposed.stderr)")
        #expect(exposed.stderr.contains("would reach beyond this machine unauthenticated"), "\(exposed.stderr)")
        #expect(exposed.stderr.contains("bus.security is \"none\""), "no warning: \(exposed.stderr)")

        // On loopback it runs, unauthenticated, and a plain client reads from it.
        let local = try RunningProcess("bus-proxy", arguments: [], environment: environment)
        #expect(await local.waitForOutput(seconds: 10) { $0.contains("unauthenticated (bus.security none)") }, "\(local.stderr)")
        let ingestor = try RunningProcess(
            "ingestor", arguments: ["--provider", "simulated", "--tickers", "AAPL"], environment: environment)
        let plain = try await received(from: bus.subscribeEndpoint, options: SocketOptions(), seconds: 4)
        await ingestor.stop()
        await local.stop()
        #expect(plain > 0, "a plain client read nothing from an unsecured bus")
        #expect(ingestor.stderr.contains("bus.security is \"none\""), "no warning: \(ingestor.stderr.prefix(2_000))")
    }
}

