import Bus
import Contracts
import Foundation
import Testing

/// End-to-end tests: real bus-proxy, ingestor and bus-tap processes on a private loopback bus.
@Suite("Stack end to end", .serialized, .timeLimit(.minutes(2)))
struct StackTests {
    /// Starts bus-proxy and a simulated ingestor for `tickers` at `speed`.
    func startStack(_ bus: TestBus, tickers: String) async throws -> (RunningProcess, RunningProcess) {
        let proxy = try RunningProcess("bus-proxy", arguments: [], environment: bus.environment)
        #expect(await proxy.waitForOutput(seconds: 10) { $0.contains("forwarding") }, "bus-proxy did not start: \(proxy.stderr)")
        let ingestor = try RunningProcess(
            "ingestor", arguments: ["--provider", "simulated", "--tickers", tickers], environment: bus.environment)
        return (proxy, ingestor)
    }

    @Test("simulated ticks reach bus-tap as JSON lines")
    func ticksReachTap() async throws {
        let bus = try TestBus()
        let (proxy, ingestor) = try await startStack(bus, tickers: "AAPL,MSFT")
        let tap = try RunningProcess("bus-tap", arguments: ["tick.AAPL", "--count", "20", "--duration", "30"], environment: bus.environment)
        let status = await tap.wait(seconds: 40)
        await ingestor.stop()
        await proxy.stop()
        #expect(status == 0, "bus-tap: \(tap.stderr)")
        let lines = jsonLines(tap.stdout)
        #expect(lines.count == 20)
        for line in lines {
            #expect(line["topic"] as? String == "tick.AAPL")
            #expect((line["producer"] as? String)?.hasPrefix("ingestor/") == true)
            let kind = line["kind"] as? String
            #expect(kind == "trade" || kind == "quote")
            let payload = line[kind ?? ""] as? [String: Any]
            #expect(payload?["symbol"] as? String == "AAPL")
        }
        let sequences = lines.compactMap { $0["seq"] as? Int }
        #expect(sequences == Array(sequences.first!..<(sequences.first! + 20)), "sequence numbers must be consecutive")
        let summary = tapSummary(tap.stderr)
        #expect(summary?["received"] as? Int == 20)
        #expect(summary?["gaps"] as? Int == 0)
    }

    @Test("tick.AAPL never delivers tick.AAPLX; BRK.B works; tick. gets all")
    func exactTopics() async throws {
        let bus = try TestBus()
        let (proxy, ingestor) = try await startStack(bus, tickers: "AAPL,AAPLX,BRK.B")
        let aapl = try RunningProcess("bus-tap", arguments: ["tick.AAPL", "--count", "30", "--duration", "30"], environment: bus.environment)
        let aaplx = try RunningProcess("bus-tap", arguments: ["tick.AAPLX", "--count", "30", "--duration", "30"], environment: bus.environment)
        let brk = try RunningProcess("bus-tap", arguments: ["tick.BRK.B", "--count", "10", "--duration", "30"], environment: bus.environment)
        let all = try RunningProcess("bus-tap", arguments: ["tick.", "--count", "60", "--duration", "30"], environment: bus.environment)
        let statuses = [await aapl.wait(seconds: 40), await aaplx.wait(seconds: 40), await brk.wait(seconds: 40), await all.wait(seconds: 40)]
        await ingestor.stop()
        await proxy.stop()
        #expect(statuses == [0, 0, 0, 0])
        #expect(Set(jsonLines(aapl.stdout).compactMap { $0["topic"] as? String }) == ["tick.AAPL"])
        #expect(Set(jsonLines(aaplx.stdout).compactMap { $0["topic"] as? String }) == ["tick.AAPLX"])
        #expect(Set(jsonLines(brk.stdout).compactMap { $0["topic"] as? String }) == ["tick.BRK.B"])
        #expect(Set(jsonLines(all.stdout).compactMap { $0["topic"] as? String }) == ["tick.AAPL", "tick.AAPLX", "tick.BRK.B"])
    }

