import Foundation
import TestSupport
import Testing

/// `make fuzz`'s bus flood, small: bus-fuzz sends 20,000 hostile frames through a real
/// bus-proxy into a simulated ingestor, a processor, a signal generator (a one-line model) and
/// a notifier, then checks that every one stayed up, grew little, and refused exactly the
/// frames that reached it (issue 11). The bus is unsecured (loopback): on a secured one
/// bus-proxy refuses the forged producers before any service could see them.
@Suite("bus-fuzz end to end", .serialized, .timeLimit(.minutes(3)))
struct BusFloodTests {
    @Test("20,000 hostile frames: every service stays up and refuses exactly what reached it")
    func flood() async throws {
        let schema = try await SignalsHostileInputTests.schema()
        let directory = try TemporaryDirectory()
        let models = directory.file("models")
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        try SignalsHostileInputTests.bullishModel(schema)
            .write(
                toFile: (models as NSString).appendingPathComponent("bullish.json"), atomically: true, encoding: .utf8)
        let config = try writeConfig(
            #"""
            {
                "provider": "simulated",
                "tickers": ["AAPL", "MSFT"],
                "processors": [{ "name": "p1", "tickers": ["AAPL", "MSFT"] }],
                "processor": { "bar_interval_seconds": 5 },
                "models": { "directory": "\#(models)", "state_file": "\#(directory.file("state.json"))", "horizon": 3 },
                "notifications": { "enabled": true, "data_directory": "\#(directory.file("data"))" },
                "heartbeat": { "interval_seconds": 0.5 },
                "stack": { "services": [
                    { "name": "ingestor" }, { "name": "processor", "args": ["--instance", "p1"] },
                    { "name": "signal-generator" }, { "name": "notifier" }
                ] }
            }
            """#)
        let bus = try TestBus()
        var environment = bus.environment
        environment["TICKWIRE_BUS_SECURITY"] = "none"
        let proxy = try await startProxy(bus, environment: environment)
        var services: [RunningProcess] = []
        for (name, arguments) in [
            ("ingestor", [String]()), ("processor", ["--instance", "p1"]), ("signal-generator", []), ("notifier", []),
        ] {
            services.append(
                try RunningProcess(name, arguments: ["--config", config] + arguments, environment: environment))
        }
        defer { for process in services + [proxy] { process.signal(SIGKILL) } }

        let fuzz = try RunningProcess(
            "bus-fuzz",
            arguments: [
                "--config", config, "--frames", "20000", "--rate", "5000", "--seed", "11", "--oversize", "2",
                "--max-rss-growth-mib", "64", "--startup-timeout", "60", "--settle-timeout", "20", "--report-json",
            ],
            environment: environment)
        let status = await fuzz.wait(seconds: 150)
        if status == nil { fuzz.signal(SIGKILL) }
        #expect(status == 0, "bus-fuzz: \(String(describing: status))\n\(fuzz.stderr)")

        let report = try #require(jsonLines(fuzz.stdout).last, "no report: \(fuzz.stdout)\n\(fuzz.stderr)")
        #expect(report["passed"] as? Bool == true, "\(String(describing: report["failures"]))\n\(fuzz.stderr)")
        #expect(report["sent"] as? Int == 20_000)
        #expect(report["oversize_sent"] as? Int == 2)
        let rows = report["rows"] as? [[String: Any]] ?? []
        #expect(
            rows.compactMap { $0["process"] as? String }.sorted()
                == ["bus-fuzz", "bus-proxy", "ingestor", "notifier", "processor p1", "signal-generator"])
        for row in rows {
            let name = row["process"] as? String ?? "?"
            #expect(row["up"] as? Bool == true && row["restarts"] as? Int == 0, "\(name): \(row)")
            #expect(row["refused"] as? Int == row["owed"] as? Int, "\(name): \(row)")
            if name != "bus-proxy" { #expect((row["owed"] as? Int ?? 0) > 0, "\(name) received no fuzz frame: \(row)") }
        }
        for process in services + [proxy] {
            #expect(process.process.isRunning, "\(process.name) exited: \(process.stderr)")
        }
        for process in services { await process.stop() }
        await proxy.stop()
    }
}
