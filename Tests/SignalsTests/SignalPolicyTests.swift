import Contracts
import Foundation
import Models
import Signals
import Testing

@Suite("Signal policy")
struct SignalPolicyTests {
    let policy = SignalPolicy(threshold: 0.6, capital: 100_000, riskPerTrade: 0.01, atrStopMultiple: 2, maxPositionFraction: 0.25)

    @Test("BUY and SELL need their direction at the threshold; otherwise HOLD")
    func actions() {
        #expect(policy.decide(probabilities: [0.1, 0.2, 0.7], price: 100, atr: 1).action == .buy)
        #expect(policy.decide(probabilities: [0.65, 0.2, 0.15], price: 100, atr: 1).action == .sell)
        let hold = policy.decide(probabilities: [0.3, 0.2, 0.5], price: 100, atr: 1)
        #expect(hold.action == .hold && hold.shares == 0 && hold.stopLoss == 0)
        #expect(abs(hold.confidence - 0.5) < 1e-12)
    }

    @Test("risk per trade at an ATR stop, capped by the position limit, at any price", arguments: [0.5, 75.0, 600.0, 250_000.0])
    func sizing(price: Double) {
        let atr = price * 0.01
        let buy = policy.decide(probabilities: [0.1, 0.1, 0.8], price: price, atr: atr)
        #expect(abs(buy.stopLoss - (price - 2 * atr)) < 1e-9 * price)
        #expect(buy.shares > 0, "no position at \(price)")
        #expect(buy.riskAmount <= 1_000 + 1e-6)
        #expect(buy.positionFraction <= 0.25 + 1e-12)
        let sell = policy.decide(probabilities: [0.8, 0.1, 0.1], price: price, atr: atr)
        #expect(sell.stopLoss > price)
    }
}

@Suite("Live accuracy")
struct LiveAccuracyTests {
    struct Fixed: Classifier {
        let kind = "fixed"
        let featureCount = 1
        func probabilities(_ features: [Double]) -> [Double] { [0.2, 0.3, 0.5] }
    }

    @Test("decays toward the live hit rate from the validation accuracy, and survives a save and load")
    func decayAndPersist() throws {
        let model = LiveModel(
            name: "m", version: "1", kind: "fixed", classifier: Fixed(), validationAccuracy: 0.5, horizon: 5,
            deadZone: 0.001, schemaHash: "x")
        var accuracy = LiveAccuracy()
        #expect(accuracy.accuracy(of: model) == 0.5)
        for _ in 0..<200 { accuracy.record(model, hit: false, decay: 0.98) }
        #expect(accuracy.accuracy(of: model) < 0.01)
        #expect(accuracy.models["m"]?.outcomes == 200)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("live-\(UUID().uuidString)/state.json").path
        try accuracy.save(path: path)
        #expect(try LiveAccuracy.load(path: path) == accuracy)
    }

    @Test("drift: alerts once when live accuracy falls too far below validation, again only after recovering")
    func drift() {
        let model = LiveModel(
            name: "m", version: "1", kind: "fixed", classifier: Fixed(), validationAccuracy: 0.6, horizon: 5,
            deadZone: 0.001, schemaHash: "x")
        var accuracy = LiveAccuracy()
        var alerts = 0
        for _ in 0..<60 {
            accuracy.record(model, hit: false, decay: 0.95)
            if accuracy.checkDrift(model, threshold: 0.1, minOutcomes: 30) { alerts += 1 }
        }
        #expect(alerts == 1 && accuracy.models["m"]?.drifting == true)
        for _ in 0..<100 {
            accuracy.record(model, hit: true, decay: 0.95)
            if accuracy.checkDrift(model, threshold: 0.1, minOutcomes: 30) { alerts += 1 }
        }
        #expect(alerts == 1 && accuracy.models["m"]?.drifting == false)
        for _ in 0..<60 {
            accuracy.record(model, hit: false, decay: 0.95)
            if accuracy.checkDrift(model, threshold: 0.1, minOutcomes: 30) { alerts += 1 }
        }
        #expect(alerts == 2)
    }
}
