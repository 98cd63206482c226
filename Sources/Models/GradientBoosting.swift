import Foundation

/// Multiclass gradient boosting of regression trees with the softmax (multinomial deviance)
/// loss, as scikit-learn's `GradientBoostingClassifier` (Friedman 2001): starting from the log
/// class priors, each round fits one squared-error regression tree per class to the negative
/// gradient `yₖ − pₖ` and sets each leaf to the Newton step
/// `(K−1)/K · Σ(yₖ − pₖ) / Σ pₖ(1 − pₖ)`, shrunk by the learning rate.
public struct GradientBoosting: Classifier, Codable, Equatable {
    public var kind: String { "gbt" }
    public var featureCount: Int
    /// The raw scores before any tree (log class priors, centred).
    public var initial: [Double]
    /// One tree per class per round; leaf values already include the learning rate.
    public var rounds: [[DecisionTree]]

    enum CodingKeys: String, CodingKey {
        case featureCount = "feature_count"
        case initial, rounds
    }

    public init(featureCount: Int, initial: [Double], rounds: [[DecisionTree]]) {
        self.featureCount = featureCount
        self.initial = initial
        self.rounds = rounds
    }

    /// The raw (pre-softmax) scores of one row; zeros for a row that is not ``featureCount`` wide.
    public func scores(_ features: [Double]) -> [Double] {
        guard features.count == featureCount else { return [Double](repeating: 0, count: Direction.count) }
        var raw = initial
        for round in rounds {
            for (k, tree) in round.enumerated() { raw[k] += tree.value[tree.leaf(features)] }
        }
        return raw
    }

    public func probabilities(_ features: [Double]) -> [Double] {
        guard features.count == featureCount else { return Direction.uniform }
        var raw = scores(features)
        softmaxInPlace(&raw)
        return raw
    }
}

/// Trains ``GradientBoosting``. Hyperparameters (defaults, scikit-learn's): `n_estimators`
/// (100 rounds), `learning_rate` (0.1), `max_depth` (3), `min_samples_leaf` (1),
/// `min_samples_split` (2), `subsample` (1.0: a fraction below 1 grows each round on that
/// share of the rows drawn without replacement), `max_features` (0 = all).
public struct GradientBoostingTrainer: ClassifierTrainer {
    public var kind: String { "gbt" }
    public let hyperparameters: [String: Double]
    let estimators: Int
    let learningRate: Double
    let maxDepth: Int
    let minSamplesLeaf: Int
    let minSamplesSplit: Int
    let subsample: Double
    let maxFeatures: Int

    public static let defaults: [String: Double] = [
        "n_estimators": 100, "learning_rate": 0.1, "max_depth": 3, "min_samples_leaf": 1,
        "min_samples_split": 2, "subsample": 1.0, "max_features": 0,
    ]

    public init(hyperparameters given: [String: Double] = [:]) throws {
        let h = try Hyperparameters(kind: "gbt", defaults: Self.defaults, given: given)
        estimators = try h.integer("n_estimators", atLeast: 1, atMost: ModelLimits.trees)
        learningRate = try h.number("learning_rate", "positive") { $0 > 0 }
        maxDepth = try h.integer("max_depth", atLeast: 1, atMost: ModelLimits.treeDepth)
        minSamplesLeaf = try h.integer("min_samples_leaf", atLeast: 1)
        minSamplesSplit = try h.integer("min_samples_split", atLeast: 2)
        subsample = try h.number("subsample", "in (0, 1]") { $0 > 0 && $0 <= 1 }
        maxFeatures = try h.integer("max_features", atLeast: 0)
        hyperparameters = h.values
    }

    public func fit(rows: [[Double]], labels: [Int], seed: UInt64) throws -> any Classifier {
        try fitModel(rows: rows, labels: labels, seed: seed)
    }

    public func fitModel(rows: [[Double]], labels: [Int], seed: UInt64) throws -> GradientBoosting {
        let width = try validateTrainingSet(rows: rows, labels: labels)
        let n = rows.count, classes = Direction.count
        let data = TreeData(rows: rows)
        let parameters = TreeParameters(
            maxDepth: maxDepth, minSamplesLeaf: minSamplesLeaf, minSamplesSplit: minSamplesSplit,
            maxFeatures: maxFeatures == 0 ? width : min(maxFeatures, width))

        // Log priors, clipped as scikit-learn's, centred (softmax does not see the shift).
        var prior = [Double](repeating: 0, count: classes)
        for label in labels { prior[label] += 1 }
        var initial = prior.map { Foundation.log(min(max($0 / Double(n), Double.ulpOfOne), 1 - Double.ulpOfOne)) }
        let mean = initial.reduce(0, +) / Double(classes)
        initial = initial.map { $0 - mean }

        var raw = [Double](repeating: 0, count: n * classes)
        for i in 0..<n { for k in 0..<classes { raw[i * classes + k] = initial[k] } }
        var probability = [Double](repeating: 0, count: n * classes)
        var residual = [Double](repeating: 0, count: n)
        var hessian = [Double](repeating: 0, count: n)
        var weight = [Double](repeating: 1, count: n)
        let inBag = subsample < 1 ? max(1, Int(subsample * Double(n))) : n
        var permutation = Array(0..<n)
        let scale = learningRate * Double(classes - 1) / Double(classes)
        var rounds: [[DecisionTree]] = []
        rounds.reserveCapacity(estimators)

        for round in 0..<estimators {
            var generator = SeededGenerator(seed: seed, stream: UInt64(round))
            if inBag < n {
                generator.shuffle(&permutation)
                for i in 0..<n { weight[i] = 0 }
                for i in permutation.prefix(inBag) { weight[i] = 1 }
            }
            // Gradients of every class from the scores at the start of the round.
            for i in 0..<n {
                var top = -Double.infinity
                for k in 0..<classes { top = max(top, raw[i * classes + k]) }
                var total = 0.0
                for k in 0..<classes {
                    let e = Foundation.exp(raw[i * classes + k] - top)
                    probability[i * classes + k] = e
                    total += e
                }
                for k in 0..<classes { probability[i * classes + k] /= total }
            }
            var trees: [DecisionTree] = []
            for k in 0..<classes {
                for i in 0..<n {
                    let p = probability[i * classes + k]
                    residual[i] = (labels[i] == k ? 1 : 0) - p
                    hessian[i] = p * (1 - p)
                }
                let tree = growTree(
                    data: data, target: .newton(residual: residual, hessian: hessian, scale: scale),
                    weight: weight, parameters: parameters, generator: &generator)
                for i in 0..<n { raw[i * classes + k] += tree.value[tree.leaf(rows[i])] }
                trees.append(tree)
            }
            rounds.append(trees)
        }
        return GradientBoosting(featureCount: width, initial: initial, rounds: rounds)
    }
}