    @Test("kill -9 of bus-proxy: everyone recovers and bus-tap reports the gaps exactly")
    func proxyRestart() async throws {
        let bus = try TestBus()
        let (proxy, ingestor) = try await startStack(bus, tickers: "AAPL")
        let tap = try RunningProcess("bus-tap", arguments: ["tick.AAPL", "--duration", "12"], environment: bus.environment)
        #expect(await tap.waitForOutput(seconds: 10) { jsonLines($0).count >= 5 }, "no ticks before the kill")
        proxy.signal(SIGKILL)
        _ = await proxy.wait(seconds: 5)
        let beforeRestart = jsonLines(tap.stdout).count
        try await Task.sleep(for: .seconds(1.5))
        let restarted = try RunningProcess("bus-proxy", arguments: [], environment: bus.environment)
        let status = await tap.wait(seconds: 30)
        await ingestor.stop()
        await restarted.stop()
        #expect(status == 0, "bus-tap: \(tap.stderr)")
        let lines = jsonLines(tap.stdout)
        #expect(lines.count > beforeRestart + 5, "ticks did not resume after the proxy restarted")
        // A connected PUB queues (up to its high-water mark) while the proxy is away, so a
        // short outage may lose nothing; whatever was lost, the report must match the
        // sequence numbers actually printed.
        let sequences = lines.compactMap { $0["seq"] as? Int }
        var gaps = 0
        var missing = 0
        for (previous, next) in zip(sequences, sequences.dropFirst()) where next > previous + 1 {
            gaps += 1
            missing += next - previous - 1
        }
        let summary = tapSummary(tap.stderr)
        #expect(summary?["gaps"] as? Int == gaps, "\(tap.stderr)")
        #expect(summary?["missing"] as? Int == missing, "\(tap.stderr)")
        #expect(summary?["duplicates"] as? Int == 0)
    }

    @Test("a Python reader written from docs/bus.md decodes ticks")
    func pythonReader() async throws {
        let bus = try TestBus()
        guard FileManager.default.isExecutableFile(atPath: Paths.python) else {
            Issue.record("no Python test peers at \(Paths.python): run 'make deps'")
            return
        }
        let (proxy, ingestor) = try await startStack(bus, tickers: "AAPL,MSFT")
        let reader = try RunningProcess(
            "read_bus.py",
            arguments: [Paths.repository.appendingPathComponent("Tests/python/read_bus.py").path,
                        "--endpoint", bus.subscribeEndpoint, "--count", "15", "--timeout", "30", "tick.MSFT"],
            environment: bus.environment, executable: Paths.python)
        let status = await reader.wait(seconds: 60)
        await ingestor.stop()
        await proxy.stop()
        #expect(status == 0, "read_bus.py: \(reader.stderr)")
        let lines = jsonLines(reader.stdout)
        #expect(lines.count == 15)
        #expect(Set(lines.compactMap { $0["topic"] as? String }) == ["tick.MSFT"])
    }

    @Test("garbage sent to the proxy is counted and dropped there or at the reader; subscribers keep going")
    func garbage() async throws {
        let bus = try TestBus()
        let (proxy, ingestor) = try await startStack(bus, tickers: "AAPL")
        let tap = try RunningProcess(
            "bus-tap", arguments: ["tick.", "--count", "150", "--duration", "40"], environment: bus.environment)
        #expect(await tap.waitForOutput(seconds: 10) { jsonLines($0).count >= 1 })
        // An authenticated publisher: what the proxy cannot check (frames, producer) it drops;
        // a well-formed envelope of another schema version gets through and the reader refuses it.
        try sendGarbage(to: bus.publishEndpoint, options: try bus.options(as: "ingestor"), rounds: 40)
        let status = await tap.wait(seconds: 45)
        await ingestor.stop()
        let proxyStatus = await proxy.stop()
        #expect(status == 0, "bus-tap: \(tap.stderr)")
        #expect(proxyStatus == 0, "bus-proxy: \(proxy.stderr)")
        let rejected = tapSummary(tap.stderr)?["rejected"] as? [String: Int] ?? [:]
        #expect((rejected["version"] ?? 0) >= 1, "\(tap.stderr)")
        #expect(rejected["frames"] == nil && rejected["undecodable"] == nil, "the proxy should have dropped these: \(tap.stderr)")
        #expect(jsonLines(tap.stdout).allSatisfy { $0["topic"] as? String == "tick.AAPL" })
        #expect(proxy.stderr.contains("malformed message(s)"), "\(proxy.stderr)")
        #expect(proxy.stderr.contains("producer_mismatch"), "\(proxy.stderr)")
    }

