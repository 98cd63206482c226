import Foundation
import Models

/// Scores of probabilistic 3-class predictions against labels.
public struct Scores: Sendable, Codable, Equatable {
    public var count: Int
    public var accuracy: Double
    public var balancedAccuracy: Double
    public var logLoss: Double
    /// Macro-averaged one-vs-rest ROC AUC (classes absent from the labels are skipped).
    public var auc: Double
    public var calibration: [CalibrationBin]

    enum CodingKeys: String, CodingKey {
        case count, accuracy, calibration, auc
        case balancedAccuracy = "balanced_accuracy"
        case logLoss = "log_loss"
    }

    /// Predictions grouped by the confidence of the predicted class: is a 70 % call right 70 %
    /// of the time?
    public struct CalibrationBin: Sendable, Codable, Equatable {
        public var lower: Double
        public var upper: Double
        public var count: Int
        public var meanConfidence: Double
        public var accuracy: Double

        enum CodingKeys: String, CodingKey {
            case lower, upper, count, accuracy
            case meanConfidence = "mean_confidence"
        }
    }

    public init(probabilities: [[Double]], labels: [Int]) {
        precondition(probabilities.count == labels.count, "one probability row per label")
        count = labels.count
        var correct = 0
        var perClass = [Int](repeating: 0, count: Direction.count)
        var perClassCorrect = [Int](repeating: 0, count: Direction.count)
        var loss = 0.0
        let bounds = [0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001]
        var bins = (0..<bounds.count - 1).map { CalibrationBin(lower: bounds[$0], upper: min(bounds[$0 + 1], 1), count: 0, meanConfidence: 0, accuracy: 0) }
        for (p, y) in zip(probabilities, labels) {
            let predicted = Direction.mostLikely(p)
            perClass[y] += 1
            if predicted == y { correct += 1; perClassCorrect[y] += 1 }
            loss -= log(max(p[y], 1e-15))
            let confidence = p[predicted]
            if let b = bins.indices.last(where: { confidence >= bounds[$0] }) {
                bins[b].count += 1
                bins[b].meanConfidence += confidence
                bins[b].accuracy += predicted == y ? 1 : 0
            }
        }
        let n = Double(max(count, 1))
        accuracy = Double(correct) / n
        let recalls = (0..<Direction.count).filter { perClass[$0] > 0 }.map { Double(perClassCorrect[$0]) / Double(perClass[$0]) }
        balancedAccuracy = recalls.isEmpty ? 0 : recalls.reduce(0, +) / Double(recalls.count)
        logLoss = loss / n
        calibration = bins.filter { $0.count > 0 }.map { bin in
            var bin = bin
            bin.meanConfidence /= Double(bin.count)
            bin.accuracy /= Double(bin.count)
            return bin
        }
        var aucs: [Double] = []
        for k in 0..<Direction.count where perClass[k] > 0 && perClass[k] < count {
            aucs.append(Scores.auc(scores: probabilities.map { $0[k] }, positives: labels.map { $0 == k }))
        }
        auc = aucs.isEmpty ? 0.5 : aucs.reduce(0, +) / Double(aucs.count)
    }

    /// ROC AUC by ranks (ties get the average rank): the probability that a positive scores
    /// above a negative.
    static func auc(scores: [Double], positives: [Bool]) -> Double {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var ranks = [Double](repeating: 0, count: scores.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = rank }
            i = j + 1
        }
        let positiveCount = Double(positives.filter { $0 }.count)
        let negativeCount = Double(positives.count) - positiveCount
        guard positiveCount > 0, negativeCount > 0 else { return 0.5 }
        let rankSum = zip(ranks, positives).filter(\.1).map(\.0).reduce(0, +)
        return (rankSum - positiveCount * (positiveCount + 1) / 2) / (positiveCount * negativeCount)
    }
}
