import Foundation

/// An RBF-kernel support vector machine, approximated so that it trains in linear time:
///
/// 1. Features are standardized (its own ``Standardizer``, fitted on the training rows).
/// 2. The RBF kernel `k(x, y) = exp(−γ‖x − y‖²)` is approximated by `D` random Fourier
///    features (Rahimi & Recht, "Random Features for Large-Scale Kernel Machines", 2007):
///    `z(x) = √(2/D) · cos(Ωx + b)` with the rows of `Ω` drawn from `N(0, 2γI)` and `b` from
///    `U[0, 2π)`, so that `z(x)·z(y) ≈ k(x, y)` (error `O(1/√D)`). By default
///    `γ = 1 / (n_features · Var(X))` over the standardized training matrix, scikit-learn's
///    `gamma='scale'`.
/// 3. On `z(x)` plus a constant 1 (the bias, penalised as in LIBLINEAR), one linear
///    one-vs-rest L2-regularised squared-hinge SVM per class, solved exactly by dual
///    coordinate descent (Hsieh et al. 2008, LIBLINEAR's `L2R_L2LOSS_SVC_DUAL`) with
///    penalty `C`.
/// 4. Probabilities: a multinomial logistic regression (softmax Platt scaling) on the three
///    decision values. It is fitted on out-of-fold decision values of the training rows
///    (`calibration_folds` contiguous, time-ordered folds, each scored by an SVM trained on the
///    others), as scikit-learn's `SVC(probability=True)` calibrates by internal
///    cross-validation; the final SVMs are then trained on all rows.
///
/// The result differs from an exact kernel SVM (`SVC`) by the kernel approximation, by the
/// squared hinge and one-vs-rest decomposition (`SVC` uses the hinge and one-vs-one), and by
/// the calibration.
public struct RBFSupportVectorMachine: Classifier, Codable, Equatable {
    public var kind: String { "svm" }
    public var standardizer: Standardizer
    public var gamma: Double
    /// The random frequencies `Ω`, `D` rows of `n_features`, row-major.
    public var frequencies: [Double]
    /// The random phases `b`, one per component.
    public var phases: [Double]
    /// Per class, `D` weights then the bias weight.
    public var weights: [[Double]]
    /// Softmax calibration on the decision values: one row per class, then intercepts.
    public var calibrationCoefficients: [[Double]]
    public var calibrationIntercepts: [Double]

    enum CodingKeys: String, CodingKey {
        case standardizer, gamma, frequencies, phases, weights
        case calibrationCoefficients = "calibration_coefficients"
        case calibrationIntercepts = "calibration_intercepts"
    }

    public init(standardizer: Standardizer, gamma: Double, frequencies: [Double], phases: [Double],
                weights: [[Double]], calibrationCoefficients: [[Double]], calibrationIntercepts: [Double]) {
        self.standardizer = standardizer
        self.gamma = gamma
        self.frequencies = frequencies
        self.phases = phases
        self.weights = weights
        self.calibrationCoefficients = calibrationCoefficients
        self.calibrationIntercepts = calibrationIntercepts
    }

    public var featureCount: Int { standardizer.mean.count }
    public var components: Int { phases.count }

    /// The random Fourier features `z(x)` of one raw row (standardized first), followed by the
    /// constant 1 the bias weight multiplies: `z(x)·z(y)` without the last terms approximates
    /// `exp(−γ‖x − y‖²)` on standardized rows. Empty for a row that is not ``featureCount`` wide.
    public func fourierFeatures(_ features: [Double]) -> [Double] {
        guard features.count == featureCount, frequencies.count == components * featureCount else { return [] }
        return randomFeatures(standardizer.transform(features), frequencies: frequencies, phases: phases)
    }

    /// The one-vs-rest decision values of one row.
    public func decisionValues(_ features: [Double]) -> [Double] {
        let z = fourierFeatures(features)
        return weights.map { dot($0, z) }
    }

