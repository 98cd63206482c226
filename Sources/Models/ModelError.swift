import Foundation

/// Why a trainer refused its input or hyperparameters.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    case emptyTrainingSet
    /// The rows have no features.
    case noFeatures
    case labelCountMismatch(rows: Int, labels: Int)
    case raggedRow(index: Int, count: Int, expected: Int)
    case nonFiniteFeature(row: Int, column: Int)
    case labelOutOfRange(row: Int, label: Int)
    case unknownKind(String)
    case unknownHyperparameter(kind: String, name: String, known: [String])
    case invalidHyperparameter(kind: String, name: String, value: Double, requirement: String)

    public var description: String {
        switch self {
        case .emptyTrainingSet:
            return "no training rows"
        case .noFeatures:
            return "the training rows have no features"
        case let .labelCountMismatch(rows, labels):
            return "\(rows) rows but \(labels) labels"
        case let .raggedRow(index, count, expected):
            return "row \(index) has \(count) features, expected \(expected)"
        case let .nonFiniteFeature(row, column):
            return "row \(row) feature \(column) is not finite"
        case let .labelOutOfRange(row, label):
            return "row \(row) has label \(label), expected 0 (down), 1 (flat) or 2 (up)"
        case let .unknownKind(kind):
            return "unknown model kind '\(kind)' (known: logreg, rf, gbt, svm)"
        case let .unknownHyperparameter(kind, name, known):
            return "\(kind): unknown hyperparameter '\(name)' (known: \(known.joined(separator: ", ")))"
        case let .invalidHyperparameter(kind, name, value, requirement):
            return "\(kind): hyperparameter \(name) = \(value) must be \(requirement)"
        }
    }
}

/// Checks a training set: non-empty, one label per row, equal widths, finite values, labels
/// 0...2, at least one feature. Returns the width.
func validateTrainingSet(rows: [[Double]], labels: [Int]) throws -> Int {
    guard let width = rows.first?.count, !rows.isEmpty else { throw ModelError.emptyTrainingSet }
    guard width > 0 else { throw ModelError.noFeatures }
    guard rows.count == labels.count else {
        throw ModelError.labelCountMismatch(rows: rows.count, labels: labels.count)
    }
    for (i, row) in rows.enumerated() {
        guard row.count == width else { throw ModelError.raggedRow(index: i, count: row.count, expected: width) }
        for (j, value) in row.enumerated() where !value.isFinite {
            throw ModelError.nonFiniteFeature(row: i, column: j)
        }
    }
    for (i, label) in labels.enumerated() where !(0..<Direction.count).contains(label) {
        throw ModelError.labelOutOfRange(row: i, label: label)
    }
    return width
}

/// Resolves a trainer's hyperparameters: defaults overridden by `given`, unknown names refused,
/// each value checked by `valid` (a description of the requirement when it fails).
struct Hyperparameters {
    let kind: String
    private(set) var values: [String: Double]

    init(kind: String, defaults: [String: Double], given: [String: Double]) throws {
        self.kind = kind
        for name in given.keys.sorted() where defaults[name] == nil {
            throw ModelError.unknownHyperparameter(kind: kind, name: name, known: defaults.keys.sorted())
        }
        values = defaults.merging(given) { _, new in new }
    }

    func number(_ name: String, _ requirement: String, _ valid: (Double) -> Bool) throws -> Double {
        let value = values[name] ?? .nan
        guard value.isFinite, valid(value) else {
            throw ModelError.invalidHyperparameter(kind: kind, name: name, value: value, requirement: requirement)
        }
        return value
    }

    func integer(_ name: String, atLeast minimum: Int, atMost maximum: Int = 999_999_999) throws -> Int {
        let value = try number(name, "an integer from \(minimum) to \(maximum)") {
            $0 == $0.rounded() && $0 >= Double(minimum) && $0 <= Double(maximum)
        }
        return Int(value)
    }
}

/// Softmax of `scores` in place, shifted by the maximum for stability.
@inline(__always)
func softmaxInPlace(_ scores: inout [Double]) {
    let top = scores.max() ?? 0
    var total = 0.0
    for k in scores.indices { scores[k] = Foundation.exp(scores[k] - top); total += scores[k] }
    for k in scores.indices { scores[k] /= total }
}
