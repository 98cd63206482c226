import Foundation

/// A random forest of CART classification trees (Breiman 2001), as scikit-learn's
/// `RandomForestClassifier`: each tree grows on a bootstrap sample (drawn rows weighted by how
/// often they were drawn) by Gini impurity, with `max_features` features drawn at each split;
/// the probabilities are the mean over the trees of the leaf's class frequencies.
public struct RandomForest: Classifier, Codable, Equatable {
    public var kind: String { "rf" }
    public var featureCount: Int
    public var trees: [DecisionTree]

    enum CodingKeys: String, CodingKey {
        case featureCount = "feature_count"
        case trees
    }

    public init(featureCount: Int, trees: [DecisionTree]) {
        self.featureCount = featureCount
        self.trees = trees
    }

    public func probabilities(_ features: [Double]) -> [Double] {
        guard features.count == featureCount else { return Direction.uniform }
        var out = [Double](repeating: 0, count: Direction.count)
        for tree in trees {
            let base = tree.leaf(features) * tree.width
            for k in 0..<Direction.count { out[k] += tree.value[base + k] }
        }
        let total = out.reduce(0, +)
        guard total > 0 else { return Direction.uniform }
        return out.map { $0 / total }
    }
}

/// Trains ``RandomForest``. Hyperparameters (defaults): `n_estimators` (100), `max_depth` (8),
/// `min_samples_leaf` (5), `min_samples_split` (2), `max_features` (0 = ⌊√n_features⌋, as
/// scikit-learn's "sqrt"; otherwise a count), `bootstrap` (1; 0 grows every tree on all rows).
public struct RandomForestTrainer: ClassifierTrainer {
    public var kind: String { "rf" }
    public let hyperparameters: [String: Double]
    let estimators: Int
    let maxDepth: Int
    let minSamplesLeaf: Int
    let minSamplesSplit: Int
    let maxFeatures: Int
    let bootstrap: Bool

    public static let defaults: [String: Double] = [
        "n_estimators": 100, "max_depth": 8, "min_samples_leaf": 5, "min_samples_split": 2,
        "max_features": 0, "bootstrap": 1,
    ]

    public init(hyperparameters given: [String: Double] = [:]) throws {
        let h = try Hyperparameters(kind: "rf", defaults: Self.defaults, given: given)
        estimators = try h.integer("n_estimators", atLeast: 1, atMost: ModelLimits.trees)
        maxDepth = try h.integer("max_depth", atLeast: 1, atMost: ModelLimits.treeDepth)
        minSamplesLeaf = try h.integer("min_samples_leaf", atLeast: 1)
        minSamplesSplit = try h.integer("min_samples_split", atLeast: 2)
        maxFeatures = try h.integer("max_features", atLeast: 0)
        bootstrap = try h.number("bootstrap", "0 or 1") { $0 == 0 || $0 == 1 } == 1
        hyperparameters = h.values
    }

    public func fit(rows: [[Double]], labels: [Int], seed: UInt64) throws -> any Classifier {
        try fitModel(rows: rows, labels: labels, seed: seed)
    }

    public func fitModel(rows: [[Double]], labels: [Int], seed: UInt64) throws -> RandomForest {
        let width = try validateTrainingSet(rows: rows, labels: labels)
        let data = TreeData(rows: rows)
        let n = rows.count
        let parameters = TreeParameters(
            maxDepth: maxDepth, minSamplesLeaf: minSamplesLeaf, minSamplesSplit: minSamplesSplit,
            maxFeatures: maxFeatures == 0 ? max(1, Int(Double(width).squareRoot())) : min(maxFeatures, width))
        let target = TreeTarget.classes(labels: labels, count: Direction.count)
        var trees: [DecisionTree] = []
        trees.reserveCapacity(estimators)
        var weight = [Double](repeating: 0, count: n)
        for t in 0..<estimators {
            // Each tree has a stream of its own: tree t is the same whatever the other trees draw.
            var generator = SeededGenerator(seed: seed, stream: UInt64(t))
            if bootstrap {
                for i in 0..<n { weight[i] = 0 }
                for _ in 0..<n { weight[generator.below(n)] += 1 }
            } else {
                for i in 0..<n { weight[i] = 1 }
            }
            trees.append(growTree(data: data, target: target, weight: weight, parameters: parameters,
                                  generator: &generator))
        }
        return RandomForest(featureCount: width, trees: trees)
    }
}
