import Bus
import Contracts
import Foundation
import TestSupport
import Testing

/// `tickwire up` found through PATH, and bus-tap fed extreme times and floods of topics, with
/// the real executables over a real bus.
@Suite("Operator tools", .serialized, .timeLimit(.minutes(3)))
struct OperatorToolsTests {
    /// A directory `bin` inside `directory` holding `names` as symbolic links to the built executables.
    func linkDirectory(_ directory: TemporaryDirectory, _ bin: String, _ names: [String]) throws -> String {
        let path = directory.file(bin)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for name in names {
            let link = (path as NSString).appendingPathComponent(name)
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: try Paths.executable(name))
        }
        return path
    }

    /// A directory holding a real `tickwire` file (a hard link, else a copy) and nothing else, so
    /// that `/proc/self/exe` of a `tickwire` started from it points there.
    func tickwireAlone(_ directory: TemporaryDirectory) throws -> String {
        let path = directory.file("tickwire-only")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let target = (path as NSString).appendingPathComponent("tickwire")
        let built = try Paths.executable("tickwire")
        do {
            try FileManager.default.linkItem(atPath: built, toPath: target)
        } catch {
            try FileManager.default.copyItem(atPath: built, toPath: target)
        }
        return path
    }

    /// Runs `tickwire up` as a plain `tickwire` looked up in `path` (argv[0] = "tickwire").
    func upFromPath(_ path: String, config: String, bus: TestBus) throws -> RunningProcess {
        var environment = bus.environment
        environment["PATH"] = path
        return try RunningProcess(
            "tickwire", arguments: ["tickwire", "up", "--config", config], environment: environment,
            executable: "/usr/bin/env")
    }

    @Test("`tickwire up` as a plain `tickwire` on PATH (a directory of symlinks) starts the stack")
    func upThroughSymlinksOnPath() async throws {
        let bus = try TestBus()
        let directory = try TemporaryDirectory("tickwire-up-path")
        let bin = try linkDirectory(directory, "bin", ["tickwire", "bus-proxy"])
        let config = try directory.write("stack.json", #"{"stack": {"services": []}}"#)
        let up = try upFromPath(bin + ":/usr/bin:/bin", config: config, bus: bus)
        #expect(
            await up.waitForOutput(seconds: 20) { $0.contains("started bus-proxy (pid") && $0.contains("forwarding") },
            "tickwire up: \(up.stderr)")
        let status = await up.stop(grace: 15)
        #expect(status == 0, "tickwire up: \(up.stderr)")
    }

    @Test("`tickwire up` finds services in a later PATH entry when none are next to it")
    func upSearchesPath() async throws {
        let bus = try TestBus()
        let directory = try TemporaryDirectory("tickwire-up-path")
        let alone = try tickwireAlone(directory)
        let services = try linkDirectory(directory, "services", ["bus-proxy"])
        let config = try directory.write("stack.json", #"{"stack": {"services": []}}"#)
        let up = try upFromPath("\(alone):\(services):/usr/bin:/bin", config: config, bus: bus)
        #expect(
            await up.waitForOutput(seconds: 20) { $0.contains("started bus-proxy (pid") && $0.contains("forwarding") },
            "tickwire up: \(up.stderr)")
        let status = await up.stop(grace: 15)
        #expect(status == 0, "tickwire up: \(up.stderr)")
    }

    @Test("a service found nowhere: exit 1 with every place looked in")
    func upNotFound() async throws {
        let bus = try TestBus()
        let directory = try TemporaryDirectory("tickwire-up-path")
        let alone = try tickwireAlone(directory)
        let config = try directory.write("stack.json", #"{"stack": {"services": []}}"#)
        let up = try upFromPath("\(alone):/usr/bin:/bin", config: config, bus: bus)
        let status = await up.wait(seconds: 20)
        #expect(status == 1, "tickwire up: \(up.stderr)")
        #expect(up.stderr.contains("bus-proxy not found; looked in \(alone) (next to tickwire)"), "\(up.stderr)")
        #expect(up.stderr.contains("/usr/bin (PATH), /bin (PATH)"), "\(up.stderr)")
    }

    @Test("a stack setting out of range is a config error naming it (exit 78), not a trap")
    func upBadStackSetting() async throws {
        let bus = try TestBus()
        let directory = try TemporaryDirectory("tickwire-up-config")
        for (json, path) in [
            (#"{"stack": {"stop_timeout_seconds": 1e300, "services": []}}"#, "stack.stop_timeout_seconds"),
            (#"{"stack": {"services": [{"name": "../../bin/sh"}]}}"#, "stack.services[0].name"),
        ] {
            let config = try directory.write("stack.json", json)
            let up = try RunningProcess(
                "tickwire", arguments: ["up", "--config", config, "--bin-dir", Paths.binaries.path],
                environment: bus.environment)
            let status = await up.wait(seconds: 20)
            if status == nil { await up.stop() }
            #expect(up.process.terminationReason == .exit)
            #expect(status == 78, "\(json): \(up.stderr)")
            #expect(up.stderr.contains("'\(path)'"), "\(json): \(up.stderr)")
        }
    }

    /// One trade frame on `topic` with the given identity and times.
    func tradeFrame(
        topic: String, producer: Producer, sequence: UInt64, eventTime: Int64, publishTime: Int64
    ) throws -> [[UInt8]] {
        let parts = topic.split(separator: ".", maxSplits: 1).map(String.init)
        let wire = try Topic(kind: parts[0], key: parts[1]).wire
        var trade = Trade()
        trade.symbol = parts[1]
        trade.price = 100
        trade.size = 1
        let bytes = try Codec.encode(
            producer: producer, sequence: sequence, eventTimeNs: eventTime, publishTimeNs: publishTime,
            payload: .trade(trade))
        return [wire, bytes]
    }

    @Test("bus-tap prints frames stamped Int64.min/Int64.max without trapping")
    func tapExtremeTimes() async throws {
        let bus = try TestBus()
        try await withContext { context in
            let publisher = try await RawPublisher(context: context, endpoint: loopbackWildcard, bind: true)
            let tap = try RunningProcess(
                "bus-tap", arguments: ["tick.", "--endpoint", publisher.endpoint, "--duration", "6"],
                environment: bus.environment.merging(["TICKWIRE_BUS_SECURITY": "none"]) { $1 })  // a raw, plain publisher
            let producer = Producer(service: "extreme", instance: "1")
            let times: [(event: Int64, publish: Int64)] = [(.max, .min), (.min, .max), (0, .min), (-1, -1)]
            let deadline = ContinuousClock.now + .seconds(4)
            var sequence: UInt64 = 0
            while ContinuousClock.now < deadline && up(tap) {
                for (index, time) in times.enumerated() {
                    sequence += 1
                    publisher.send(
                        try tradeFrame(
                            topic: "tick.X\(index)", producer: producer, sequence: sequence, eventTime: time.event,
                            publishTime: time.publish))
                }
                sequence += 1
                publisher.send(
                    try tradeFrame(
                        topic: "tick.OK", producer: producer, sequence: sequence, eventTime: WallClock.nanoseconds(),
                        publishTime: WallClock.nanoseconds()))
                try await Task.sleep(for: .milliseconds(100))
            }
            let status = await tap.wait(seconds: 15)
            if status == nil { await tap.stop() }
            await publisher.close()
            #expect(tap.process.terminationReason == .exit, "bus-tap died by a signal: \(tap.stderr)")
            #expect(status == 0, "bus-tap: \(tap.stderr)")
            let lines = jsonLines(tap.stdout)
            #expect(lines.contains { $0["topic"] as? String == "tick.OK" }, "nothing arrived: \(tap.stderr)")
            let extreme = lines.filter { ($0["topic"] as? String)?.hasPrefix("tick.X") == true }
            if extreme.isEmpty {
                // Refused at the boundary as out of range: then they must be counted.
                let summary = tapSummary(tap.stderr)
                let refused = (summary?["rejected"] ?? summary?["skipped"]) as? [String: Int] ?? [:]
                #expect(refused.values.reduce(0, +) > 0, "extreme frames neither printed nor counted: \(tap.stderr)")
            }
            for line in extreme {
                let event = (line["event_time_ns"] as? NSNumber)?.int64Value
                let expected: String? =
                    switch event ?? 1 {
                    case Int64.max: "2262-04-11T23:47:16.854775807Z"
                    case Int64.min: "1677-09-21T00:12:43.145224192Z"
                    case 0: "1970-01-01T00:00:00.000000000Z"
                    case -1: "1969-12-31T23:59:59.999999999Z"
                    default: nil
                    }
                #expect(line["event_time"] as? String == expected, "\(line)")
                #expect((line["latency_us"] as? NSNumber)?.doubleValue.isFinite == true, "\(line)")
            }
        }
    }

    func up(_ process: RunningProcess) -> Bool { process.process.isRunning }

    @Test("bus-tap's table keeps at most --max-rows topics under a flood of topics and producers, and counts evictions")
    func tapTableBounded() async throws {
        let bus = try TestBus()
        try await withContext { context in
            let publisher = try await RawPublisher(context: context, endpoint: loopbackWildcard, bind: true)
            let tap = try RunningProcess(
                "bus-tap",
                arguments: [
                    "tick.", "--endpoint", publisher.endpoint, "--format", "table", "--max-rows", "50",
                    "--refresh", "1000", "--duration", "8",
                ],
                environment: bus.environment.merging(["TICKWIRE_BUS_SECURITY": "none"]) { $1 })  // a raw, plain publisher
            // The subscriber joins within milliseconds: warm up for a second on one topic.
            let warm = Producer(service: "warm", instance: "")
            for sequence in 1...20 {
                let now = WallClock.nanoseconds()
                publisher.send(
                    try tradeFrame(
                        topic: "tick.WARM", producer: warm, sequence: UInt64(sequence), eventTime: now, publishTime: now))
                try await Task.sleep(for: .milliseconds(50))
            }
            var random = SystemRandomNumberGenerator()
            for index in 0..<2_000 {
                let producer = Producer(service: "flood-\(random.next() % 1_000_000)", instance: "\(index)")
                publisher.send(
                    try tradeFrame(
                        topic: "tick.R\(index)", producer: producer, sequence: 1, eventTime: WallClock.nanoseconds(),
                        publishTime: WallClock.nanoseconds()))
            }
            let status = await tap.wait(seconds: 20)
            if status == nil { await tap.stop() }
            await publisher.close()
            #expect(tap.process.terminationReason == .exit, "bus-tap died by a signal: \(tap.stderr)")
            #expect(status == 0, "bus-tap: \(tap.stderr)")
            // The table drawn on exit: a header, one line per topic, a footer.
            let lines = tap.stdout.split(separator: "\n").map(String.init)
            let header = try #require(lines.lastIndex { $0.hasPrefix("TOPIC") }, "no table: \(tap.stdout.suffix(500))")
            let rows = lines[(header + 1)...].filter { $0.hasPrefix("tick.") }
            let footer = try #require(lines.last)
            #expect(rows.count == 50, "\(rows.count) rows")
            #expect(footer.contains("topics 50 (max 50)"), "\(footer)")
            let evicted = footer.range(of: #"evicted \d+"#, options: .regularExpression).flatMap {
                Int(footer[$0].dropFirst("evicted ".count))
            }
            let total = footer.range(of: #"^total \d+"#, options: .regularExpression).flatMap {
                Int(footer[$0].dropFirst("total ".count))
            }
            #expect((total ?? 0) > 1_900, "\(footer)")
            #expect((evicted ?? 0) > 1_850, "\(footer)")
            #expect(rows.contains { $0.hasPrefix("tick.R1999 ") }, "the newest topic is kept")
            #expect(!rows.contains { $0.hasPrefix("tick.WARM ") }, "the least recently seen topic went first")
        }
    }
}
