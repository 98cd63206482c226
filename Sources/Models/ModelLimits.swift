import Foundation

/// Bounds on what a model file may hold. A file beyond them is refused when it is loaded, so a
/// hostile or corrupt file cannot make a loader allocate without limit, a prediction walk a
/// degenerate tree for seconds, or an index overflow. Trainers keep their hyperparameters
/// within the same bounds, so every model they write loads again.
public enum ModelLimits {
    /// Largest model file read, in bytes (256 MiB).
    public static let fileBytes = 256 << 20
    /// Features a model may read.
    public static let features = 100_000
    /// Trees in a forest, rounds of a boosted model, trees of an XGBoost model.
    public static let trees = 100_000
    /// Nodes in one tree.
    public static let treeNodes = 1 << 22
    /// Levels of one tree (root at depth 0).
    public static let treeDepth = 512
    /// Random Fourier components of an SVM.
    public static let components = 100_000
    /// Frequencies of an SVM (components × features).
    public static let frequencies = 50_000_000
    /// The label horizon, in bars.
    public static let horizon = 1...10_000
    /// Calibration temperatures (`metrics.temperature`, `metrics.ensemble_temperature`).
    public static let temperature = 0.01...100.0
}

/// What is wrong with a model, at a JSON path inside its document: `payload.rf.trees[3].left[7]:
/// index 912 out of range (8..<15)`.
public struct ModelProblem: Error, Equatable, Sendable, CustomStringConvertible {
    /// Where, as a JSON path (`payload.gbt.rounds[2][0].threshold`).
    public var path: String
    public var message: String

    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// Why a prediction was refused: the row does not fit the model, or the model's answer is not a
/// probability distribution (an extreme row overflowed it).
public enum PredictionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The row has `count` values; the model reads `expected`.
    case featureCount(count: Int, expected: Int)
    /// Value `index` is NaN or infinite (NaN is allowed as "missing" by models that say so).
    case nonFiniteFeature(index: Int)
    /// The model gave something other than three finite probabilities.
    case nonFiniteOutput(kind: String)

    public var description: String {
        switch self {
        case let .featureCount(count, expected): "\(count) features, the model reads \(expected)"
        case let .nonFiniteFeature(index): "feature \(index) is not a finite number"
        case let .nonFiniteOutput(kind): "\(kind) gave no finite probabilities for this row"
        }
    }
}

/// `a * b`, or nil when it overflows.
@inline(__always)
func checkedProduct(_ a: Int, _ b: Int) -> Int? {
    let (product, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? nil : product
}

/// Reads a model file's bytes: a regular file of at most ``ModelLimits/fileBytes``. Throws the
/// reason as text (each loader wraps it in its own error).
func readModelBytes(path: String) throws(ModelReadFailure) -> Data {
    let attributes: [FileAttributeKey: Any]
    do {
        attributes = try FileManager.default.attributesOfItem(atPath: path)
    } catch {
        throw ModelReadFailure(reason: "\(error.localizedDescription)")
    }
    if let type = attributes[.type] as? FileAttributeType, type != .typeRegular {
        throw ModelReadFailure(reason: "not a regular file")
    }
    if let size = (attributes[.size] as? NSNumber)?.uint64Value, size > UInt64(ModelLimits.fileBytes) {
        throw ModelReadFailure(reason: "\(size) bytes; a model file may have at most \(ModelLimits.fileBytes)")
    }
    do {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let data = try handle.read(upToCount: ModelLimits.fileBytes + 1) ?? Data()
        guard data.count <= ModelLimits.fileBytes else {
            throw ModelReadFailure(reason: "more than \(ModelLimits.fileBytes) bytes")
        }
        return data
    } catch let failure as ModelReadFailure {
        throw failure
    } catch {
        throw ModelReadFailure(reason: "\(error.localizedDescription)")
    }
}

struct ModelReadFailure: Error {
    var reason: String
}
