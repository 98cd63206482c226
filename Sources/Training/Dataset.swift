import Foundation
import Indicators
import Models

/// Feature rows and labels for training, built by the processor's own `FeaturePipeline`
/// (no copy of the feature code, so no training/serving skew).
///
/// A row is a bar whose features are all defined and whose label is known: the log return
/// of the close `horizon` bars later, as down (< -deadZone), flat, or up (> deadZone).
public struct Dataset: Sendable {
    public var symbols: [String] = []
    public var timestamps: [String] = []
    public var times: [Int64] = []
    public var rows: [[Double]] = []
    public var labels: [Int] = []
    /// The realised forward return of each row.
    public var forwardReturns: [Double] = []
    /// The return over the `horizon` bars before each row (for the last-direction baseline).
    public var pastReturns: [Double] = []
    public var horizon: Int
    public var deadZone: Double

    public var count: Int { rows.count }

    /// Builds rows from bar files (one symbol per file), ordered by time across files.
    /// `deadZone` 0 picks the threshold that splits the forward returns into three equal parts.
    public static func build(
        files: [(symbol: String, bars: [BarRow])], horizon: Int, deadZone: Double, timeZone: TimeZone
    ) -> Dataset {
        struct Row { var symbol: String; var stamp: String; var time: Int64; var features: [Double]; var forward: Double; var past: Double }
        var collected: [Row] = []
        guard horizon >= 1 else { return Dataset(horizon: horizon, deadZone: deadZone) }
        for file in files {
            var pipeline = FeaturePipeline(timeZone: timeZone)
            let closes = file.bars.map(\.bar.close)
            for (i, row) in file.bars.enumerated() {
                let ready = pipeline.update(row.bar)
                guard ready, i >= horizon, horizon < closes.count - i else { continue }
                let forward = Self.logReturn(from: closes[i], to: closes[i + horizon])
                let past = Self.logReturn(from: closes[i - horizon], to: closes[i])
                collected.append(Row(symbol: file.symbol, stamp: row.timestamp, time: row.bar.time, features: pipeline.features, forward: forward, past: past))
            }
        }
        collected.sort { ($0.time, $0.symbol) < ($1.time, $1.symbol) }
        let zone = deadZone > 0 ? deadZone : Self.balancedDeadZone(collected.map(\.forward))
        var dataset = Dataset(horizon: horizon, deadZone: zone)
        for row in collected {
            dataset.symbols.append(row.symbol)
            dataset.timestamps.append(row.stamp)
            dataset.times.append(row.time)
            dataset.rows.append(row.features)
            dataset.forwardReturns.append(row.forward)
            dataset.pastReturns.append(row.past)
            dataset.labels.append(Self.label(row.forward, deadZone: zone).rawValue)
        }
        return dataset
    }

    /// The label of a forward return: ``Models/Direction/init(forwardReturn:deadZone:)``, the
    /// rule live outcomes are scored with too.
    public static func label(_ forwardReturn: Double, deadZone: Double) -> Direction {
        Direction(forwardReturn: forwardReturn, deadZone: deadZone)
    }

    /// ``Models/Direction/logReturn(from:to:)``, shared with the live outcomes.
    static func logReturn(from: Double, to: Double) -> Double {
        Direction.logReturn(from: from, to: to)
    }

    /// The |return| below which a third of the returns fall, so down/flat/up are about equal.
    static func balancedDeadZone(_ returns: [Double]) -> Double {
        let magnitudes = returns.map(abs).sorted()
        guard !magnitudes.isEmpty else { return 0 }
        return magnitudes[magnitudes.count / 3]
    }

    /// Rows `range` as a new dataset.
    public func slice(_ indices: [Int]) -> (rows: [[Double]], labels: [Int]) {
        (indices.map { rows[$0] }, indices.map { labels[$0] })
    }
}
