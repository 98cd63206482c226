import ArgumentParser
import Bus
import Contracts
import Foundation
import ServiceKit
import Synchronization

/// The whole pipeline's capacity: the simulated ingestor at a given rate of trades over many
/// tickers, through bus-proxy (CURVE, as shipped), elastic processors and, when models are
/// given, the signal generator. Each rate runs for `--seconds`; it is sustained when nothing
/// was lost: no sequence gap at any processor, nothing dropped by the ingestor's publisher.
/// The rate reported is what the ingestor counted it published (`provider.trades`): the
/// simulator's intraday activity makes it differ from the nominal rate asked for (0.6–1.8×,
/// by the simulated time of day). Nominal rates are tried in order; the highest published
/// rate sustained is the result, printed beside raw libzmq measured in the same run.
struct PipelineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Find the highest rate of trades the whole pipeline sustains with zero loss."
    )

    @Option(help: "Directory of the release executables (bus-proxy, ingestor, processor, signal-generator).")
    var binDir: String

    @Option(help: "Tickers the simulated provider trades.")
    var tickers = 1_000

    @Option(help: "Elastic processors sharing them.")
    var processors = 2

    @Option(help: "Trade rates to try, in trades per second, ascending (comma-separated).")
    var rates = "25000,50000,75000,100000"

    @Option(help: "Seconds each rate must hold.")
    var seconds = 60.0

    @Option(help: "A model directory for the signal generator (tick→signal latency); none: no signals.")
    var models: String?

    @Option(help: "Bar length in seconds (the models' own, e.g. 5 for models/demo).")
    var barSeconds = 5

    func validate() throws {
        guard (1...100_000).contains(tickers) else { throw ValidationError("--tickers must be from 1 to 100000") }
        guard (1...64).contains(processors) else { throw ValidationError("--processors must be from 1 to 64") }
        guard seconds.isFinite, (5...3_600).contains(seconds) else { throw ValidationError("--seconds must be from 5 to 3600") }
        guard (1...3_600).contains(barSeconds) else { throw ValidationError("--bar-seconds must be from 1 to 3600") }
        guard !parsedRates.isEmpty else { throw ValidationError("--rates: give positive whole numbers, e.g. 25000,50000") }
    }

    var parsedRates: [Int] {
        rates.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 && $0 <= 10_000_000 }
    }

    mutating func run() async throws {
        let sample = BenchMessages.sampleTrade()
        let payloadSize = try Codec.encode(BenchMessages.envelope(sample, sequence: 1)).count
        let topicSize = try Topic.tick("AAPL").wire.count
        let raw = try await RawBaseline.onOwnThread(messages: 300_000, topicSize: topicSize, payloadSize: payloadSize)
        print(
            "tickwire-bench pipeline: \(tickers) tickers, \(processors) elastic processor(s)\(models == nil ? "" : ", signal generator"), "
                + "\(Int(seconds)) s per rate; raw libzmq PUB→SUB in this run: \(Int(raw)) msg/s")
        var best: RateResult?
        for rate in parsedRates {
            let result = try await runRate(rate)
            print(result.line)
            guard result.sustained else { break }
            best = result
        }
        print("")
        guard let best else {
            print("no rate was sustained with zero loss; the lowest tried was \(parsedRates.first ?? 0) trades/s")
            return
        }
        print(
            String(
                format: "highest sustained: %.0f trades/s published over %d tickers for %.0f s with zero loss (%.2f × raw libzmq's %.0f msg/s, one hop)",
                best.achieved, tickers, seconds, best.achieved / raw, raw))
        if let p50 = best.signalP50, let p99 = best.signalP99 {
            print(String(format: "bar close → signal: p50 %.1f ms, p99 %.1f ms (%d signals)", p50, p99, best.signals))
        }
        if let perTicker = best.bytesPerTicker {
            print(String(format: "processor memory per ticker: %.1f KiB (resident growth over the idle processors)", perTicker / 1024))
        }
    }

    /// What one rate did.
    struct RateResult {
        var rate: Int
        var published: UInt64
        var elapsed: Double
        var gaps: UInt64
        var dropped: UInt64
        var signals: Int
        var signalP50: Double?
        var signalP99: Double?
        var bytesPerTicker: Double?

        var achieved: Double { Double(published) / elapsed }
        var sustained: Bool { gaps == 0 && dropped == 0 && published > 0 }

        var line: String {
            String(
                format: "nominal %8d trades/s: published %8.0f/s, lost %llu (sequence gaps) + %llu (dropped at the ingestor) → %@",
                rate, achieved, gaps, dropped, sustained ? "sustained" : "NOT sustained")
        }
    }

    /// The newest heartbeat of every service instance, and signal latencies, from the bus.
    final class Observer: Sendable {
        let heartbeats = Mutex<[String: ServiceStatus]>([:])
        let signalLatencies = Mutex<[Double]>([])

        func take(_ delivery: Delivery) {
            switch delivery.payload {
            case .status(let status):
                heartbeats.withLock { $0["\(status.service)/\(status.instance)"] = status }
            case .signal(let signal):
                let milliseconds = Double(delivery.publishTimeNs - signal.barEndTimeNs) / 1e6
                guard milliseconds.isFinite, milliseconds >= 0 else { return }
                signalLatencies.withLock { if $0.count < 1_000_000 { $0.append(milliseconds) } }
            default:
                break
            }
        }

        func processors() -> [ServiceStatus] { heartbeats.withLock { Array($0.values.filter { $0.service == "processor" }) } }
        func ingestor() -> ServiceStatus? { heartbeats.withLock { $0.values.first { $0.service == "ingestor" } } }
    }

    func runRate(_ rate: Int) async throws -> RateResult {
        let scratch = NSTemporaryDirectory() + "tickwire-pipeline-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let keys = KeyStore(directory: scratch + "/keys")
        _ = try keys.generateMissing()
        let ports = (try TickwirePath.freePort(), try TickwirePath.freePort(), try TickwirePath.freePort())
        let symbols = (0..<tickers).map { "T\($0)" }
        var config: [String: Any] = [
            "provider": "simulated",
            "tickers": symbols,
            "heartbeat": ["interval_seconds": 1],
            "simulator": [
                "trades_per_second": max(0.001, Double(rate) / Double(tickers)), "quotes_per_trade": 0,
                // Enough history for the features (50 bars) at once: the processors warm up
                // from the ingestor's history, so signals come within the first window.
                "backfill_bars": 60, "seed": 7,
            ],
            "processor": ["bar_interval_seconds": barSeconds, "late_tolerance_seconds": 0.5, "history_timeout_seconds": 2],
            "journal": ["endpoint": ""],
            "metrics": ["port": 0],
            "logging": ["level": "warning", "directory": scratch + "/logs"],
        ]
        if let models {
            config["models"] = ["directory": models, "state_file": scratch + "/ensemble_state.json"]
            config["signals"] = ["cooldown_seconds": 0]
            config["update_interval"] = barSeconds
        }
        let configPath = scratch + "/config.json"
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        var environment = ProcessInfo.processInfo.environment
        environment["TICKWIRE_KEYS_DIR"] = keys.directory
        environment["TICKWIRE_PUBLISH_ENDPOINT"] = "tcp://127.0.0.1:\(ports.0)"
        environment["TICKWIRE_SUBSCRIBE_ENDPOINT"] = "tcp://127.0.0.1:\(ports.1)"
        environment["TICKWIRE_PROXY_XSUB_BIND"] = "tcp://127.0.0.1:\(ports.0)"
        environment["TICKWIRE_PROXY_XPUB_BIND"] = "tcp://127.0.0.1:\(ports.1)"
        environment["TICKWIRE_HISTORY_BIND"] = "tcp://127.0.0.1:\(ports.2)"
        environment["TICKWIRE_HISTORY_ENDPOINTS"] = "tcp://127.0.0.1:\(ports.2)"
        environment["TICKWIRE_SESSION_DEFAULT"] = "open"
        environment["TICKWIRE_METRICS_PORT"] = "0"
        for key in ["TICKWIRE_CONFIG", "TICKWIRE_BUS_SECURITY", "TICKWIRE_JOURNAL_ENDPOINT", "TICKWIRE_LOG_DIR"] {
            environment[key] = nil
        }

        var children: [Process] = []
        func start(_ name: String, _ arguments: [String]) throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: (binDir as NSString).appendingPathComponent(name))
            process.arguments = arguments
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try process.run()
            children.append(process)
            return process
        }
        defer {
            for child in children where child.isRunning { kill(child.processIdentifier, SIGKILL) }
        }

        _ = try start("bus-proxy", ["--config", configPath])
        try await Task.sleep(for: .milliseconds(500))
        let context = try Context()
        var configuration = Subscription.Configuration()
        configuration.socket = try TickwirePath.client(SocketOptions(), keys: keys, as: "bus-tap")
        let observer = Observer()
        let subscription = try await MessageSubscription(
            context: context, endpoint: "tcp://127.0.0.1:\(ports.1)",
            patterns: [try TopicPattern("status."), try TopicPattern("signal.")], configuration: configuration)
        let reader = Task {
            do { for try await delivery in subscription { observer.take(delivery) } } catch {}
        }
        defer { reader.cancel() }

        for index in 0..<processors { _ = try start("processor", ["--config", configPath, "--elastic", "--instance", "b\(index)"]) }
        if models != nil { _ = try start("signal-generator", ["--config", configPath]) }
        // The processors agree on their shares (1.5 heartbeats), then idle memory is measured.
        let agreed = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < agreed {
            try await Task.sleep(for: .milliseconds(250))
            let owned = observer.processors().reduce(0) { $0 + Int($1.counters["shard.owned"] ?? 0) }
            if owned == tickers && observer.processors().count == processors { break }
        }
        let idleBytes = observer.processors().reduce(0) { $0 + Double($1.counters["process.rss_bytes"] ?? 0) }
        let ingestor = try start("ingestor", ["--config", configPath])

        // Warm up 5 s, then count over the window from the heartbeats' own counters.
        try await Task.sleep(for: .seconds(5))
        func totals() -> (published: UInt64, gaps: UInt64, dropped: UInt64) {
            let ingest = observer.ingestor()
            let published = ingest?.counters["provider.trades"] ?? 0
            let dropped = (ingest?.counters["publish.dropped"] ?? 0) &+ (ingest?.counters["bus.dropped_hwm"] ?? 0)
            let gaps = observer.processors().reduce(UInt64(0)) { $0 &+ ($1.counters["gap.messages"] ?? 0) }
            return (published, gaps, dropped)
        }
        let before = totals()
        let started = ContinuousClock.now
        observer.signalLatencies.withLock { $0.removeAll() }
        try await Task.sleep(for: .seconds(seconds))
        let elapsed = (ContinuousClock.now - started).inSeconds
        // Two more heartbeats, so every processor's count covers the window.
        try await Task.sleep(for: .seconds(2.2))
        let after = totals()
        let peakBytes = observer.processors().reduce(0) { $0 + Double($1.counters["process.rss_bytes"] ?? 0) }
        kill(ingestor.processIdentifier, SIGTERM)
        let latencies = observer.signalLatencies.withLock { $0 }
        await subscription.close()
        return RateResult(
            rate: rate, published: after.published &- before.published, elapsed: elapsed,
            gaps: after.gaps &- before.gaps, dropped: after.dropped &- before.dropped, signals: latencies.count,
            signalP50: latencies.isEmpty ? nil : percentile(latencies, 0.5),
            signalP99: latencies.isEmpty ? nil : percentile(latencies, 0.99),
            bytesPerTicker: peakBytes > idleBytes ? (peakBytes - idleBytes) / Double(tickers) : nil)
    }
}
