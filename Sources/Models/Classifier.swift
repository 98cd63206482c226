import Foundation

/// The three outcomes every model predicts, in this order everywhere (probability vectors,
/// class indices, model files): the return over `horizon` bars falls below `-dead_zone`
/// (down), stays within it (flat), or exceeds it (up).
public enum Direction: Int, Sendable, CaseIterable, Codable {
    case down = 0
    case flat = 1
    case up = 2

    public static let count = 3

    /// The index of the most probable direction in `probabilities` (the first on ties; flat
    /// for an empty list).
    public static func mostLikely(_ probabilities: [Double]) -> Int {
        guard !probabilities.isEmpty else { return flat.rawValue }
        var best = 0
        for k in probabilities.indices.dropFirst() where probabilities[k] > probabilities[best] { best = k }
        return best
    }

    /// Every direction equally likely: what a model answers for a row it cannot read.
    public static let uniform = [Double](repeating: 1.0 / Double(count), count: count)
}

extension Direction {
    /// The log return from one close to a later one; 0 unless both are positive. Training's
    /// labels and the live outcomes the signal generator scores both use it.
    public static func logReturn(from: Double, to: Double) -> Double {
        from > 0 && to > 0 ? log(to / from) : 0
    }

    /// The direction of a forward log return: up above `deadZone`, down below `-deadZone`,
    /// flat between (and for NaN). The label a model is trained on and scored against live.
    public init(forwardReturn: Double, deadZone: Double) {
        self = forwardReturn > deadZone ? .up : (forwardReturn < -deadZone ? .down : .flat)
    }
}

/// A trained model: features in, one probability per ``Direction`` out (summing to 1).
///
/// Implementations are immutable values, so one model serves any number of tasks.
/// `features` are raw feature values in the schema's order; a model that needs scaling
/// carries its own ``Standardizer`` fitted on its training rows only.
public protocol Classifier: Sendable {
    /// Short kind name: `logreg`, `rf`, `gbt`, `svm`, `xgboost`.
    var kind: String { get }
    /// The number of features a row must have.
    var featureCount: Int { get }
    /// Whether a NaN feature means "missing" (XGBoost) rather than a bad row.
    var acceptsMissingValues: Bool { get }
    /// Probabilities of down, flat and up for one feature row of ``featureCount`` values. Never
    /// traps: a row of another width gets ``Direction/uniform``. Rows from outside go through
    /// ``predict(_:)``, which says what is wrong instead.
    func probabilities(_ features: [Double]) -> [Double]
}

extension Classifier {
    public var acceptsMissingValues: Bool { false }

    /// ``probabilities(_:)`` for a row from outside: throws when the row has the wrong width or
    /// a non-finite value (NaN is allowed when ``acceptsMissingValues``), and when the answer is
    /// not three finite probabilities (an extreme row can overflow a model's arithmetic).
    public func predict(_ features: [Double]) throws(PredictionError) -> [Double] {
        guard features.count == featureCount else {
            throw .featureCount(count: features.count, expected: featureCount)
        }
        let missingAllowed = acceptsMissingValues
        for (index, value) in features.enumerated() where !value.isFinite && !(missingAllowed && value.isNaN) {
            throw .nonFiniteFeature(index: index)
        }
        let p = probabilities(features)
        guard p.count == Direction.count, p.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw .nonFiniteOutput(kind: kind)
        }
        return p
    }
}

/// Learns a ``Classifier`` from rows and labels (class indices 0...2), deterministically for a
/// given seed.
public protocol ClassifierTrainer: Sendable {
    var kind: String { get }
    /// The hyperparameters, as recorded in the model file.
    var hyperparameters: [String: Double] { get }
    func fit(rows: [[Double]], labels: [Int], seed: UInt64) throws -> any Classifier
}

/// Per-feature mean and standard deviation, fitted on training rows only, applied to every
/// row before a model that needs scaled inputs (logistic regression, SVM).
public struct Standardizer: Sendable, Codable, Equatable {
    public var mean: [Double]
    public var scale: [Double]

    public init(mean: [Double], scale: [Double]) {
        self.mean = mean
        self.scale = scale
    }

    /// Fits on `rows` (all as wide as the first; others are skipped); a constant feature gets
    /// scale 1 (it then maps to 0).
    public init(fitting rows: [[Double]]) {
        let width = rows.first?.count ?? 0
        let rows = rows.filter { $0.count == width }
        var mean = [Double](repeating: 0, count: width)
        var squares = [Double](repeating: 0, count: width)
        for row in rows { for j in 0..<width { mean[j] += row[j] } }
        let n = Double(max(rows.count, 1))
        for j in 0..<width { mean[j] /= n }
        for row in rows { for j in 0..<width { let d = row[j] - mean[j]; squares[j] += d * d } }
        self.mean = mean
        scale = squares.map { let sd = ($0 / n).squareRoot(); return sd > 1e-12 ? sd : 1 }
    }

    /// `(row - mean) / scale`; values beyond the fitted width are left as they are.
    public func transform(_ row: [Double]) -> [Double] {
        var out = row
        for j in 0..<min(row.count, mean.count, scale.count) { out[j] = (row[j] - mean[j]) / scale[j] }
        return out
    }
}
