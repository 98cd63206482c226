import Foundation
import Models
import Testing

/// Training and prediction times at the product's size (5,000 rows × 49 features), printed.
/// Heavy: runs only with `TICKWIRE_MODELS_BENCH=1`, meant for `swift test -c release`.
@Suite("Model timings", .serialized, .enabled(if: ProcessInfo.processInfo.environment["TICKWIRE_MODELS_BENCH"] == "1"))
struct TimingTests {
    @Test("5,000 × 49: every kind trains in seconds and predicts in well under a millisecond a row",
          arguments: ["logreg", "rf", "gbt", "svm"])
    func timing(kind: String) async throws {
        let (rows, labels) = Self.data()
        let result = try await offPool {
            let start = Date()
            let model = try trainer(kind: kind).fit(rows: rows, labels: labels, seed: 1)
            let trained = Date()
            var total = 0.0
            for row in rows { total += model.probabilities(row)[2] }
            let predicted = Date()
            let bytes = try Fixtures.file(model).encoded().count
            return (trained.timeIntervalSince(start), predicted.timeIntervalSince(trained) / Double(rows.count), total, bytes)
        }
        print(String(format: "%@: train %.2f s, predict %.1f µs/row, model file %d KB", kind, result.0, result.1 * 1e6,
                     result.3 / 1024))
        #expect(result.0 < 60 && result.1 < 1e-3 && result.2 > 0)
    }

    /// 49 features: the 20 of the synthetic problem and 29 noisy mixtures of them.
    static func data() -> ([[Double]], [Int]) {
        var (rows, labels) = SyntheticMarket.make(rows: 5000, seed: 3)
        var generator = SeededGenerator(seed: 9)
        for i in rows.indices {
            for j in 0..<29 { rows[i].append(rows[i][j % 10] * 0.5 + generator.gaussian()) }
        }
        return (rows, labels)
    }
}
