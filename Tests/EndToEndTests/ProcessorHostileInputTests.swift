import Bus
import Contracts
import Foundation
import TestSupport
import Testing

/// Issue 11, the processor's share, with real processes: hostile trades on the bus, bad bar
/// files and settings. Nothing may kill the processor or make a CLI die of a signal.
@Suite("Processor hostile input", .serialized, .timeLimit(.minutes(3)))
struct ProcessorHostileInputTests {
    static let day: Int64 = 86_400 * 1_000_000_000

    /// Bars seen on the tap: start times (UTC nanoseconds) of `bar.AAPL` built by the processor.
    func barStarts(_ output: String) -> [Int] {
        jsonLines(output).compactMap { line in
            guard line["topic"] as? String == "bar.AAPL", let bar = line["bar"] as? [String: Any] else { return nil }
            return bar["start_time_ns"] as? Int
        }
    }

    /// The newest `status.processor` heartbeat's counter `name`.
    func counter(_ name: String, in output: String) -> Int {
        let statuses = jsonLines(output).compactMap { line -> [String: Any]? in
            guard let status = line["status"] as? [String: Any], status["service"] as? String == "processor" else {
                return nil
            }
            return status["counters"] as? [String: Any]
        }
        return statuses.last.flatMap { Int("\($0[name] ?? 0)") } ?? 0
    }

