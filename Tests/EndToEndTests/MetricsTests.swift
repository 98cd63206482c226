import Foundation
import TestSupport
import Testing

/// Every service's `/metrics`, `/health` and `/ready`, scraped over HTTP from real processes
/// and checked with Prometheus's own `promtool`.
@Suite("Metrics and health endpoints", .serialized, .timeLimit(.minutes(3)))
struct MetricsTests {
    /// An HTTP answer.
    struct Answer {
        var status: Int
        var body: String
    }

    /// GETs `url` with Python's urllib (5 s timeout), in a process so the pool never blocks.
    func get(_ url: String) async throws -> Answer {
        let script = """
            import sys, urllib.request, urllib.error
            try:
                answer = urllib.request.urlopen(sys.argv[1], timeout=5)
                status, body = answer.status, answer.read()
            except urllib.error.HTTPError as error:
                status, body = error.code, error.read()
            except OSError as error:
                status, body = 0, str(error).encode()
            sys.stdout.write(f"{status}\\n")
            sys.stdout.write(body.decode("utf-8", "replace"))
            """
        let fetch = try RunningProcess(
            "python", arguments: ["-c", script, url], environment: ProcessInfo.processInfo.environment, executable: Paths.python)
        guard await fetch.wait(seconds: 20) == 0 else { throw HarnessError("GET \(url) failed: \(fetch.stderr)") }
        let output = fetch.stdout
        let newline = output.firstIndex(of: "\n") ?? output.endIndex
        return Answer(status: Int(output[..<newline]) ?? -1, body: String(output[newline...].dropFirst()))
    }

