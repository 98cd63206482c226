/// How the signal generator (and the training report) combines the models' direction
/// probabilities into one distribution. Every method combines probabilities, never bare
/// labels; the names are the seed's.
public enum EnsembleMethod: String, Sendable, CaseIterable, Codable {
    /// The mean of the models' distributions.
    case simpleAverage = "simple_average"
    /// The weighted mean, with configured weights (`models.weights`, default 1).
    case weightedAverage = "weighted_average"
    /// The direction most models rank first wins; the result is the mean distribution of the
    /// models that voted for it (ties: the mean of all).
    case majorityVote = "majority_vote"
    /// As `majority_vote`, each vote counting with its configured weight.
    case weightedVote = "weighted_vote"
    /// The mean weighted by each model's confidence (its largest probability).
    case confidenceWeighted = "confidence_weighted"
    /// The mean weighted by each model's decayed accuracy on live outcomes.
    case dynamicEnsemble = "dynamic_ensemble"

    /// Combines `distributions` (one 3-vector per model; another length counts for nothing) with `weights` (configured weights
    /// for the weighted methods, live accuracies for `dynamic_ensemble`; ignored otherwise).
    /// Returns the combined distribution and the weight each model effectively had (sums to 1).
    public func combine(_ distributions: [[Double]], weights: [Double]) -> (probabilities: [Double], modelWeights: [Double]) {
        let n = distributions.count
        guard n > 0 else { return ([0, 1, 0], []) }
        func normalized(_ w: [Double]) -> [Double] {
            let clean = w.map { $0.isFinite && $0 > 0 ? $0 : 0 }
            let total = clean.reduce(0, +)
            return total > 0 ? clean.map { $0 / total } : [Double](repeating: 1 / Double(n), count: n)
        }
        func weightedMean(_ w: [Double]) -> [Double] {
            var out = [Double](repeating: 0, count: Direction.count)
            for (p, wi) in zip(distributions, w) where p.count == Direction.count {
                for k in 0..<Direction.count { out[k] += wi * p[k] }
            }
            let total = out.reduce(0, +)
            return total > 0 ? out.map { $0 / total } : [1.0 / 3, 1.0 / 3, 1.0 / 3]
        }
        func vote(_ voteWeights: [Double]) -> [Double] {
            var tally = [Double](repeating: 0, count: Direction.count)
            let choices = distributions.map { Direction.mostLikely($0) }
            for (choice, w) in zip(choices, voteWeights) { tally[choice] += w }
            let top = tally.max() ?? 0
            let winners = tally.indices.filter { tally[$0] == top }
            guard winners.count == 1 else { return normalized(voteWeights) }
            return normalized(zip(choices, voteWeights).map { $0.0 == winners[0] ? $0.1 : 0 })
        }
        let given = weights.count == n ? weights : [Double](repeating: 1, count: n)
        let effective: [Double]
        switch self {
        case .simpleAverage: effective = normalized([Double](repeating: 1, count: n))
        case .weightedAverage, .dynamicEnsemble: effective = normalized(given)
        case .majorityVote: effective = vote([Double](repeating: 1, count: n))
        case .weightedVote: effective = vote(normalized(given))
        case .confidenceWeighted: effective = normalized(distributions.map { $0.max() ?? 0 })
        }
        return (weightedMean(effective), effective)
    }
}