    public func probabilities(_ features: [Double]) -> [Double] {
        guard features.count == featureCount, frequencies.count == components * featureCount,
              calibrationCoefficients.count == calibrationIntercepts.count else { return Direction.uniform }
        let decisions = decisionValues(features)
        var scores = calibrationIntercepts
        for k in scores.indices { scores[k] += dot(calibrationCoefficients[k], decisions) }
        softmaxInPlace(&scores)
        return scores
    }
}

/// `z(x)` with a trailing 1 for the bias.
func randomFeatures(_ x: [Double], frequencies: [Double], phases: [Double]) -> [Double] {
    let components = phases.count, d = x.count
    var z = [Double](repeating: 1, count: components + 1)
    guard components > 0, d > 0, frequencies.count == components * d else { return z }
    let norm = (2 / Double(components)).squareRoot()
    frequencies.withUnsafeBufferPointer { omega in
        x.withUnsafeBufferPointer { x in
            guard let base = omega.baseAddress else { return }
            for j in 0..<components {
                let row = base + j * d
                var s = phases[j]
                for f in 0..<d { s += row[f] * x[f] }
                z[j] = norm * Foundation.cos(s)
            }
        }
    }
    return z
}

/// Trains ``RBFSupportVectorMachine``. Hyperparameters (defaults): `C` (1.0), `n_components`
/// (`D`, 1000), `gamma` (0 = scikit-learn's `'scale'`), `max_iter` (epochs of coordinate
/// descent per class, 200), `tol` (stopping tolerance on the projected gradient, 0.1, as
/// LIBLINEAR), `calibration_folds` (3; 1 fits the calibration on in-sample decision values).
public struct RBFSupportVectorMachineTrainer: ClassifierTrainer {
    public var kind: String { "svm" }
    public let hyperparameters: [String: Double]
    let c: Double
    let components: Int
    let gamma: Double
    let maxIterations: Int
    let tolerance: Double
    let calibrationFolds: Int

    public static let defaults: [String: Double] = [
        "C": 1.0, "n_components": 1000, "gamma": 0, "max_iter": 200, "tol": 0.1, "calibration_folds": 3,
    ]

    public init(hyperparameters given: [String: Double] = [:]) throws {
        let h = try Hyperparameters(kind: "svm", defaults: Self.defaults, given: given)
        c = try h.number("C", "positive") { $0 > 0 }
        components = try h.integer("n_components", atLeast: 1, atMost: ModelLimits.components)
        gamma = try h.number("gamma", "0 (scale) or positive") { $0 >= 0 }
        maxIterations = try h.integer("max_iter", atLeast: 1)
        tolerance = try h.number("tol", "positive") { $0 > 0 }
        calibrationFolds = try h.integer("calibration_folds", atLeast: 1)
        hyperparameters = h.values
    }

    public func fit(rows: [[Double]], labels: [Int], seed: UInt64) throws -> any Classifier {
        try fitModel(rows: rows, labels: labels, seed: seed)
    }

