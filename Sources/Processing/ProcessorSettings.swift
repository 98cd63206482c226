import Foundation
import Indicators
import ServiceKit

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

    public enum BarSource: String, Sendable, Equatable {
        /// Built here from `tick.<SYMBOL>` trades.
        case trades
        /// The provider's own bars from `bar.<SYMBOL>`.
        case provider
    }

    /// Which tickers this instance serves: `--tickers` when given, else the `processors`
    /// entry named by `--instance`, else every ticker in the config (when there is no
    /// `processors` section).
    public static func resolve(
        config: TickwireConfig, instance: String, tickersFromCommandLine: [String]?
    ) throws(ConfigError) -> ProcessorSettings {
        let tickers: [String]
        if let tickersFromCommandLine, !tickersFromCommandLine.isEmpty {
            tickers = tickersFromCommandLine
        } else if let entry = config.processors.first(where: { $0.name == instance }) {
            tickers = entry.tickers
        } else if config.processors.isEmpty {
            tickers = config.tickers
        } else {
            let names = config.processors.map(\.name).joined(separator: ", ")
            throw ConfigError(
                path: "processors",
                message: "no processor named '\(instance)': start it with --instance and one of \(names), or give --tickers")
        }
        guard let timeZone = TimeZone(identifier: config.marketHours.timezone) else {
            throw ConfigError(path: "market_hours.timezone", message: "unknown time zone '\(config.marketHours.timezone)'")
        }
        return ProcessorSettings(
            instance: instance,
            tickers: tickers,
            barIntervalNs: Int64(config.processor.barIntervalSeconds * 1e9),
            lateToleranceNs: Int64(config.processor.lateToleranceSeconds * 1e9),
            barSource: BarSource(rawValue: config.processor.barSource) ?? .trades,
            windowSize: config.windowSize,
            historyEndpoints: config.processor.historyEndpoints,
            historyTimeout: .milliseconds(Int64(config.processor.historyTimeoutSeconds * 1000)),
            timeZone: timeZone)
    }
}