    @Test("trades stamped Int64.max and 10 days ahead are dropped and counted; the processor lives and closes bars")
    func futureTrades() async throws {
        let bus = try TestBus()
        var environment = bus.environment
        environment["TICKWIRE_HISTORY_ENDPOINTS"] = nil  // no ingestor here: no warm-up
        let config = try writeConfig(#"""
            {
                "tickers": ["AAPL"],
                "heartbeat": { "interval_seconds": 1 },
                "processor": { "bar_interval_seconds": 1, "late_tolerance_seconds": 0.2, "history_endpoints": [] }
            }
            """#)
        let proxy = try await startProxy(bus)
        let tap = try RunningProcess(
            "bus-tap", arguments: ["bar.AAPL", "status.processor", "--duration", "60"], environment: environment)
        let processor = try RunningProcess("processor", arguments: ["--config", config], environment: environment)
        defer {
            tap.signal(SIGKILL)
            processor.signal(SIGKILL)
        }
        let started = await processor.waitForOutput(seconds: 15) { $0.contains("1 s bars from trades") }
        #expect(started, "\(processor.stderr)")

        try await withContext { context in
            let publisher = try await MessagePublisher(
                context: context, endpoint: bus.publishEndpoint,
                producer: Producer(service: "ingestor", instance: "hostile"), options: try bus.options(as: "ingestor"))
            let topic = try Topic.tick("AAPL")
            func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }
            /// Publishes a normal trade every 50 ms for `seconds`.
            func trade(for seconds: Double) async throws {
                let end = ContinuousClock.now + .seconds(seconds)
                while ContinuousClock.now < end {
                    publisher.publish(Fixtures.trade("AAPL"), on: topic, eventTime: now())
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            // Normal trades until bars come out (the subscriptions have reached the proxy).
            var flowing = false
            for _ in 0..<20 where !flowing {
                try await trade(for: 0.5)
                flowing = barStarts(tap.stdout).count >= 1
            }
            #expect(flowing, "no bars before the hostile trades: \(processor.stderr)")

            let hostileAt = now()
            publisher.publish(Fixtures.trade("AAPL"), on: topic, eventTime: Int64.max)
            publisher.publish(Fixtures.trade("AAPL"), on: topic, eventTime: hostileAt + 10 * Self.day)
            publisher.publish(Fixtures.trade("AAPL"), on: topic, eventTime: hostileAt + Self.day / 24)  // an hour
            try await trade(for: 4)
            await publisher.close()

            // Bars keep closing for the normal trades after the hostile ones.
            let later = barStarts(tap.stdout).filter { $0 > Int(hostileAt) }
            #expect(later.count >= 2, "bars after the hostile trades: \(later)\n\(processor.stderr)")
            #expect(later.allSatisfy { $0 < Int(hostileAt + Self.day) }, "no bar from the future: \(later)")
        }
        // The processor's own bound counts rejected.future_time; the bus boundary's time window
        // (Contracts) may refuse the same frames first, as rejected.time_range.
        func rejected(_ output: String) -> Int {
            counter("rejected.future_time", in: output) + counter("rejected.time_range", in: output)
        }
        let counted = await tap.waitForOutput(seconds: 5) { rejected($0) >= 3 }
        #expect(counted, "rejected: \(rejected(tap.stdout))\n\(processor.stderr)")
        #expect(processor.process.isRunning, "the processor died: \(processor.stderr)")
        #expect(await processor.stop() == 0, "\(processor.stderr)")
        await proxy.stop()
    }

    @Test("bad bar files: an error naming file:line and exit 65, never a signal")
    func badFiles() async throws {
        let directory = try TemporaryDirectory()
        let header = "timestamp,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,10\n"
        var files: [(name: String, reason: String)] = [
            ("past.csv", "lies outside 1800-01-01 to 2200-01-01"),
            ("future.csv", "lies outside 1800-01-01 to 2200-01-01"),
            ("nan.csv", "is not a finite number"),
            ("huge-volume.csv", "volume 1e+20 is out of range"),
            ("negative-volume.csv", "is negative"),
            ("binary.csv", "a binary file?"),
        ]
        _ = try directory.write("past.csv", header + "1600-01-03,1,2,0.5,1.5,10\n")
        _ = try directory.write("future.csv", header + "2300-01-03,1,2,0.5,1.5,10\n")
        _ = try directory.write("nan.csv", header + "2024-01-03,1,2,0.5,nan,10\n")
        _ = try directory.write("huge-volume.csv", header + "2024-01-03,1,2,0.5,1.5,1e20\n")
        _ = try directory.write("negative-volume.csv", header + "2024-01-03,1,2,0.5,1.5,-5\n")
        let binary = Data(Array(header.utf8) + [0x00, 0xFF, 0xD8, 0x0A, 0x7F])
        try binary.write(to: URL(fileURLWithPath: directory.file("binary.csv")))
        // A 100 MB line.
        let long = directory.file("long.csv")
        #expect(FileManager.default.createFile(atPath: long, contents: Data(header.utf8)))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: long))
        try handle.seekToEnd()
        let chunk = Data(repeating: UInt8(ascii: "9"), count: 1 << 20)
        for _ in 0..<100 { try handle.write(contentsOf: chunk) }
        try handle.write(contentsOf: Data("\n".utf8))
        try handle.close()
        files.append(("long.csv", "longer than 65536 bytes"))

        for (name, reason) in files {
            for command in ["indicators", "features"] {
                let input = directory.file(name)
                let run = try RunningProcess(
                    "processor", arguments: [command, "--input", input, "--output", directory.file("out.csv")],
                    environment: [:])
                let status = await run.wait(seconds: 60)
                #expect(run.process.terminationReason == .exit, "\(command) \(name) died of a signal: \(run.stderr)")
                #expect(status == 65, "\(command) \(name): \(run.stderr)")
                #expect(run.stderr.contains("\(input):3: "), "\(command) \(name): \(run.stderr)")
                #expect(run.stderr.contains(reason), "\(command) \(name): \(run.stderr)")
            }
        }
    }

    @Test("an unbounded processor setting is a config error naming its path (exit 78)", arguments: [
        (#"{"processor": {"max_event_lead_seconds": 1e300}}"#, "processor.max_event_lead_seconds"),
        (#"{"processor": {"history_timeout_seconds": 1e300}}"#, "processor.history_timeout_seconds"),
        (#"{"window_size": 1000000000}"#, "window_size"),
    ])
    func badSettings(json: String, path: String) async throws {
        let config = try writeConfig(json)
        let bus = try TestBus()
        let processor = try RunningProcess("processor", arguments: ["--config", config], environment: bus.environment)
        #expect(await processor.wait(seconds: 20) == 78, "\(processor.stderr)")
        #expect(processor.stderr.contains("'\(path)'"), "\(processor.stderr)")
    }
}
