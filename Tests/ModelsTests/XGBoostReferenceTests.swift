import Foundation
import Models
import Testing

/// XGBoostModel against xgboost itself: `Tests/python/xgboost_reference.py` (run with
/// `TICKWIRE_PYTHON`, else the package's `.venv/bin/python`, which needs `xgboost`) trains
/// models, saves them with `save_model` and writes `predict_proba` for ~800 rows each (NaN
/// rows, an all-NaN row, rows on and just below split thresholds). Every probability must
/// match to 1e-6.
@Suite("XGBoost reference")
struct XGBoostReferenceTests {
    static let names = ["softprob", "softprob_bs", "softmax", "binary", "dart", "early", "forest"]

    @Test("predict_proba reproduced to 1e-6 on every row", arguments: names)
    func matchesXGBoost(name: String) async throws {
        let reference = try await XGBoostReference.shared.value
        let run = try #require(reference.cases[name])
        let model = try run.model.get()
        #expect(model.kind == "xgboost")
        #expect(model.numFeatures == 49)
        #expect(model.numClasses == (name == "binary" ? 2 : 3))
        #expect(run.rows.count >= 800)
        #expect(run.rows.filter { $0.contains(where: \.isNaN) }.count >= 100, "rows with NaN features")
        #expect(run.rows.contains { $0.allSatisfy(\.isNaN) }, "the all-NaN row")

        let (worst, row) = XGBoostReference.worstDifference(model, run)
        print("xgboost \(name): \(model.treeCount) trees, \(run.rows.count) rows, max |ours - xgboost| = \(worst)")
        #expect(worst <= 1e-6, "\(name): worst difference \(worst) at row \(row)")
        for features in run.rows.prefix(50) {
            let p = model.probabilities(features)
            #expect(p.count == Direction.count && abs(p.reduce(0, +) - 1) < 1e-6)
        }
    }

    @Test("the models cover what they claim: depth, hundreds of trees, intercepts, DART, early stopping")
    func coverage() async throws {
        let reference = try await XGBoostReference.shared.value
        let softprob = try #require(reference.cases["softprob"]).model.get()
        #expect(softprob.objective == "multi:softprob" && softprob.treeCount == 900)
        let withBaseScore = try #require(reference.cases["softprob_bs"]).json
        #expect(String(decoding: withBaseScore, as: UTF8.self).contains(#""base_score":"[3E-1,3E-1,3E-1]""#))
        #expect(try #require(reference.cases["softmax"]).model.get().objective == "multi:softmax")
        #expect(try #require(reference.cases["dart"]).model.get().booster == "dart")
        #expect(try #require(reference.cases["binary"]).model.get().objective == "binary:logistic")
        #expect(try #require(reference.cases["forest"]).model.get().treeCount == 20 * 3 * 3)
    }

    @Test("early stopping: every tree (Booster.predict's default) differs from predict_proba")
    func bestIterationMatters() async throws {
        let reference = try await XGBoostReference.shared.value
        let run = try #require(reference.cases["early"])
        let best = try run.model.get()
        let all = try XGBoostModel(json: run.json, source: "early", useBestIteration: false)
        #expect(best.treeCount < all.treeCount)
        #expect(XGBoostReference.worstDifference(all, run).worst > 1e-3)
    }
}

/// One reference model: its file's bytes, the loaded model, and xgboost's rows and probabilities.
struct XGBoostReferenceCase: Sendable {
    var json: Data
    var model: Result<XGBoostModel, any Error>
    var rows: [[Double]]
    var probabilities: [[Double]]
}

struct XGBoostReference: Sendable {
    var cases: [String: XGBoostReferenceCase]

    /// One Python run per test process, shared by every test; off the cooperative pool.
    static let shared = Task<XGBoostReference, any Error> {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try run() }) }.start()
        }
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var python: String {
        ProcessInfo.processInfo.environment["TICKWIRE_PYTHON"]
            ?? packageRoot.appendingPathComponent(".venv/bin/python").path
    }

    /// Runs the script into a temporary directory, loads every model with
    /// `XGBoostModel.load(path:)` and reads the tables, then removes the directory.
    static func run() throws -> XGBoostReference {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tickwire-xgboost-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            packageRoot.appendingPathComponent("Tests/python/xgboost_reference.py").path, directory.path,
        ]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ReferenceError(description: "xgboost_reference.py exited \(process.terminationStatus) (\(python); is xgboost installed?)")
        }
        var cases = [String: XGBoostReferenceCase]()
        for name in XGBoostReferenceTests.names {
            let modelPath = directory.appendingPathComponent("xgboost-\(name).json").path
            let model = Result { try XGBoostModel.load(path: modelPath) }
            let json = try Data(contentsOf: URL(fileURLWithPath: modelPath))
            let text = try String(contentsOf: directory.appendingPathComponent("xgboost-\(name).csv"), encoding: .utf8)
            let lines = text.split(whereSeparator: \.isNewline)
            let header = lines[0].split(separator: ",")
            let width = header.filter { $0.hasPrefix("f") }.count
            var rows = [[Double]](), probabilities = [[Double]]()
            for line in lines.dropFirst() {
                let cells = try line.split(separator: ",").map { cell in
                    guard let value = Double(cell) else { throw ReferenceError(description: "\(name).csv: bad cell \(cell)") }
                    return value
                }
                rows.append(Array(cells[..<width]))
                probabilities.append(Array(cells[width...]))
            }
            cases[name] = XGBoostReferenceCase(json: json, model: model, rows: rows, probabilities: probabilities)
        }
        return XGBoostReference(cases: cases)
    }

    /// The largest |ours - xgboost| over every row and class, and its row. xgboost's columns
    /// are its classes: 0, 1, 2 = down, flat, up; for binary:logistic 0 = down, 1 = up (and
    /// our flat must then be exactly 0).
    static func worstDifference(_ model: XGBoostModel, _ run: XGBoostReferenceCase) -> (worst: Double, row: Int) {
        var worst = 0.0, worstRow = -1
        for (index, (features, theirs)) in zip(run.rows, run.probabilities).enumerated() {
            let ours = model.probabilities(features)
            let pairs = theirs.count == 2
                ? [(ours[0], theirs[0]), (ours[1], 0), (ours[2], theirs[1])]
                : Array(zip(ours, theirs))
            for (a, b) in pairs where !(abs(a - b) <= worst) {
                worst = a.isNaN ? .infinity : abs(a - b)
                worstRow = index
            }
        }
        return (worst, worstRow)
    }

    struct ReferenceError: Error, CustomStringConvertible {
        var description: String
    }
}
