import ArgumentParser
import Bus
import Contracts
import Foundation
import OperatorKit
import ServiceKit
import Timekeeping

extension TapRequest.Format: ExpressibleByArgument {}

/// Prints bus messages, decoded.
@main
struct BusTap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bus-tap",
        abstract: "Subscribe to topic patterns and print each message decoded.",
        discussion: """
            A pattern ending in '.' or '*' is a prefix ('tick.' is every ticker); anything else is \
            one exact topic ('tick.AAPL' never matches tick.AAPLX). No pattern means everything. \
            Exits 0 when it got what it asked for; 1 when --count was not reached in time.
            """
    )

    @Argument(help: "Topic patterns, e.g. tick.AAPL, tick., status.*")
    var patterns: [String] = []

    @Option(help: "Subscriber endpoint (bus-proxy's XPUB side). Default: bus.subscribe_endpoint or TICKWIRE_SUBSCRIBE_ENDPOINT.")
    var endpoint: String?

    @Option(help: "Exit after this many messages.")
    var count: Int?

    @Option(help: "Exit after this many seconds (a failure if --count was not reached).")
    var duration: Double?

    @Option(help: "json (one object per line) or table (live per-topic view).")
    var format: TapRequest.Format = .json

    @Option(help: "Seconds between table redraws.")
    var refresh: Double = 1

    @Option(name: .customLong("max-rows"), help: "Topics the table keeps; the least recently seen go first.")
    var maxRows: Int = TapStatistics.defaultMaxRows

    @Option(help: "Config file to read bus.subscribe_endpoint from.")
    var config: String?

    func validate() throws {
        if let count, count <= 0 { throw ValidationError("--count must be positive") }
        if let duration, !(duration > 0 && duration <= 1e9) {
            throw ValidationError("--duration must be more than 0 and at most 1e9 seconds")
        }
        if !(refresh > 0 && refresh <= 86_400) {
            throw ValidationError("--refresh must be more than 0 and at most 86400")
        }
        if !(1...1_000_000).contains(maxRows) { throw ValidationError("--max-rows must be from 1 to 1000000") }
        for pattern in patterns {
            do { _ = try TopicPattern(pattern) } catch { throw ValidationError("pattern '\(pattern)': \(error)") }
        }
    }

    mutating func run() async throws {
        let loaded: TickwireConfig
        do {
            let file = config ?? ProcessInfo.processInfo.environment["TICKWIRE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
            loaded = try ConfigLoader().load(file: file).config
        } catch {
            Tap.writeError("bus-tap: \(error)")
            throw ExitCode(ServiceRuntime.configErrorExitCode)
        }
        let parsed = try patterns.map { try TopicPattern($0) }
        var request = TapRequest(
            endpoint: endpoint ?? loaded.bus.subscribeEndpoint,
            patterns: parsed.isEmpty ? [TopicPattern(prefix: "")] : parsed,
            count: count, duration: duration)
        request.format = format
        request.refresh = refresh
        request.maxRows = maxRows
        // An observer shows history too (replays of old data); every other bound stays.
        request.limits = loaded.envelopeLimits
        request.limits.eventTime.maxPast = nil
        do {
            // bus-tap reads as its own identity, which may publish nothing.
            let security = try BusSecurity.load(config: loaded, identity: "bus-tap") { Tap.writeError("bus-tap: \($0)") }
            request.socket = try security?.clientOptions(loaded.socketOptions) ?? loaded.socketOptions
        } catch {
            Tap.writeError("bus-tap: bus keys: \(error)")
            throw ExitCode(ServiceRuntime.configErrorExitCode)
        }
        let report = try await Tap.run(request)
        Tap.writeError(report.jsonLine)
        if !report.satisfied { throw ExitCode(1) }
    }
}
