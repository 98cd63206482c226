import Foundation
import Testing

@testable import Signals

@Suite("Prediction drift (PSI against the training class balance)")
struct PredictionDriftTests {
    @Test("the same shares as training give PSI 0; a one-sided run gives a large one; before the minimum, none")
    func index() throws {
        var drift = try #require(PredictionDrift(balance: [100, 100, 100], window: 300, minimum: 30))
        for i in 0..<29 { drift.record(predictedClass: i % 3) }
        #expect(drift.index == nil)
        for i in 29..<300 { drift.record(predictedClass: i % 3) }
        #expect(abs(try #require(drift.index)) < 1e-9)
        for _ in 0..<300 { drift.record(predictedClass: 2) }  // the window now holds only "up"
        let psi = try #require(drift.index)
        #expect(psi > 5, "\(psi)")
        #expect(drift.shares == [0, 0, 1])
        // PSI by hand: (1 - 1/3) ln(3) + 2 × (1e-4 - 1/3) ln(3e-4)
        let expected = (1 - 1.0 / 3) * log(3.0) + 2 * (1e-4 - 1.0 / 3) * log(1e-4 * 3)
        #expect(abs(psi - expected) < 1e-9)
    }

    @Test("a moderate shift sits between the thresholds; the window forgets the oldest")
    func moderate() throws {
        var drift = try #require(PredictionDrift(balance: [30, 40, 30], window: 100, minimum: 10))
        for i in 0..<100 { drift.record(predictedClass: i < 20 ? 0 : i < 60 ? 1 : 2) }  // 20/40/40
        let psi = try #require(drift.index)
        #expect(psi > 0.01 && psi < PredictionDrift.alertThreshold, "\(psi)")
        for i in 0..<100 { drift.record(predictedClass: i < 30 ? 0 : i < 70 ? 1 : 2) }
        #expect(abs(try #require(drift.index)) < 1e-9)
    }

    @Test("unusable balances are refused; classes out of range are ignored")
    func hostile() {
        #expect(PredictionDrift(balance: [1, 2]) == nil)
        #expect(PredictionDrift(balance: [0, 0, 0]) == nil)
        #expect(PredictionDrift(balance: [1, .nan, 1]) == nil)
        #expect(PredictionDrift(balance: [1, -1, 1]) == nil)
        #expect(PredictionDrift(balance: [.greatestFiniteMagnitude, .greatestFiniteMagnitude, 1]) == nil)
        var drift = PredictionDrift(balance: [1, 1, 1], window: 10, minimum: 1)
        drift?.record(predictedClass: 3)
        drift?.record(predictedClass: -1)
        #expect(drift?.index == nil)
    }

    @Test("the training balance is read from report.json; a missing or malformed one turns drift off")
    func report() throws {
        let directory = NSTemporaryDirectory() + "tickwire-drift-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(PredictionDrift.trainingBalance(directory: directory) == nil)
        let path = directory + "/report.json"
        for bad in [#"{"class_balance": {"down": 1, "up": 2}}"#, #"{"class_balance": "x"}"#, "[", #"{"class_balance": {"down": -1, "flat": 1, "up": 1}}"#] {
            try bad.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(PredictionDrift.trainingBalance(directory: directory) == nil, "\(bad)")
        }
        try #"{"rows": 9, "class_balance": {"down": 10, "flat": 20, "up": 30}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(PredictionDrift.trainingBalance(directory: directory) == [10, 20, 30])
    }
}
