import Foundation
import Indicators
import Testing

/// TA-Lib's own values for a bar file, from `Tests/python/talib_reference.py` run with the
/// project's Python (`TICKWIRE_PYTHON`, else `.venv/bin/python`; `make deps` installs the
/// `ta-lib` wheel there).
struct TALibReference {
    /// Column name -> one value per row (nil where TA-Lib has none).
    var columns: [String: [Double?]]
    var rowCount: Int

    static let packageRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name).path
    }

    static var python: String {
        ProcessInfo.processInfo.environment["TICKWIRE_PYTHON"]
            ?? packageRoot.appendingPathComponent(".venv/bin/python").path
    }

    /// Runs TA-Lib over `input` and reads its table.
    static func load(_ input: String) throws -> TALibReference {
        let output = FileManager.default.temporaryDirectory
            .appendingPathComponent("talib-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            packageRoot.appendingPathComponent("Tests/python/talib_reference.py").path, input, output,
        ]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ReferenceError(message: "talib_reference.py exited \(process.terminationStatus) (is `make deps` done?)")
        }
        let text = try String(contentsOfFile: output, encoding: .utf8)
        let lines = text.split(separator: "\n")
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var columns = [String: [Double?]]()
        for name in header.dropFirst() { columns[name] = [] }
        for line in lines.dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            for (name, cell) in zip(header, cells).dropFirst() {
                columns[name]!.append(cell.isEmpty ? nil : Double(cell)!)
            }
        }
        return TALibReference(columns: columns, rowCount: lines.count - 1)
    }

    struct ReferenceError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

/// How one of our columns compares with TA-Lib's over a whole series.
struct ColumnComparison: CustomStringConvertible {
    var column: String
    /// First row where readiness differs (ours NaN vs TA-Lib's value, or the reverse).
    var readinessMismatch: (row: Int, ours: Double, theirs: Double?)?
    var worstRelativeError = 0.0
    var worstRow = -1
    var comparedValues = 0

    static let tolerance = 1e-9

    var passes: Bool { readinessMismatch == nil && worstRelativeError <= Self.tolerance }

    var description: String {
        if let m = readinessMismatch {
            return "\(column): readiness differs at row \(m.row): ours \(m.ours), TA-Lib \(m.theirs.map { "\($0)" } ?? "empty")"
        }
        return "\(column): worst relative error \(worstRelativeError) at row \(worstRow) over \(comparedValues) values"
    }

    /// The relative difference, with TA-Lib's value as the reference; two values that are both
    /// within 1e-12 of zero count as equal (oscillators cross zero; a relative error is
    /// meaningless there).
    static func relativeError(_ ours: Double, _ theirs: Double) -> Double {
        let difference = abs(ours - theirs)
        if difference == 0 { return 0 }
        if abs(theirs) < 1e-12 && abs(ours) < 1e-12 { return 0 }
        return difference / max(abs(theirs), abs(ours))
    }
}

/// Feeds every row of `file` to a fresh `IndicatorSet` and compares each column that TA-Lib
/// also computes, row by row, lookback included.
func compareWithTALib(_ file: String) throws -> [ColumnComparison] {
    let reference = try TALibReference.load(file)
    let rows = try BarsCSV.read(path: file, timeZone: TimeZone(identifier: "America/New_York")!)
    #expect(rows.count == reference.rowCount)
    let shared = IndicatorSet.columns.filter { reference.columns[$0] != nil }
    var comparisons = shared.map { ColumnComparison(column: $0) }
    var set = IndicatorSet()
    for (row, bar) in rows.enumerated() {
        set.update(bar.bar)
        for (k, name) in shared.enumerated() where comparisons[k].readinessMismatch == nil {
            let ours = set[name]!
            let theirs = reference.columns[name]![row]
            guard let theirs, !ours.isNaN else {
                if !(theirs == nil && ours.isNaN) { comparisons[k].readinessMismatch = (row, ours, theirs) }
                continue
            }
            let error = ColumnComparison.relativeError(ours, theirs)
            comparisons[k].comparedValues += 1
            if error > comparisons[k].worstRelativeError {
                comparisons[k].worstRelativeError = error
                comparisons[k].worstRow = row
            }
        }
    }
    return comparisons
}