    public func fitModel(rows: [[Double]], labels: [Int], seed: UInt64) throws -> RBFSupportVectorMachine {
        let d = try validateTrainingSet(rows: rows, labels: labels)
        let n = rows.count, classes = Direction.count
        let standardizer = Standardizer(fitting: rows)
        let scaled = rows.map(standardizer.transform)

        var gamma = self.gamma
        if gamma == 0 {
            var sum = 0.0, squares = 0.0
            for row in scaled { for v in row { sum += v; squares += v * v } }
            let count = Double(n * d)
            let variance = squares / count - (sum / count) * (sum / count)
            gamma = variance > 1e-12 ? 1 / (Double(d) * variance) : 1
        }
        var generator = SeededGenerator(seed: seed, stream: 0)
        let deviation = (2 * gamma).squareRoot()
        var frequencies = [Double](repeating: 0, count: components * d)
        for i in frequencies.indices { frequencies[i] = deviation * generator.gaussian() }
        let phases = (0..<components).map { _ in 2 * Double.pi * generator.unit() }
        let z = scaled.map { randomFeatures($0, frequencies: frequencies, phases: phases) }

        // Out-of-fold decision values for the calibration.
        let folds = min(calibrationFolds, n)
        var decisions = [[Double]](repeating: [Double](repeating: 0, count: classes), count: n)
        if folds > 1 {
            for fold in 0..<folds {
                let lower = fold * n / folds, upper = (fold + 1) * n / folds
                let training = Array(0..<lower) + Array(upper..<n)
                var foldGenerator = SeededGenerator(seed: seed, stream: UInt64(fold + 1))
                let w = trainOneVsRest(z: z, labels: labels, rows: training, generator: &foldGenerator)
                for i in lower..<upper { decisions[i] = w.map { dot($0, z[i]) } }
            }
        }
        var finalGenerator = SeededGenerator(seed: seed, stream: UInt64(folds + 1))
        let weights = trainOneVsRest(z: z, labels: labels, rows: Array(0..<n), generator: &finalGenerator)
        if folds <= 1 {
            for i in 0..<n { decisions[i] = weights.map { dot($0, z[i]) } }
        }
        let (coefficients, intercepts) = fitSoftmaxRegression(
            rows: decisions, labels: labels, classes: classes, c: 100, maxIterations: 1000)
        return RBFSupportVectorMachine(
            standardizer: standardizer, gamma: gamma, frequencies: frequencies, phases: phases,
            weights: weights, calibrationCoefficients: coefficients, calibrationIntercepts: intercepts)
    }

    /// One squared-hinge linear SVM per class (that class against the rest) on `z[rows]`.
    private func trainOneVsRest(z: [[Double]], labels: [Int], rows: [Int],
                                generator: inout SeededGenerator) -> [[Double]] {
        (0..<Direction.count).map { k in
            dualCoordinateDescent(z: z, targets: rows.map { labels[$0] == k ? 1 : -1 }, rows: rows,
                                  generator: &generator)
        }
    }

    /// LIBLINEAR's dual coordinate descent for the L2-regularised squared-hinge SVM
    /// (Hsieh et al. 2008, algorithm 1 without shrinking): `min ½‖w‖² + C Σ max(0, 1 − yᵢ w·zᵢ)²`.
    private func dualCoordinateDescent(z: [[Double]], targets: [Double], rows: [Int],
                                       generator: inout SeededGenerator) -> [Double] {
        let width = z.first?.count ?? 0
        let m = rows.count
        let diagonal = 1 / (2 * c)
        var w = [Double](repeating: 0, count: width)
        var alpha = [Double](repeating: 0, count: m)
        let q = rows.map { dot(z[$0], z[$0]) + diagonal }
        var permutation = Array(0..<m)
        for _ in 0..<maxIterations {
            generator.shuffle(&permutation)
            var largest = -Double.infinity, smallest = Double.infinity
            w.withUnsafeMutableBufferPointer { w in
                for t in permutation {
                    let y = targets[t]
                    z[rows[t]].withUnsafeBufferPointer { x in
                        var margin = 0.0
                        for j in 0..<width { margin += w[j] * x[j] }
                        let gradient = y * margin - 1 + diagonal * alpha[t]
                        let projected = alpha[t] == 0 ? min(gradient, 0) : gradient
                        largest = max(largest, projected)
                        smallest = min(smallest, projected)
                        if abs(projected) > 1e-12 {
                            let old = alpha[t]
                            alpha[t] = max(old - gradient / q[t], 0)
                            let delta = (alpha[t] - old) * y
                            for j in 0..<width { w[j] += delta * x[j] }
                        }
                    }
                }
            }
            if largest - smallest <= tolerance { break }
        }
        return w
    }
}
