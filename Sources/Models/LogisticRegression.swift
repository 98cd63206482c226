import Foundation

/// Multinomial (softmax) logistic regression with an L2 penalty, as scikit-learn's
/// `LogisticRegression(C=…)` with its default penalty: minimises
/// `Σᵢ −log p(yᵢ | xᵢ) + ‖W‖² / (2C)` over the weights `W` (one row per ``Direction``) and
/// unpenalised intercepts, on features scaled by its own ``Standardizer``. Fitted by L-BFGS
/// to convergence. The calibrated baseline.
public struct LogisticRegression: Classifier, Codable, Equatable {
    public var kind: String { "logreg" }
    /// Fitted on the training rows; applied to every row before the linear part.
    public var standardizer: Standardizer
    /// One row of weights per class (down, flat, up), on standardized features.
    public var coefficients: [[Double]]
    public var intercepts: [Double]

    public init(standardizer: Standardizer, coefficients: [[Double]], intercepts: [Double]) {
        self.standardizer = standardizer
        self.coefficients = coefficients
        self.intercepts = intercepts
    }

    public var featureCount: Int { standardizer.mean.count }

    public func probabilities(_ features: [Double]) -> [Double] {
        guard features.count == featureCount else { return Direction.uniform }
        let x = standardizer.transform(features)
        var scores = intercepts
        for k in scores.indices { scores[k] += dot(coefficients[k], x) }
        softmaxInPlace(&scores)
        return scores
    }
}

/// Trains ``LogisticRegression``. Hyperparameters: `C` (inverse L2 strength, 1.0),
/// `max_iter` (L-BFGS iterations, 1000).
public struct LogisticRegressionTrainer: ClassifierTrainer {
    public var kind: String { "logreg" }
    public let hyperparameters: [String: Double]
    public let c: Double
    public let maxIterations: Int

    public static let defaults: [String: Double] = ["C": 1.0, "max_iter": 1000]

    public init(hyperparameters given: [String: Double] = [:]) throws {
        let h = try Hyperparameters(kind: "logreg", defaults: Self.defaults, given: given)
        c = try h.number("C", "positive") { $0 > 0 }
        maxIterations = try h.integer("max_iter", atLeast: 1)
        hyperparameters = h.values
    }

    public func fit(rows: [[Double]], labels: [Int], seed: UInt64) throws -> any Classifier {
        try fitModel(rows: rows, labels: labels)
    }

    /// The same as ``fit(rows:labels:seed:)`` with the concrete type (no randomness is used).
    public func fitModel(rows: [[Double]], labels: [Int]) throws -> LogisticRegression {
        _ = try validateTrainingSet(rows: rows, labels: labels)
        let standardizer = Standardizer(fitting: rows)
        let scaled = rows.map(standardizer.transform)
        let (weights, intercepts) = fitSoftmaxRegression(
            rows: scaled, labels: labels, classes: Direction.count, c: c, maxIterations: maxIterations)
        return LogisticRegression(standardizer: standardizer, coefficients: weights, intercepts: intercepts)
    }
}

/// Fits multinomial logistic regression on `rows` (already scaled as wanted): weights (one row
/// per class) and intercepts minimising the summed log loss plus `‖W‖²/(2c)`.
func fitSoftmaxRegression(
    rows: [[Double]], labels: [Int], classes: Int, c: Double, maxIterations: Int
) -> (weights: [[Double]], intercepts: [Double]) {
    let n = rows.count, d = rows.first?.count ?? 0, k = classes
    let x = rows.flatMap { $0 }  // n × d, row-major
    let parameterCount = k * d + k  // weights (class-major) then intercepts
    let penalty = 1 / c
    var probabilities = [Double](repeating: 0, count: k)

    let solution = minimizeLBFGS(
        start: [Double](repeating: 0, count: parameterCount),
        maxIterations: maxIterations,
        gradientTolerance: 1e-7 * Double(max(n, 1))
    ) { theta, gradient in
        var loss = 0.0
        theta.withUnsafeBufferPointer { t in
            x.withUnsafeBufferPointer { x in
                gradient.withUnsafeMutableBufferPointer { g in
                    for j in 0..<parameterCount { g[j] = 0 }
                    for i in 0..<n {
                        let row = x.baseAddress! + i * d
                        var top = -Double.infinity
                        for cls in 0..<k {
                            var s = t[k * d + cls]
                            let w = t.baseAddress! + cls * d
                            for j in 0..<d { s += w[j] * row[j] }
                            probabilities[cls] = s
                            top = max(top, s)
                        }
                        var total = 0.0
                        for cls in 0..<k { probabilities[cls] = Foundation.exp(probabilities[cls] - top); total += probabilities[cls] }
                        let label = labels[i]
                        loss -= Foundation.log(probabilities[label] / total)
                        for cls in 0..<k {
                            let residual = probabilities[cls] / total - (cls == label ? 1 : 0)
                            let gw = g.baseAddress! + cls * d
                            for j in 0..<d { gw[j] += residual * row[j] }
                            g[k * d + cls] += residual
                        }
                    }
                    for j in 0..<(k * d) {
                        loss += 0.5 * penalty * t[j] * t[j]
                        g[j] += penalty * t[j]
                    }
                }
            }
        }
        return loss
    }
    let weights = (0..<k).map { Array(solution[($0 * d)..<($0 * d + d)]) }
    return (weights, Array(solution[(k * d)...]))
}
