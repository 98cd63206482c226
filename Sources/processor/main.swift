import ArgumentParser
import FeatureContract
import Foundation
import Indicators
import Processing
import ServiceKit

/// Bars, indicators and features for a ticker set; offline tables for validation and training.
@main
struct ProcessorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "processor",
        abstract: "Build bars, indicators and features: live on the bus, or offline from a CSV file.",
        subcommands: [Run.self, Table.self, Features.self, Schema.self],
        defaultSubcommand: Run.self
    )
}

/// The service: `processor --config FILE --instance p1` (the default subcommand).
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Publish bar.<SYMBOL> and features.<SYMBOL> for this instance's tickers (the default)."
    )

    @OptionGroup var common: CommonOptions

    @Flag(
        help: """
            Share the config's tickers with the other elastic processors (rendezvous hashing over \
            their heartbeats): start as many as needed (compose --scale, Kubernetes replicas); \
            the instance name defaults to the host name (a pod's name).
            """)
    var elastic = false

    mutating func run() async throws {
        let tickers = common.overrides.tickers
        // The runtime names the producer (heartbeats, envelopes) from the same options.
        if elastic && common.explicitInstance() == nil { common.instance = Self.hostInstance() }
        let instance = common.instanceName()
        let elastic = self.elastic
        let status = await ServiceRuntime.run(service: "processor", options: common) { environment in
            let settings = try ProcessorSettings.resolve(
                config: environment.config, instance: instance, tickersFromCommandLine: tickers, elastic: elastic)
            return [ProcessorService(environment: environment, settings: settings)]
        }
        if status != 0 { throw ExitCode(status) }
    }
}

extension Run {
    /// An elastic processor's default name: the host name (a pod's or container's), with the
    /// process id, so two on one machine differ.
    static func hostInstance() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "processor"
        return "\(host.prefix(60))-\(ProcessInfo.processInfo.processIdentifier)"
    }
}

/// Options shared by the offline tables.
struct OfflineOptions: ParsableArguments {
    @Option(help: "Bars: a CSV with timestamp (or date), open, high, low, close, volume, in any order and case.")
    var input: String

    @Option(help: "Where to write the table (CSV, oldest row first).")
    var output: String

    @Option(help: "Time zone of timestamps without a UTC offset, and of sessions (session VWAP).")
    var timezone = "America/New_York"

    func validate() throws {
        guard TimeZone(identifier: timezone) != nil else {
            throw ValidationError("unknown time zone '\(timezone)' (e.g. America/New_York, UTC)")
        }
    }

    /// Writes the table; any error (a bad row names `file:line`) is printed and exits 65.
    func run(_ kind: OfflineTable.Kind) throws {
        guard let zone = TimeZone(identifier: timezone) else {
            throw ValidationError("unknown time zone '\(timezone)' (e.g. America/New_York, UTC)")
        }
        do {
            let rows = try OfflineTable.run(kind: kind, input: input, output: output, timeZone: zone)
            try? FileHandle.standardError.write(contentsOf: Data("processor: wrote \(rows) rows to \(output)\n".utf8))
        } catch {
            try? FileHandle.standardError.write(contentsOf: Data("processor: \(error)\n".utf8))
            throw ExitCode(65)  // EX_DATAERR
        }
    }
}

struct Table: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "indicators",
        abstract: "Compute every indicator column (TA-Lib's, by name and parameters) for a bar file."
    )
    @OptionGroup var options: OfflineOptions
    func run() throws { try options.run(.indicators) }
}

struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute the default feature vector for a bar file, as the live processor does."
    )
    @OptionGroup var options: OfflineOptions
    func run() throws { try options.run(.features) }
}

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the feature schema: name, version, hash and the ordered feature names."
    )
    func run() {
        let schema = FeaturePipeline.schema
        print("feature_set \(schema.name)")
        print("version \(schema.version)")
        print("schema_hash \(schema.hash)")
        for name in schema.names { print(name) }
    }
}
