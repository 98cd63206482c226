import ArgumentParser
import BusFuzz
import Foundation
import ServiceKit

/// Floods a running stack with hostile frames and checks that it held.
@main
struct BusFuzzCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bus-fuzz",
        abstract: "Publish hostile frames into a running stack through bus-proxy and check that it held.",
        discussion: """
            Every service named in the config's stack.services (and bus-proxy) must be running. \
            Exits 0 when every process stayed up, its RSS grew less than the bound and it refused \
            exactly the frames that reached it; 1 when a check failed; 2 when the run could not be made.
            """
    )

    @Option(help: "Config of the running stack (its stack.services, tickers and bus settings). Env: TICKWIRE_CONFIG.")
    var config: String?

    @Option(help: "Frames to send.")
    var frames = 1_000_000

    @Option(help: "Seed: the same seed sends the same frames.")
    var seed: UInt64 = 1

    @Option(help: "Frames per second at most.")
    var rate = 20_000.0

    @Option(name: .customLong("max-rss-growth-mib"), help: "Largest RSS growth allowed per process, in MiB.")
    var maxRSSGrowthMiB = 64.0

    @Option(help: "Messages above bus.max_message_bytes to send, each on a connection of its own.")
    var oversize: Int?

    @Option(name: .customLong("startup-timeout"), help: "Seconds to wait for the stack's heartbeats and subscriptions.")
    var startupTimeout = 120.0

    @Option(name: .customLong("settle-timeout"), help: "Seconds the counters may take to add up after the last frame.")
    var settleTimeout = 60.0

    @Flag(
        name: .customLong("report-json"),
        help: "Print the report as one JSON object on standard output (the table goes to standard error).")
    var reportJSON = false

    func validate() throws {
        guard (1...100_000_000).contains(frames) else { throw ValidationError("--frames must be 1...100000000") }
        guard rate.isFinite, (1...1_000_000).contains(rate) else { throw ValidationError("--rate must be 1...1000000") }
        guard maxRSSGrowthMiB.isFinite, (0...1_000_000).contains(maxRSSGrowthMiB) else {
            throw ValidationError("--max-rss-growth-mib must be 0...1000000")
        }
        guard (0...1_000).contains(oversize ?? 0) else { throw ValidationError("--oversize must be 0...1000") }
        for (value, name) in [(startupTimeout, "--startup-timeout"), (settleTimeout, "--settle-timeout")] {
            guard value.isFinite, (1...3_600).contains(value) else { throw ValidationError("\(name) must be 1...3600") }
        }
    }

    mutating func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let file = config ?? environment["TICKWIRE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let loaded: TickwireConfig
        do {
            loaded = try ConfigLoader(environment: environment).load(file: file).config
        } catch {
            FileHandle.standardError.write(Data("bus-fuzz: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var options = FuzzOptions()
        options.frames = frames
        options.seed = seed
        options.rate = rate
        options.maxRSSGrowthMiB = maxRSSGrowthMiB
        options.oversizeFrames = oversize ?? max(1, frames / 100_000)
        options.startupTimeoutSeconds = startupTimeout
        options.settleTimeoutSeconds = settleTimeout
        let report: FuzzReport
        do {
            report = try await BusFuzz.run(config: loaded, options: options) { line in
                FileHandle.standardError.write(Data("bus-fuzz: \(line)\n".utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("bus-fuzz: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if reportJSON {
            FileHandle.standardError.write(Data((report.table + "\n").utf8))
            FileHandle.standardOutput.write(Data((report.json + "\n").utf8))
        } else {
            FileHandle.standardOutput.write(Data((report.table + "\n").utf8))
        }
        if !report.passed { throw ExitCode(1) }
    }
}
