import Foundation
import Synchronization
import Indicators
import Testing

/// TA-Lib's own values for a bar file, from `Tests/python/talib_reference.py` run with the
/// project's Python (`TICKWIRE_PYTHON`, else `.venv/bin/python`; `make deps` installs the
/// `ta-lib` wheel there).
struct TALibReference: Sendable {
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
struct ColumnComparison: CustomStringConvertible, Sendable {
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

/// Runs `work` on a thread of its own: the TA-Lib runs (a Python process) and the row-by-row
/// comparisons take seconds, and must not hold the cooperative pool's threads (two on a
/// 2-core machine) that every other async test needs.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// Comparisons already made, per file: three suites compare the same files.
private let comparisonCache = Mutex<[String: [ColumnComparison]]>([:])

/// Feeds every row of `file` to a fresh `IndicatorSet` and compares each column that TA-Lib
/// also computes, row by row, lookback included. Runs off the cooperative pool; cached.
func compareWithTALib(_ file: String) async throws -> [ColumnComparison] {
    if let cached = comparisonCache.withLock({ $0[file] }) { return cached }
    let comparisons = try await offPool { try compareWithTALibNow(file) }
    comparisonCache.withLock { $0[file] = comparisons }
    return comparisons
}

private func compareWithTALibNow(_ file: String) throws -> [ColumnComparison] {
    let reference = try TALibReference.load(file)
    let rows = try BarsCSV.read(path: file, timeZone: TimeZone(identifier: "America/New_York")!)
    #expect(rows.count == reference.rowCount)
    let shared = IndicatorSet.columns.filter { reference.columns[$0] != nil }
    let ours = shared.map { IndicatorSet.columnIndex[$0]! }
    let theirs = shared.map { reference.columns[$0]! }
    var comparisons = shared.map { ColumnComparison(column: $0) }
    var set = IndicatorSet()
    for (row, bar) in rows.enumerated() {
        set.update(bar.bar)
        let values = set.values
        for k in shared.indices where comparisons[k].readinessMismatch == nil {
            let mine = values[ours[k]]
            guard let reference = theirs[k][row], !mine.isNaN else {
                if !(theirs[k][row] == nil && mine.isNaN) { comparisons[k].readinessMismatch = (row, mine, theirs[k][row]) }
                continue
            }
            let error = ColumnComparison.relativeError(mine, reference)
            comparisons[k].comparedValues += 1
            if error > comparisons[k].worstRelativeError {
                comparisons[k].worstRelativeError = error
                comparisons[k].worstRow = row
            }
        }
    }
    return comparisons
}
