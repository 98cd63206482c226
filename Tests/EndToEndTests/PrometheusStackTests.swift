import Foundation
import TestSupport
import Testing

/// Debian's Prometheus server (`make deps` installs the `prometheus` package).
private let prometheusServer = "/usr/bin/prometheus"

/// A real Prometheus (Debian's `prometheus`) scrapes a small real stack on loopback: every
/// query of the Grafana dashboard (deploy/grafana/tickwire.json) returns data, and the alert
/// rules (deploy/prometheus/rules.yml) load and evaluate.
@Suite(
    "Prometheus over a real stack", .serialized, .timeLimit(.minutes(3)),
    .enabled(
        if: FileManager.default.isExecutableFile(atPath: prometheusServer),
        "no /usr/bin/prometheus: run `make deps` (as root: apt-get install -y prometheus)"))
struct PrometheusStackTests {
    /// One dashboard target's answer (Tests/python/prometheus_check.py panels).
    struct Answer {
        var panel: String
        var query: String
        var series: Int
        var finite: Int
        var values: [Double]
        var error: String?

        init(_ line: [String: Any]) {
            panel = line["panel"] as? String ?? "?"
            query = line["query"] as? String ?? line["expr"] as? String ?? "(no expr)"
            series = line["series"] as? Int ?? 0
            finite = line["finite"] as? Int ?? 0
            values = (line["values"] as? [Any] ?? []).compactMap { ($0 as? String).flatMap(Double.init) }
            error = line["error"] as? String
        }

        var hasData: Bool { error == nil && finite > 0 }
    }

    /// Runs Tests/python/prometheus_check.py `mode` against Prometheus at `url`; its JSON lines.
    func check(_ mode: String, _ url: String, _ file: String) async throws -> [[String: Any]] {
        let script = Paths.repository.appendingPathComponent("Tests/python/prometheus_check.py").path
        let checker = try RunningProcess(
            "prometheus_check.py", arguments: [script, mode, url, file], environment: ProcessInfo.processInfo.environment,
            executable: Paths.python)
        guard await checker.wait(seconds: 60) == 0 else {
            checker.signal(SIGKILL)
            throw HarnessError("prometheus_check.py \(mode) failed: \(checker.stderr.suffix(2_000))")
        }
        return jsonLines(checker.stdout)
    }