    /// Publishes malformed messages from a PUB socket (CURVE as `options` say), created, used
    /// and closed on this one thread: a lone frame, three frames, a topic without terminator,
    /// bytes that are not an Envelope, an envelope with no producer, and one of an unknown
    /// schema version from the right producer.
    func sendGarbage(to endpoint: String, options: SocketOptions, rounds: Int) throws {
        let context = try Context()
        let socket = try Socket(context: context, type: .pub, options: options)
        try socket.connect(endpoint)
        var anonymous = Envelope()
        anonymous.schemaVersion = 99
        anonymous.payload = .trade(Trade())
        var future = anonymous
        future.producer = Producer(service: "ingestor", instance: "garbage", startedAt: WallClock.nanoseconds())
        future.sequence = 1
        let anonymousBytes = try Codec.encode(anonymous)
        usleep(300_000)  // the CURVE handshake
        for round in 0..<rounds {
            future.sequence = UInt64(round + 1)
            future.publishTimeNs = WallClock.nanoseconds()
            future.eventTimeNs = future.publishTimeNs
            try socket.send(frames: [Array("tick.AAPL\0".utf8)])
            try socket.send(frames: [Array("tick.AAPL\0".utf8), [1, 2], [3]])
            try socket.send(frames: [Array("tick.AAPL".utf8), [0xFF]])
            try socket.send(frames: [Array("tick.AAPL\0".utf8), [0xFF, 0xFF, 0xFF]])
            try socket.send(frames: [Array("tick.AAPL\0".utf8), anonymousBytes])
            try socket.send(frames: [Array("tick.AAPL\0".utf8), try Codec.encode(future)])
            usleep(50_000)
        }
        socket.close()
    }

    @Test("SIGTERM stops the ingestor cleanly and quickly")
    func sigterm() async throws {
        let bus = try TestBus()
        let (proxy, ingestor) = try await startStack(bus, tickers: "AAPL")
        #expect(await ingestor.waitForOutput(seconds: 10) { $0.contains("simulating") })
        let started = ContinuousClock.now
        let status = await ingestor.stop(grace: 10)
        let elapsed = ContinuousClock.now - started
        await proxy.stop()
        #expect(status == 0, "ingestor: \(ingestor.stderr)")
        #expect(elapsed < .seconds(5))
        #expect(ingestor.stderr.contains("ingestor stopped"))
    }
}

/// `tickwire up`: supervision of a real stack.
@Suite("tickwire up", .timeLimit(.minutes(2)))
struct SupervisorTests {
    @Test("restarts a killed service with backoff and stops everything on SIGTERM")
    func restartAndStop() async throws {
        let bus = try TestBus()
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-up-\(UUID().uuidString).json")
        try #"{"provider": "simulated", "tickers": ["AAPL"], "stack": {"services": [{"name": "ingestor"}]}}"#
            .write(to: config, atomically: true, encoding: .utf8)
        let up = try RunningProcess(
            "tickwire", arguments: ["up", "--config", config.path, "--bin-dir", Paths.binaries.path], environment: bus.environment)
        func ingestorPIDs(_ text: String) -> [Int32] {
            text.split(separator: "\n").compactMap { line in
                guard let range = line.range(of: "started ingestor (pid ") else { return nil }
                return Int32(line[range.upperBound...].prefix { $0.isNumber })
            }
        }
        #expect(await up.waitForOutput(seconds: 15) { ingestorPIDs($0).count == 1 && $0.contains("simulating") })
        let first = try #require(ingestorPIDs(up.stdout + up.stderr).first)
        kill(first, SIGKILL)
        #expect(await up.waitForOutput(seconds: 15) { ingestorPIDs($0).count == 2 }, "not restarted: \(up.stderr)")
        #expect((up.stdout + up.stderr).contains("was killed by signal 9; restarting in"))
        let second = try #require(ingestorPIDs(up.stdout + up.stderr).last)
        #expect(second != first)
        let status = await up.stop(grace: 20)
        #expect(status == 0, "tickwire up: \(up.stderr)")
        #expect(kill(second, 0) != 0, "the restarted ingestor is still running after tickwire up stopped")
        #expect(up.stdout.contains("ingestor  | ") || up.stdout.contains("ingestor | "), "output is prefixed with the service name")
    }
}
