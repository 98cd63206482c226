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
            Exits 0 when it got what it asked for; 1 when --count was not reached in time. \
            With --journal it reads the journal instead (the `journal` service must be running): the messages \
            published in [--from, --to) (default: the oldest kept, now), then exits 0; 1 when the journal does \
            not answer, 78 for bad arguments.
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

    @Flag(help: "Print journaled messages (request/reply to the journal) instead of subscribing live.")
    var journal = false

    @Option(help: "With --journal: publish times from this instant on, e.g. 2026-12-04T14:30:00Z (default: the oldest kept).")
    var from: String?

    @Option(help: "With --journal: publish times before this instant (default: now).")
    var to: String?

    @Option(name: .customLong("journal-endpoint"), help: "With --journal: where the journal answers (default: journal.endpoint).")
    var journalEndpoint: String?

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
        if journal || from != nil || to != nil || journalEndpoint != nil {
            try await tapJournal(loaded, patterns: parsed)
            return
        }
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

    /// `--journal`: the journal's messages in the range, printed as the live tap prints them.
    func tapJournal(_ loaded: TickwireConfig, patterns parsed: [TopicPattern]) async throws {
        func fail(_ error: JournalToolError) -> ExitCode {
            Tap.writeError("bus-tap: \(error)")
            return ExitCode(error.exitCode)
        }
        guard journal else {
            throw fail(.configuration("--from, --to and --journal-endpoint read the journal: add --journal"))
        }
        if endpoint != nil {
            throw fail(.configuration("--endpoint is the live subscriber endpoint; with --journal use --journal-endpoint"))
        }
        if duration != nil { throw fail(.configuration("--duration is for a live tap; --journal ends with the range")) }
        guard format == .json else {
            throw fail(.configuration("--format table is the live view; --journal prints JSON lines"))
        }
        let range: (fromNs: Int64, toNs: Int64)
        do {
            range = try JournalTapRequest.range(from: from, to: to)
        } catch {
            throw fail(error)
        }
        let journalAt = journalEndpoint ?? loaded.journal.endpoint
        guard !journalAt.isEmpty else {
            throw fail(.configuration("journal.endpoint is empty (catch-up turned off): set it, or pass --journal-endpoint"))
        }
        let timeout = loaded.journal.requestTimeoutSeconds
        guard timeout.isFinite, timeout > 0, timeout <= 3_600 else {
            throw fail(.configuration("journal.request_timeout_seconds must be more than 0 and at most 3600"))
        }
        let socket: SocketOptions
        do {
            // bus-tap asks as its own identity, a client of the journal's key.
            let security = try BusSecurity.load(config: loaded, identity: "bus-tap") { Tap.writeError("bus-tap: \($0)") }
            socket = try security?.clientOptions(loaded.socketOptions, server: "journal") ?? loaded.socketOptions
        } catch {
            throw fail(.configuration("bus keys: \(error)"))
        }
        // An observer shows history; every other bound stays.
        var limits = loaded.envelopeLimits
        limits.eventTime.maxPast = nil
        let request = JournalTapRequest(
            endpoint: journalAt, socket: socket, timeout: Nanoseconds.duration(seconds: timeout),
            patterns: parsed.isEmpty ? [TopicPattern(prefix: "")] : parsed, fromNs: range.fromNs, toNs: range.toNs,
            count: count, limits: limits)
        let outcome = await JournalTap.run(request)
        Tap.writeError(outcome.report.jsonLine)
        if let failure = outcome.failure { throw fail(failure) }
    }
}
