import Contracts
import Foundation
import Indicators
import ServiceKit
import Timekeeping

/// What one processor instance does, resolved from the config and its command line.
public struct ProcessorSettings: Sendable, Equatable {
    public var instance: String
    public var tickers: [String]
    public var barIntervalNs: Int64
    public var lateToleranceNs: Int64
    public var barSource: BarSource
    public var windowSize: Int
    public var historyEndpoints: [String]
    public var historyTimeout: Duration
    public var timeZone: TimeZone
    /// How far ahead of the reference clock a trade or bar may be (`max_event_lead_seconds`).
    public var maxEventLeadNs: Int64
    /// The market runs ahead of the wall clock (the simulated provider at `simulator.speed`
    /// > 1): the lead must be raised for long runs; said at start and in the drop alert.
    public var simulatorSpeed: Double?
    /// An elastic processor: `tickers` is the whole universe, and this instance serves the
    /// share rendezvous hashing gives it among the live elastic processors (``ShardMembership``).
    public var elastic = false
    /// The heartbeat interval (members are gone after 3 missed heartbeats).
    public var heartbeatInterval: Duration = .seconds(5)

    public enum BarSource: String, Sendable, Equatable {
        /// Built here from `tick.<SYMBOL>` trades.
        case trades
        /// The provider's own bars from `bar.<SYMBOL>`.
        case provider
    }

    /// Which tickers this instance serves: `--tickers` when given, else the `processors`
    /// entry named by `--instance`, else every ticker in the config (when there is no
    /// `processors` section). At most `TickwireConfig.Processor.maxTickersPerInstance`, each a
    /// valid symbol, repeats dropped. Numbers are checked again here (settings may be built
    /// in code, without the config loader), so nothing below can trap on them.
    ///
    /// `elastic`: every ticker in the config (or `--tickers`) is the pool's universe, shared
    /// among the live elastic processors; the `processors` section is not used.
    public static func resolve(
        config: TickwireConfig, instance: String, tickersFromCommandLine: [String]?, elastic: Bool = false
    ) throws(ConfigError) -> ProcessorSettings {
        typealias Limits = TickwireConfig.Processor
        let listed: [String]
        let path: String
        if elastic {
            listed = tickersFromCommandLine.flatMap { $0.isEmpty ? nil : $0 } ?? config.tickers
            path = tickersFromCommandLine?.isEmpty == false ? "--tickers" : "tickers"
        } else if let tickersFromCommandLine, !tickersFromCommandLine.isEmpty {
            listed = tickersFromCommandLine
            path = "--tickers"
        } else if let index = config.processors.firstIndex(where: { $0.name == instance }) {
            listed = config.processors[index].tickers
            path = "processors[\(index)].tickers"
        } else if config.processors.isEmpty {
            listed = config.tickers
            path = "tickers"
        } else {
            let names = config.processors.map(\.name).joined(separator: ", ")
            throw ConfigError(
                path: "processors",
                message: "no processor named '\(instance)': start it with --instance and one of \(names), or give --tickers")
        }
        var tickers: [String] = []
        var seen: Set<String> = []
        for (index, ticker) in listed.enumerated() where seen.insert(ticker).inserted {
            do {
                try Topic.validate(key: ticker)
            } catch {
                throw ConfigError(path: "\(path)[\(index)]", message: "'\(ticker)' is not a valid symbol: \(error)")
            }
            tickers.append(ticker)
        }
        guard tickers.count <= (elastic ? Limits.maxTickersPerPool : Limits.maxTickersPerInstance) else {
            throw ConfigError(
                path: path,
                message: """
                    \(tickers.count) tickers; one processor serves at most \(Limits.maxTickersPerInstance): \
                    split them over `processors`
                    """)
        }
        guard let timeZone = TimeZone(identifier: config.marketHours.timezone) else {
            throw ConfigError(path: "market_hours.timezone", message: "unknown time zone '\(config.marketHours.timezone)'")
        }
        let processor = config.processor
        guard let interval = Nanoseconds.checkedSeconds(processor.barIntervalSeconds),
            (Nanoseconds.perSecond...Nanoseconds.perDay).contains(interval)
        else {
            throw ConfigError(path: "processor.bar_interval_seconds", message: "must be from 1 to 86400 seconds")
        }
        guard let lead = Nanoseconds.checkedSeconds(processor.maxEventLeadSeconds), lead > 0,
            processor.maxEventLeadSeconds <= Limits.maxEventLeadSecondsLimit
        else {
            throw ConfigError(
                path: "processor.max_event_lead_seconds", message: "must be more than 0 and at most 7 days")
        }
        let simulated = config.provider == ProviderName.simulated && config.simulator.speed > 1
        var settings = ProcessorSettings(
            instance: instance,
            tickers: tickers,
            barIntervalNs: interval,
            lateToleranceNs: min(max(0, Nanoseconds.clampingSeconds(processor.lateToleranceSeconds)), 10 * interval),
            barSource: BarSource(rawValue: processor.barSource) ?? .trades,
            windowSize: min(max(1, config.windowSize), Limits.maxWindowSize),
            historyEndpoints: Array(processor.historyEndpoints.prefix(Limits.maxHistoryEndpoints)),
            historyTimeout: Nanoseconds.duration(
                seconds: min(processor.historyTimeoutSeconds, Limits.maxHistoryTimeoutSeconds)),
            timeZone: timeZone,
            maxEventLeadNs: lead,
            simulatorSpeed: simulated ? config.simulator.speed : nil)
        settings.elastic = elastic
        let heartbeat = config.heartbeat.intervalSeconds
        settings.heartbeatInterval = Nanoseconds.duration(seconds: heartbeat.isFinite ? min(max(heartbeat, 0.05), 3_600) : 5)
        return settings
    }
}
