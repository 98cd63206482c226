import Contracts
import Foundation
import OperatorKit
import ServiceKit
import Testing

@Suite("bus-tap formatting and tables")
struct TapFormattingTests {
    func delivery(topic: String, producer: String, eventTime: Int64, publishTime: Int64) throws -> Delivery {
        var envelope = Envelope()
        envelope.schemaVersion = Codec.schemaVersion
        envelope.producer = Producer(service: producer, instance: "1", startedAt: 0)
        envelope.sequence = 1
        envelope.eventTimeNs = eventTime
        envelope.publishTimeNs = publishTime
        var trade = Trade()
        trade.symbol = "AAPL"
        trade.price = 1
        envelope.payload = .trade(trade)
        let parts = topic.split(separator: ".", maxSplits: 1).map(String.init)
        return Delivery(topic: try Topic(kind: parts[0], key: parts[1]), envelope: envelope)
    }

    @Test("times at the ends of Int64 are formatted, not trapped on")
    func isoTimeExtremes() {
        #expect(TapFormatter.isoTime(.max) == "2262-04-11T23:47:16.854775807Z")
        #expect(TapFormatter.isoTime(.min) == "1677-09-21T00:12:43.145224192Z")
        #expect(TapFormatter.isoTime(-1) == "1969-12-31T23:59:59.999999999Z")
        #expect(TapFormatter.isoTime(0) == "1970-01-01T00:00:00.000000000Z")
    }

    @Test("a publish time of Int64.min or Int64.max gives a finite latency")
    func latencyExtremes() throws {
        for (publish, received) in [(Int64.min, Int64.max), (Int64.max, Int64.min), (Int64.min, 0)] {
            let line = TapFormatter.jsonLine(
                try delivery(topic: "tick.AAPL", producer: "x", eventTime: publish, publishTime: publish),
                receivedAt: received)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((object["latency_us"] as? NSNumber)?.doubleValue.isFinite == true, "\(line)")
            #expect((object["publish_time_ns"] as? NSNumber)?.int64Value == publish)
        }
    }

    @Test("the table keeps at most maxRows topics, evicting the least recently seen, with clipped cells")
    func boundedTable() throws {
        var statistics = TapStatistics(maxRows: 100)
        let huge = String(repeating: "p", count: 1_000_000)
        for index in 0..<5_000 {
            statistics.record(try delivery(topic: "tick.R\(index)", producer: huge, eventTime: 0, publishTime: 0))
            // One topic seen all along stays.
            statistics.record(try delivery(topic: "tick.KEEP", producer: "ingestor", eventTime: 0, publishTime: 0))
        }
        #expect(statistics.rowCount == 100)
        #expect(statistics.evictedRows == 4_901)
        #expect(statistics.total == 10_000)
        #expect(statistics.row("tick.KEEP")?.count == 5_000)
        #expect(statistics.row("tick.R0") == nil)
        #expect(statistics.row("tick.R4999")?.lastProducer.count == 64)
    }
}

@Suite("ExecutableSearch")
struct ExecutableSearchTests {
    @Test("next to the running executable, then argv[0], then PATH; --bin-dir alone; duplicates once")
    func order() {
        let search = ExecutableSearch.forServices(
            binDirectory: nil, executable: "/opt/tickwire/bin/tickwire", argv0: "tickwire",
            path: "/usr/local/bin::/opt/tickwire/bin:/usr/bin")
        #expect(search.places.map(\.directory) == ["/opt/tickwire/bin", "/usr/local/bin", "/usr/bin"])
        let explicit = ExecutableSearch.forServices(
            binDirectory: "/srv/bin", executable: "/opt/tickwire/bin/tickwire", argv0: "./tickwire", path: "/usr/bin")
        #expect(explicit.places.map(\.directory) == ["/srv/bin"])
        let relative = ExecutableSearch.forServices(
            binDirectory: nil, executable: nil, argv0: "/home/me/bin/tickwire", path: nil)
        #expect(relative.places.first?.directory == "/home/me/bin")
    }

    @Test("the first place with the executable wins; a missing one lists every place")
    func locate() throws {
        let search = ExecutableSearch(places: [
            .init(directory: "/a", reason: "next to tickwire"), .init(directory: "/b", reason: "PATH"),
            .init(directory: "/c", reason: "PATH"),
        ])
        let found = try search.locate("bus-proxy") { $0 == "/b/bus-proxy" || $0 == "/c/bus-proxy" }
        #expect(found == "/b/bus-proxy")
        do {
            _ = try search.locate("ingestor") { _ in false }
            Issue.record("found a missing executable")
        } catch {
            #expect(
                error.description.hasPrefix(
                    "ingestor not found; looked in /a (next to tickwire), /b (PATH), /c (PATH)."), "\(error)")
        }
    }
}

@Suite("tickwire up's process plan")
struct StackPlanTests {
    /// A directory holding empty executables with the given names.
    func binDirectory(_ names: [String]) throws -> String {
        let directory = NSTemporaryDirectory() + "tickwire-plan-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in names {
            let path = directory + "/" + name
            #expect(FileManager.default.createFile(atPath: path, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o755]))
        }
        return directory
    }

    @Test("each service gets its own metrics port: base plus its offset, extra copies from base + 10; none when off, for tools, or when named")
    func metricsPorts() throws {
        let directory = try binDirectory(["bus-proxy", "ingestor", "processor", "signal-generator", "bus-tap"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let search = ExecutableSearch(places: [.init(directory: directory, reason: "test")])
        var config = TickwireConfig()
        config.metrics.port = 9500
        config.stack.services = [
            .init(name: "ingestor"), .init(name: "processor", args: ["--instance", "p1"]),
            .init(name: "processor", args: ["--instance", "p2"]), .init(name: "processor", args: ["--instance", "p3"]),
            .init(name: "signal-generator", args: ["--metrics-port", "9999"]), .init(name: "bus-tap", passConfig: false),
        ]
        func port(_ process: SupervisedProcess) -> String? {
            process.arguments.firstIndex(of: "--metrics-port").map { process.arguments[$0 + 1] }
        }
        let plan = try StackPlan.processes(config: config, configFile: "c.json", search: search)
        #expect(plan.map(\.name) == ["bus-proxy", "ingestor", "processor/p1", "processor/p2", "processor/p3", "signal-generator", "bus-tap"])
        #expect(plan.map(port) == ["9500", "9501", "9502", "9510", "9511", "9999", nil])
        #expect(plan[5].arguments.filter { $0 == "--metrics-port" }.count == 1)

        config.metrics.port = 0
        let off = try StackPlan.processes(config: config, configFile: nil, search: search)
        #expect(off.map(port) == [nil, nil, nil, nil, nil, "9999", nil])
    }
}
