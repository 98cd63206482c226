import Foundation
import Models

/// A deterministic synthetic market-signal problem: 3 classes from a nonlinear score of a few
/// informative features (a sine, an interaction, a square of a slowly drifting AR(1) factor),
/// plus noisy copies of them and pure-noise features of very different scales, with label noise
/// from the score's own noise term. Rows are in time order (the AR factor makes neighbours
/// alike), so a split at 70 % is a time-ordered train/test split.
enum SyntheticMarket {
    static let featureCount = 20

    static func make(rows count: Int, seed: UInt64 = 7) -> (rows: [[Double]], labels: [Int]) {
        var generator = SeededGenerator(seed: seed)
        var factor = 0.0
        var rows: [[Double]] = []
        var labels: [Int] = []
        rows.reserveCapacity(count)
        for _ in 0..<count {
            factor = 0.9 * factor + 0.45 * generator.gaussian()
            let x0 = generator.gaussian()
            let x1 = generator.gaussian()
            let x2 = 4 * generator.unit() - 2
            let x3 = factor + 0.3 * generator.gaussian()
            let x4 = generator.gaussian()
            let score = 1.2 * sin(1.5 * x0) + 0.8 * x1 * x2 + 0.6 * (x3 * x3 - 1) + 0.5 * x4
                + 0.6 * generator.gaussian()
            var row = [x0, x1, x2, x3, x4]
            row.append(x0 + 0.5 * generator.gaussian())
            row.append(x1 - x2 + 0.5 * generator.gaussian())
            row.append(x3 * 100 + 20 * generator.gaussian())
            row.append(0.01 * x4 + 0.01 * generator.gaussian())
            row.append(x1 * 0.5 + generator.gaussian())
            while row.count < featureCount {
                let scale = [1e3, 1e-2, 1, 10, 0.1][row.count % 5]
                row.append(scale * generator.gaussian())
            }
            rows.append(row)
            labels.append(score < -0.55 ? 0 : score > 0.55 ? 2 : 1)
        }
        return (rows, labels)
    }

    static func csv(rows: [[Double]], labels: [Int]) -> String {
        var text = (0..<(rows.first?.count ?? 0)).map { "f\($0)" }.joined(separator: ",") + ",label\n"
        for (row, label) in zip(rows, labels) {
            text += row.map { "\($0)" }.joined(separator: ",") + ",\(label)\n"
        }
        return text
    }
}

func accuracy(_ model: any Classifier, rows: [[Double]], labels: [Int]) -> Double {
    var correct = 0
    for (row, label) in zip(rows, labels) {
        let p = model.probabilities(row)
        if p.indices.max(by: { p[$0] < p[$1] }) == label { correct += 1 }
    }
    return Double(correct) / Double(max(rows.count, 1))
}

/// Runs `work` on a thread of its own, so that a Python process or a long fit does not hold one
/// of the cooperative pool's few threads.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// A directory of its own, removed when the value is released.
final class ScratchDirectory: Sendable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("tickwire-models-\(UUID().uuidString.lowercased())").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// scikit-learn's results from `Tests/python/sklearn_reference.py`, run with the project's
/// Python (`TICKWIRE_PYTHON`, else `<package root>/.venv/bin/python`).
struct SklearnReference: Decodable, Sendable {
    var trainRows: Int
    var testRows: Int
    var accuracy: [String: Double]
    var seconds: [String: Double]
    var probabilities: [String: [[Double]]]

    enum CodingKeys: String, CodingKey {
        case trainRows = "train_rows"
        case testRows = "test_rows"
        case accuracy, seconds, probabilities
    }

    /// The package root, through the symlinks that a development package may reach this file by.
    static let packageRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var python: String {
        if let python = ProcessInfo.processInfo.environment["TICKWIRE_PYTHON"], !python.isEmpty { return python }
        return packageRoot.appendingPathComponent(".venv/bin/python").path
    }

    /// Runs the script on `csv` (blocks for seconds: call it off the pool).
    static func run(csv: String, split: Int, svm: Bool) throws -> SklearnReference {
        let script = packageRoot.appendingPathComponent("Tests/python/sklearn_reference.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, csv, String(split)] + (svm ? [] : ["--no-svm"])
        let output = Pipe()
        let errors = csv + ".err"
        _ = FileManager.default.createFile(atPath: errors, contents: nil)
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        do {
            try process.run()
        } catch {
            throw TestFailure("cannot run \(python) \(script): \(error) (are scikit-learn and numpy installed there?)")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let stderr = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
            throw TestFailure("sklearn_reference.py exited \(process.terminationStatus): \(stderr.suffix(2000))")
        }
        return try JSONDecoder().decode(SklearnReference.self, from: data)
    }
}