    /// The value of the first sample of `metric` whose labels contain `label`.
    func sample(_ text: String, _ metric: String, _ label: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(metric + "{") && line.contains(label) {
            if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return value }
        }
        return nil
    }

    /// `promtool check metrics` on `text`: its exit status and output.
    func promtool(_ text: String) async throws -> (status: Int32?, output: String) {
        let file = NSTemporaryDirectory() + "tickwire-metrics-\(UUID().uuidString).txt"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let check = try RunningProcess(
            "promtool", arguments: ["-c", "promtool check metrics < \"$0\"", file], environment: ProcessInfo.processInfo.environment,
            executable: "/bin/sh")
        let status = await check.wait(seconds: 30)
        return (status, check.stdout + check.stderr)
    }

    @Test("bus-proxy, a simulated ingestor and a processor serve metrics promtool accepts, counting what flows, with latency histograms; health and readiness answer; SIGTERM still stops them cleanly")
    func scrapeRunningServices() async throws {
        let bus = try TestBus()
        let config = try writeConfig(#"""
            {"provider": "simulated", "tickers": ["AAPL", "MSFT"],
             "simulator": {"seed": 3, "trades_per_second": 20, "backfill_bars": 5, "follow_session": false},
             "heartbeat": {"interval_seconds": 0.5}}
            """#)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let proxyPort = try TestBus.freePort(), ingestorPort = try TestBus.freePort(), processorPort = try TestBus.freePort()
        let proxy = try RunningProcess("bus-proxy", arguments: ["--metrics-port", String(proxyPort)], environment: bus.environment)
        #expect(await proxy.waitForOutput(seconds: 10) { $0.contains("forwarding") }, "bus-proxy did not start: \(proxy.stderr)")
        let processor = try RunningProcess(
            "processor", arguments: ["--config", config, "--metrics-port", String(processorPort)], environment: bus.environment)
        try await Task.sleep(for: .milliseconds(500))
        let ingestor = try RunningProcess(
            "ingestor", arguments: ["--config", config, "--metrics-port", String(ingestorPort)], environment: bus.environment)

        // The ingestor's count of published messages rises between scrapes.
        let url = "http://127.0.0.1:\(ingestorPort)"
        var first: Double?, later: Double?
        var metrics = Answer(status: -1, body: "")
        for _ in 0..<60 {
            metrics = try await get(url + "/metrics")
            let out = sample(metrics.body, "tickwire_messages_out_total", "service=\"ingestor\"")
            if first == nil, let out, out > 0 {
                first = out
            } else if let base = first, let out, out > base {
                later = out
                break
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(metrics.status == 200, "\(metrics.body.prefix(300)); ingestor: \(ingestor.stderr.suffix(2_000))")
        #expect(first != nil && later != nil, "published count never rose: \(first as Any) → \(later as Any)")
        #expect(sample(metrics.body, "tickwire_up", "service=\"ingestor\"") == 1)
        #expect(metrics.body.contains("# TYPE tickwire_messages_out_total counter"))
        #expect((sample(metrics.body, "tickwire_process_resident_memory_bytes", "ingestor") ?? 0) > 1_000_000)
        #expect((sample(metrics.body, "tickwire_process_open_fds", "ingestor") ?? 0) > 2)

        let checked = try await promtool(metrics.body)
        #expect(checked.status == 0, "promtool check metrics (ingestor): \(checked.output)")

        let health = try await get(url + "/health"), ready = try await get(url + "/ready")
        #expect(health.status == 200 && health.body.contains(#""state":"running""#), "\(health)")
        #expect(ready.status == 200, "\(ready)")
        #expect(try await get(url + "/nothing").status == 404)

        let proxyMetrics = try await get("http://127.0.0.1:\(proxyPort)/metrics")
        #expect(proxyMetrics.status == 200 && sample(proxyMetrics.body, "tickwire_up", "service=\"bus-proxy\"") == 1, "\(proxyMetrics.body.prefix(500))")
        let proxyChecked = try await promtool(proxyMetrics.body)
        #expect(proxyChecked.status == 0, "promtool check metrics (bus-proxy): \(proxyChecked.output)")

        // The processor's latency histograms of the ticks it received: counts, and a mean bus
        // hop and event age that are real spans (positive, under a few seconds on loopback).
        let tickLabel = #"kind="tick""#
        var processed = Answer(status: -1, body: "")
        for _ in 0..<120 {
            processed = try await get("http://127.0.0.1:\(processorPort)/metrics")
            if (sample(processed.body, "tickwire_bus_delay_seconds_count", tickLabel) ?? 0) > 10 { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        for name in ["tickwire_bus_delay_seconds", "tickwire_event_age_seconds", "tickwire_publish_delay_seconds"] {
            let count = sample(processed.body, name + "_count", tickLabel) ?? 0
            let sum = sample(processed.body, name + "_sum", tickLabel) ?? -1
            #expect(count > 0, "\(name): no ticks recorded: \(processed.body.prefix(3_000))")
            #expect(sum >= 0 && sum / max(count, 1) < 5, "\(name): mean \(sum / max(count, 1)) s")
            #expect(processed.body.contains("\(name)_bucket{"), "\(name): no buckets")
        }
        #expect(
            sample(processed.body, "tickwire_bus_delay_seconds_bucket", #"le="+Inf""#) != nil,
            "no +Inf bucket: \(processed.body.prefix(2_000))")
        let processorChecked = try await promtool(processed.body)
        #expect(processorChecked.status == 0, "promtool check metrics (processor): \(processorChecked.output)")
        #expect(await processor.stop(grace: 10) == 0, "processor: \(processor.stderr.suffix(2_000))")

        #expect(await ingestor.stop(grace: 10) == 0, "ingestor: \(ingestor.stderr.suffix(2_000))")
        #expect(await proxy.stop(grace: 10) == 0, "bus-proxy: \(proxy.stderr.suffix(2_000))")
        #expect(!ingestor.stderr.contains("cannot serve /metrics"))
    }

    @Test("a metrics port already taken is reported and the service runs on without it")
    func portTaken() async throws {
        let bus = try TestBus()
        let port = try TestBus.freePort()
        let first = try RunningProcess("bus-proxy", arguments: ["--metrics-port", String(port)], environment: bus.environment)
        #expect(await first.waitForOutput(seconds: 10) { $0.contains("metrics on") }, "\(first.stderr)")

        let other = try TestBus()
        let second = try RunningProcess("bus-proxy", arguments: ["--metrics-port", String(port)], environment: other.environment)
        #expect(await second.waitForOutput(seconds: 10) { $0.contains("cannot serve /metrics") }, "\(second.stderr)")
        #expect(await second.waitForOutput(seconds: 10) { $0.contains("forwarding") }, "\(second.stderr)")
        try await Task.sleep(for: .milliseconds(500))
        #expect(second.process.isRunning, "the second bus-proxy stopped: \(second.stderr)")
        // The port still answers: the first proxy's metrics.
        let answer = try await get("http://127.0.0.1:\(port)/metrics")
        #expect(answer.status == 200 && answer.body.contains("tickwire_up"))

        #expect(await second.stop(grace: 10) == 0, "\(second.stderr.suffix(2_000))")
        #expect(await first.stop(grace: 10) == 0, "\(first.stderr.suffix(2_000))")
    }

    @Test("a bad --metrics-port is refused before anything starts")
    func badPort() async throws {
        let proxy = try RunningProcess("bus-proxy", arguments: ["--metrics-port", "70000"], environment: try TestBus().environment)
        let status = await proxy.wait(seconds: 10)
        #expect(status != nil && status != 0)
        #expect(proxy.stderr.contains("--metrics-port"), "\(proxy.stderr)")
    }
}