    @Test("every Grafana panel query returns data and every alert rule loads and evaluates, over bus-proxy, journal, a simulated ingestor, a processor, the signal generator and the notifier")
    func panelsAndRules() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Paths.python), "no Python test peers at \(Paths.python): run 'make deps'")
        let dashboard = Paths.repository.appendingPathComponent("deploy/grafana/tickwire.json").path
        let rules = Paths.repository.appendingPathComponent("deploy/prometheus/rules.yml").path
        let directory = try TemporaryDirectory("tickwire-prometheus")
        let models = try await SignalTests().trainQuickModels(directory)

        // A low signal threshold: BUY and SELL signals, which the notifier delivers (console,
        // uncapped), so the signal → delivered histogram has data all along. Six tickers with 1 s bars: the
        // prediction drift index needs 100 decisions before it has a value.
        let bus = try TestBus()
        let config = try directory.write(
            "config.json",
            #"""
            {
                "provider": "simulated",
                "tickers": ["AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "TSLA"],
                "signal_threshold": 0.2,
                "ensemble_method": "dynamic_ensemble",
                "simulator": { "seed": 3, "trades_per_second": 10, "backfill_bars": 150 },
                "processor": { "bar_interval_seconds": 1, "late_tolerance_seconds": 0.1 },
                "models": { "directory": "\#(models)", "state_file": "\#(directory.file("state.json"))", "horizon": 3 },
                "signals": { "cooldown_seconds": 0.5 },
                "notifications": { "data_directory": "\#(directory.file("notifier"))", "max_per_minute": 10000 },
                "heartbeat": { "interval_seconds": 0.5 }
            }
            """#)
        var started: [RunningProcess] = []
        defer { for process in started { process.signal(SIGKILL) } }
        var targets: [String] = []
        func start(_ name: String) throws -> RunningProcess {
            let port = try TestBus.freePort()
            targets.append("127.0.0.1:\(port)")
            var arguments = ["--metrics-port", String(port)]
            if name != "bus-proxy" { arguments = ["--config", config] + arguments }
            let process = try RunningProcess(name, arguments: arguments, environment: bus.environment)
            started.append(process)
            return process
        }
        let proxy = try start("bus-proxy")
        #expect(await proxy.waitForOutput(seconds: 10) { $0.contains("forwarding") }, "bus-proxy did not start: \(proxy.stderr)")
        for name in ["journal", "notifier", "signal-generator", "processor"] { _ = try start(name) }
        try await Task.sleep(for: .milliseconds(500))
        _ = try start("ingestor")

        // Prometheus: every service scraped each second, the repository's rules evaluated each second.
        let quoted = targets.map { "\"\($0)\"" }.joined(separator: ", ")
        let prometheusConfig = try directory.write(
            "prometheus.yml",
            """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            rule_files:
              - "\(rules)"
            scrape_configs:
              - job_name: tickwire
                static_configs:
                  - targets: [\(quoted)]
            """)
        let webPort = try TestBus.freePort()
        let url = "http://127.0.0.1:\(webPort)"
        let server = try RunningProcess(
            "prometheus",
            arguments: [
                "--config.file=\(prometheusConfig)", "--storage.tsdb.path=\(directory.file("tsdb"))",
                "--web.listen-address=127.0.0.1:\(webPort)", "--log.level=warn",
            ],
            environment: ProcessInfo.processInfo.environment, executable: prometheusServer)
        started.append(server)

        // Until every panel query has data and every rule has been evaluated, or 60 s.
        let deadline = ContinuousClock.now + .seconds(60)
        var answers: [Answer] = []
        var loaded: [[String: Any]] = []
        var expected = -1
        for _ in 0..<60 {
            try await Task.sleep(for: .seconds(2))
            #expect(server.process.isRunning, "prometheus stopped: \(server.stderr.suffix(3_000))")
            guard server.process.isRunning else { break }
            answers = try await check("panels", url, dashboard).map(Answer.init)
            let ruleLines = try await check("rules", url, rules)
            loaded = ruleLines.filter { $0["name"] != nil }
            expected = ruleLines.compactMap { $0["expected"] as? Int }.first ?? -1
            let rulesReady = loaded.count == expected && loaded.allSatisfy { $0["health"] as? String == "ok" }
            if !answers.isEmpty && answers.allSatisfy(\.hasData) && rulesReady { break }
            if ContinuousClock.now >= deadline { break }
        }

        // The dashboard's queries.
        #expect(answers.count >= 30, "the dashboard has fewer panel queries than expected: \(answers.count)")
        let empty = answers.filter { !$0.hasData }
        #expect(
            empty.count == 0,
            "panel queries without data:\n\(empty.map { "  \($0.panel): \($0.error ?? "no data") — \($0.query)" }.joined(separator: "\n"))")
        for answer in answers where answer.panel == "Services up" || answer.panel == "Scrape targets up" {
            #expect(answer.values == Array(repeating: 1, count: targets.count), "\(answer.panel): \(answer.values) for \(targets)")
        }

        // The alert rules: loaded from the repository's file, each evaluated without error.
        #expect(expected >= 10, "rules counted in \(rules): \(expected)")
        #expect(loaded.count == expected, "Prometheus loaded \(loaded.count) rules of \(expected): \(loaded)")
        for rule in loaded {
            #expect(rule["health"] as? String == "ok", "rule \(rule["name"] ?? "?"): \(rule)")
        }
        let promtool = try RunningProcess(
            "promtool", arguments: ["check", "rules", rules], environment: ProcessInfo.processInfo.environment,
            executable: "/usr/bin/promtool")
        #expect(await promtool.wait(seconds: 30) == 0, "promtool check rules: \(promtool.stdout)\(promtool.stderr)")

        #expect(await server.stop(grace: 10) == 0, "prometheus: \(server.stderr.suffix(2_000))")
        for process in started.dropLast().reversed() {
            #expect(await process.stop(grace: 10) == 0, "\(process.name): \(process.stderr.suffix(2_000))")
        }
    }
}
