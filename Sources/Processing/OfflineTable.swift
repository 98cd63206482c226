import FeatureContract
import Foundation
import Indicators

/// `processor indicators` and `processor features`: a bar file in, a table out, through the
/// same `IndicatorSet` and `FeaturePipeline` the live processor runs.
public enum OfflineTable {
    public enum Kind: String, Sendable, CaseIterable {
        /// The timestamp, then every indicator column (`IndicatorSet.displayColumns`).
        case indicators
        /// The timestamp, then the `default` feature vector's names.
        case features
    }

    /// Reads `input`, computes every row, writes `output` (oldest-first, empty cells where a
    /// value is not defined yet). Returns the number of rows written. A bad input throws a
    /// ``BarsCSVError`` naming `file:line` (see ``BarsCSV`` for what is refused) before
    /// anything is written.
    @discardableResult
    public static func run(kind: Kind, input: String, output: String, timeZone: TimeZone) throws -> Int {
        let rows = try BarsCSV.read(path: input, timeZone: timeZone)
        guard FileManager.default.createFile(atPath: output, contents: nil) else {
            throw OfflineError(message: "\(output): cannot create the file")
        }
        guard let handle = FileHandle(forWritingAtPath: output) else {
            throw OfflineError(message: "\(output): cannot open the file for writing")
        }
        defer { try? handle.close() }
        var text = ""
        text.reserveCapacity(1 << 20)
        func flush(force: Bool) throws {
            guard force || text.utf8.count > 1 << 20 else { return }
            do {
                try handle.write(contentsOf: Data(text.utf8))
            } catch {
                throw OfflineError(message: "\(output): cannot write: \(error.localizedDescription)")
            }
            text.removeAll(keepingCapacity: true)
        }
        func append(_ timestamp: String, _ values: [Double], order: [Int]) {
            text += timestamp
            for index in order {
                text += ","
                let value = values[index]
                if value.isFinite { text += "\(value)" }
            }
            text += "\n"
        }
        switch kind {
        case .indicators:
            let order = IndicatorSet.displayColumns.compactMap { IndicatorSet.columnIndex[$0] }
            text += (["timestamp"] + IndicatorSet.displayColumns).joined(separator: ",") + "\n"
            var set = IndicatorSet(timeZone: timeZone)
            for row in rows {
                set.update(row.bar)
                append(row.timestamp, set.values, order: order)
                try flush(force: false)
            }
        case .features:
            let names = FeaturePipeline.schema.names
            let order = Array(names.indices)
            text += (["timestamp"] + names).joined(separator: ",") + "\n"
            var pipeline = FeaturePipeline(timeZone: timeZone)
            for row in rows {
                pipeline.update(row.bar)
                append(row.timestamp, pipeline.features, order: order)
                try flush(force: false)
            }
        }
        try flush(force: true)
        return rows.count
    }

    public struct OfflineError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}
