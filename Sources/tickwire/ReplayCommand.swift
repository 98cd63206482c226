import ArgumentParser
import Foundation
import OperatorKit
import ServiceKit

/// `tickwire replay`: a recorded session from the journal, published into the stack again.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Publish journaled messages from [--from, --to) into the bus again, paced as recorded.",
        discussion: """
            Reads the journal (the `journal` service must be running) page by page and publishes each message \
            as identity tickwire (instance replay): same topic, payload and event time; new sequence numbers and \
            publish time. --speed divides the recorded gaps (0: as fast as possible). Default topics: tick. and \
            bar. (market data, so a session runs through the processors and models again). Kinds tickwire may \
            not publish are skipped and counted. Exit 0 done (or stopped by Ctrl-C), 78 bad arguments or \
            config, 1 the journal did not answer.
            """
    )

    @Option(help: "Start of the range (inclusive), ISO 8601 with an offset, e.g. 2026-12-04T14:30:00Z.")
    var from: String?

    @Option(help: "End of the range (exclusive), e.g. 2026-12-04T21:00:00Z; the future ends at now.")
    var to: String?

    @Option(parsing: .upToNextOption, help: "Topic patterns as bus-tap takes them (default: tick. bar.).")
    var topics: [String] = []

    @Option(parsing: .unconditional, help: "Recorded seconds per real second: 1 (default) as recorded, 10 ten times faster, 0 as fast as possible; at most 10000.")
    var speed: String?

    @Option(help: "Config file (JSON). Env: TICKWIRE_CONFIG.")
    var config: String?

    @Option(name: .customLong("journal-endpoint"), help: "Where the journal answers (overrides journal.endpoint).")
    var journalEndpoint: String?

    @Option(name: .customLong("publish-endpoint"), help: "Where publishers connect (bus-proxy's XSUB side; overrides bus.publish_endpoint).")
    var publishEndpoint: String?

    mutating func run() async throws {
        // A closed stderr (`tickwire replay 2>&1 | head`) is then an error, not SIGPIPE.
        DescriptorWrite.ignoreBrokenPipes()
        func fail(_ error: JournalToolError) -> ExitCode {
            Tap.writeError("tickwire replay: \(error)")
            return ExitCode(error.exitCode)
        }
        var overrides = ConfigOverrides()
        overrides.publishEndpoint = publishEndpoint
        let file = config ?? ProcessInfo.processInfo.environment["TICKWIRE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let loaded: TickwireConfig
        do {
            loaded = try ConfigLoader().load(file: file, overrides: overrides).config
        } catch {
            throw fail(.configuration("\(error)"))
        }
        let request: ReplayRequest
        do {
            request = try ReplayRequest.make(
                config: loaded, arguments: ReplayArguments(from: from, to: to, topics: topics, speed: speed),
                journalEndpoint: journalEndpoint
            ) { Tap.writeError("tickwire replay: \($0)") }
        } catch {
            throw fail(error)
        }
        let outcome = await Replay.run(request)
        if outcome.report.read > 0 || outcome.failure == nil {
            Tap.writeError(outcome.report.summaryLine)
            Tap.writeError(outcome.report.jsonLine)
        }
        if let failure = outcome.failure { throw fail(failure) }
    }
}
