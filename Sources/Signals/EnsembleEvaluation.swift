import Contracts
import FeatureContract
import Models

/// One feature row through the served ensemble: the models' distributions combined by the
/// ensemble method and calibrated with the ensemble's temperature. The signal generator and
/// the `Tickwire` library's `EnsembleStrategy` both decide from it.
public struct EnsembleEvaluation: Sendable {
    /// Each model's calibrated distribution (down, flat, up), in the models' order.
    public var distributions: [[Double]]
    /// The weight each model effectively had in the combination (sums to 1).
    public var modelWeights: [Double]
    /// The combined distribution (down, flat, up), after the ensemble's temperature.
    public var probabilities: [Double]

    /// Combines `distributions` (``LiveModel/predict(_:)`` of each of `models`, in order) with
    /// `method`: the weighted methods take `weights` by model name (1 when not named),
    /// `dynamic_ensemble` each model's decayed live accuracy from `accuracy` (its validation
    /// accuracy before any outcome). The first model's ensemble temperature calibrates the result.
    public init(
        models: [LiveModel], distributions: [[Double]], method: EnsembleMethod, weights: [String: Double],
        accuracy: LiveAccuracy
    ) {
        let given: [Double]
        switch method {
        case .weightedAverage, .weightedVote: given = models.map { weights[$0.name] ?? 1 }
        case .dynamicEnsemble: given = models.map { accuracy.accuracy(of: $0) }
        default: given = []
        }
        let (combined, modelWeights) = method.combine(distributions, weights: given)
        self.distributions = distributions
        self.modelWeights = modelWeights
        probabilities = TemperatureScaling.apply(combined, temperature: models.first?.ensembleTemperature ?? 1)
    }

    /// Each model's vote as a signal carries it: its most likely direction and that
    /// direction's probability, its weight, its whole distribution, and its live accuracy
    /// (0 before any outcome).
    public func votes(models: [LiveModel], accuracy: LiveAccuracy) -> [ModelVote] {
        zip(models, zip(distributions, modelWeights)).map { model, pair -> ModelVote in
            var vote = ModelVote()
            vote.model = model.name
            let choice = Direction.mostLikely(pair.0)
            vote.action = choice == Direction.up.rawValue ? .buy : (choice == Direction.down.rawValue ? .sell : .hold)
            vote.probability = pair.0[choice]
            vote.weight = pair.1
            vote.probabilityDown = pair.0[0]
            vote.probabilityFlat = pair.0[1]
            vote.probabilityUp = pair.0[2]
            vote.liveAccuracy = accuracy.models[model.name]?.accuracy ?? 0
            return vote
        }
    }
}

extension SignalPolicy {
    /// Where `natr_14` (ATR / close) sits in the feature vector, for the stop distance.
    public static let natrIndex = FeatureSchema.default.index(of: "natr_14")

    /// ``decide(probabilities:price:atr:)`` at the bar `features` describe: its close is the
    /// price, and `natr_14` times the close the ATR (no stop when the vector lacks it).
    public func decide(probabilities: [Double], features: FeatureVector) -> Decision {
        let natr = Self.natrIndex.flatMap { features.values.indices.contains($0) ? features.values[$0] : nil } ?? 0
        return decide(probabilities: probabilities, price: features.close, atr: natr * features.close)
    }
}
