import Models
import Testing

@Suite("Ensemble methods")
struct EnsembleMethodTests {
    // Two models lean up, one is sure of down.
    let models: [[Double]] = [[0.2, 0.2, 0.6], [0.3, 0.1, 0.6], [0.9, 0.05, 0.05]]

    func close(_ a: [Double], _ b: [Double]) -> Bool { zip(a, b).allSatisfy { abs($0 - $1) < 1e-12 } }

    @Test("simple average and confidence weighting use the probabilities, not the labels")
    func averages() {
        let simple = EnsembleMethod.simpleAverage.combine(models, weights: []).probabilities
        #expect(close(simple, [1.4 / 3, 0.35 / 3, 1.25 / 3]))
        // The confident down model pulls harder when weighted by confidence.
        let confident = EnsembleMethod.confidenceWeighted.combine(models, weights: []).probabilities
        #expect(confident[0] > simple[0])
        #expect(close(EnsembleMethod.confidenceWeighted.combine(models, weights: []).modelWeights, [0.6 / 2.1, 0.6 / 2.1, 0.9 / 2.1]))
    }

    @Test("majority vote: the majority's mean distribution; weighted vote can overturn it")
    func votes() {
        let majority = EnsembleMethod.majorityVote.combine(models, weights: [])
        #expect(close(majority.probabilities, [0.25, 0.15, 0.6]))
        #expect(close(majority.modelWeights, [0.5, 0.5, 0]))
        let weighted = EnsembleMethod.weightedVote.combine(models, weights: [1, 1, 3])
        #expect(close(weighted.probabilities, [0.9, 0.05, 0.05]))
    }

    @Test("weighted and dynamic weights; zero or missing weights fall back to equal")
    func weights() {
        let w = EnsembleMethod.weightedAverage.combine(models, weights: [2, 1, 1])
        #expect(close(w.modelWeights, [0.5, 0.25, 0.25]))
        #expect(close(EnsembleMethod.dynamicEnsemble.combine(models, weights: [0, 0, 0]).modelWeights, [1.0 / 3, 1.0 / 3, 1.0 / 3]))
        #expect(close(EnsembleMethod.dynamicEnsemble.combine(models, weights: [1]).modelWeights, [1.0 / 3, 1.0 / 3, 1.0 / 3]))
        for method in EnsembleMethod.allCases {
            let p = method.combine(models, weights: [1, 2, 3]).probabilities
            #expect(abs(p.reduce(0, +) - 1) < 1e-12, "\(method)")
        }
    }
}

@Suite("Temperature scaling")
struct TemperatureScalingTests {
    @Test("an over-confident model is softened until its confidence matches its hit rate")
    func calibrates() {
        // Always 90 % sure of its pick, right 60 % of the time.
        var probabilities: [[Double]] = []
        var labels: [Int] = []
        for i in 0..<1_000 {
            probabilities.append([0.05, 0.05, 0.9])
            labels.append(i % 10 < 6 ? 2 : (i % 2))
        }
        let t = TemperatureScaling.fit(probabilities: probabilities, labels: labels)
        #expect(t > 1)
        let calibrated = TemperatureScaling.apply([0.05, 0.05, 0.9], temperature: t)
        #expect(abs(calibrated[2] - 0.6) < 0.01, "\(calibrated)")
        #expect(TemperatureScaling.apply([0.2, 0.3, 0.5], temperature: 1) == [0.2, 0.3, 0.5])
    }
}
