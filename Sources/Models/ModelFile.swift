import Foundation

/// The model inside a ``ModelFile``, one case per kind. In JSON it is an object with a single
/// key, the kind, holding that model's fields: `{"rf": {"feature_count": 49, "trees": […]}}`.
///
/// Adding a kind (XGBoost import: `case xgboost(XGBoostModel)` under the key `"xgboost"`) means
/// one case here and one line in each switch of this file: ``kind``, ``classifier``,
/// ``featureCount``, ``problem``, ``init(_:)`` and the two coding methods.
public enum ModelPayload: Sendable, Codable, Equatable {
    case logreg(LogisticRegression)
    case rf(RandomForest)
    case gbt(GradientBoosting)
    case svm(RBFSupportVectorMachine)
    // case xgboost(XGBoostModel)  — the imported XGBoost model goes here.

    /// Wraps a trained model; throws ``ModelFileError/unsupportedClassifier(_:)`` for a type
    /// that has no case.
    public init(_ classifier: any Classifier) throws {
        switch classifier {
        case let model as LogisticRegression: self = .logreg(model)
        case let model as RandomForest: self = .rf(model)
        case let model as GradientBoosting: self = .gbt(model)
        case let model as RBFSupportVectorMachine: self = .svm(model)
        default: throw ModelFileError.unsupportedClassifier(classifier.kind)
        }
    }

    public var kind: String {
        switch self {
        case .logreg: "logreg"
        case .rf: "rf"
        case .gbt: "gbt"
        case .svm: "svm"
        }
    }

    public var classifier: any Classifier {
        switch self {
        case let .logreg(model): model
        case let .rf(model): model
        case let .gbt(model): model
        case let .svm(model): model
        }
    }

    /// The number of features the model reads.
    public var featureCount: Int {
        switch self {
        case let .logreg(model): model.featureCount
        case let .rf(model): model.featureCount
        case let .gbt(model): model.featureCount
        case let .svm(model): model.featureCount
        }
    }

    /// What is wrong with the model's arrays (sizes, indices, non-finite numbers), or nil: a
    /// model that passes cannot trap or index out of range in ``Classifier/probabilities(_:)``
    /// given `featureCount` features.
    public var problem: String? {
        let classes = Direction.count
        switch self {
        case let .logreg(m):
            let d = m.featureCount
            guard m.standardizer.scale.count == d, m.standardizer.scale.allSatisfy({ $0 > 0 && $0.isFinite }),
                  m.standardizer.mean.allSatisfy(\.isFinite) else { return "logreg: bad standardizer" }
            guard m.coefficients.count == classes, m.coefficients.allSatisfy({ $0.count == d && $0.allSatisfy(\.isFinite) }),
                  m.intercepts.count == classes, m.intercepts.allSatisfy(\.isFinite) else {
                return "logreg: expected \(classes)×\(d) finite coefficients and \(classes) intercepts"
            }
        case let .rf(m):
            guard !m.trees.isEmpty else { return "rf: no trees" }
            for (t, tree) in m.trees.enumerated()
            where tree.width != classes || !tree.isConsistent(featureCount: m.featureCount) {
                return "rf: tree \(t) is malformed"
            }
        case let .gbt(m):
            guard m.initial.count == classes, m.initial.allSatisfy(\.isFinite) else { return "gbt: bad initial scores" }
            for (r, round) in m.rounds.enumerated() {
                guard round.count == classes,
                      round.allSatisfy({ $0.width == 1 && $0.isConsistent(featureCount: m.featureCount) }) else {
                    return "gbt: round \(r) is malformed"
                }
            }
        case let .svm(m):
            let d = m.featureCount, components = m.components
            guard m.standardizer.scale.count == d, m.standardizer.scale.allSatisfy({ $0 > 0 && $0.isFinite }),
                  m.standardizer.mean.allSatisfy(\.isFinite) else { return "svm: bad standardizer" }
            guard components > 0, m.frequencies.count == components * d, m.gamma > 0,
                  m.frequencies.allSatisfy(\.isFinite), m.phases.allSatisfy(\.isFinite) else {
                return "svm: expected \(components)×\(d) finite frequencies"
            }
            guard m.weights.count == classes,
                  m.weights.allSatisfy({ $0.count == components + 1 && $0.allSatisfy(\.isFinite) }),
                  m.calibrationCoefficients.count == classes,
                  m.calibrationCoefficients.allSatisfy({ $0.count == classes && $0.allSatisfy(\.isFinite) }),
                  m.calibrationIntercepts.count == classes, m.calibrationIntercepts.allSatisfy(\.isFinite) else {
                return "svm: bad weights or calibration"
            }
        }
        return nil
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        switch self {
        case let .logreg(model): try container.encode(model, forKey: Key(kind))
        case let .rf(model): try container.encode(model, forKey: Key(kind))
        case let .gbt(model): try container.encode(model, forKey: Key(kind))
        case let .svm(model): try container.encode(model, forKey: Key(kind))
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        guard container.allKeys.count == 1, let key = container.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: container.codingPath,
                debugDescription: "payload must have exactly one key, the model kind; found \(container.allKeys.map(\.stringValue).sorted())"))
        }
        switch key.stringValue {
        case "logreg": self = .logreg(try container.decode(LogisticRegression.self, forKey: key))
        case "rf": self = .rf(try container.decode(RandomForest.self, forKey: key))
        case "gbt": self = .gbt(try container.decode(GradientBoosting.self, forKey: key))
        case "svm": self = .svm(try container.decode(RBFSupportVectorMachine.self, forKey: key))
        default:
            throw DecodingError.dataCorrupted(.init(
                codingPath: container.codingPath + [key],
                debugDescription: "unknown payload kind '\(key.stringValue)'"))
        }
    }
}

/// A trained model with what it was trained on: the versioned JSON document the trainer writes
/// and the predictor loads.
public struct ModelFile: Sendable, Codable, Equatable {
    public static let formatName = "tickwire-model"
    public static let currentFormatVersion = 1

    /// The training window and labelling.
    public struct Training: Sendable, Codable, Equatable {
        public var from: String
        public var to: String
        public var rows: Int
        /// Bars ahead the label looks.
        public var horizon: Int
        /// Returns within ±dead_zone are labelled flat.
        public var deadZone: Double

        public init(from: String, to: String, rows: Int, horizon: Int, deadZone: Double) {
            self.from = from
            self.to = to
            self.rows = rows
            self.horizon = horizon
            self.deadZone = deadZone
        }

        enum CodingKeys: String, CodingKey {
            case from, to, rows, horizon
            case deadZone = "dead_zone"
        }
    }

    public var format: String
    public var formatVersion: Int
    public var kind: String
    public var name: String
    public var featureSet: String
    public var featureSetVersion: Int
    public var schemaHash: String
    public var featureNames: [String]
    public var hyperparameters: [String: Double]
    public var training: Training
    /// Evaluation metrics (finite numbers: JSON has no NaN).
    public var metrics: [String: Double]
    public var seed: UInt64
    /// When the model was trained (ISO 8601, as the trainer wrote it).
    public var createdAt: String
    public var payload: ModelPayload

    enum CodingKeys: String, CodingKey {
        case format
        case formatVersion = "format_version"
        case kind, name
        case featureSet = "feature_set"
        case featureSetVersion = "feature_set_version"
        case schemaHash = "schema_hash"
        case featureNames = "feature_names"
        case hyperparameters, training, metrics, seed
        case createdAt = "created_at"
        case payload
    }

    /// A current-format file; `kind` is the payload's.
    public init(name: String, featureSet: String, featureSetVersion: Int, schemaHash: String,
                featureNames: [String], hyperparameters: [String: Double], training: Training,
                metrics: [String: Double], seed: UInt64, createdAt: String, payload: ModelPayload) {
        format = Self.formatName
        formatVersion = Self.currentFormatVersion
        kind = payload.kind
        self.name = name
        self.featureSet = featureSet
        self.featureSetVersion = featureSetVersion
        self.schemaHash = schemaHash
        self.featureNames = featureNames
        self.hyperparameters = hyperparameters
        self.training = training
        self.metrics = metrics
        self.seed = seed
        self.createdAt = createdAt
        self.payload = payload
    }

    /// The document's JSON: pretty-printed, keys sorted, so equal models give equal bytes.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Writes ``encoded()`` to `path` atomically.
    public func save(to path: String) throws {
        try encoded().write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Reads and checks a model file: the format and version must be this code's, the schema
    /// hash must equal `expectedSchemaHash` (the feature schema the caller computes rows with),
    /// the kind must match the payload, `feature_names` must have as many names as the model
    /// reads features, and the model's arrays must be well formed.
    public static func load(path: String, expectedSchemaHash: String) throws -> ModelFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ModelFileError.unreadable(path: path, reason: "\(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        let header: Header
        do {
            header = try decoder.decode(Header.self, from: data)
        } catch {
            throw ModelFileError.malformed(path: path, reason: describe(error))
        }
        guard header.format == formatName, header.formatVersion == currentFormatVersion else {
            throw ModelFileError.unsupportedFormat(path: path, format: header.format, version: header.formatVersion)
        }
        guard header.schemaHash == expectedSchemaHash else {
            throw ModelFileError.schemaMismatch(path: path, expected: expectedSchemaHash, found: header.schemaHash)
        }
        let file: ModelFile
        do {
            file = try decoder.decode(ModelFile.self, from: data)
        } catch {
            throw ModelFileError.malformed(path: path, reason: describe(error))
        }
        guard file.kind == file.payload.kind else {
            throw ModelFileError.kindMismatch(path: path, kind: file.kind, payload: file.payload.kind)
        }
        guard file.featureNames.count == file.payload.featureCount else {
            throw ModelFileError.featureCountMismatch(
                path: path, featureNames: file.featureNames.count, model: file.payload.featureCount)
        }
        if let problem = file.payload.problem {
            throw ModelFileError.invalidModel(path: path, reason: problem)
        }
        return file
    }

    /// The model, ready to predict. Throws when the payload is malformed (``load(path:expectedSchemaHash:)``
    /// has already checked a loaded file) or when `kind` disagrees with the payload.
    public func classifier() throws -> any Classifier {
        guard kind == payload.kind else { throw ModelFileError.kindMismatch(path: nil, kind: kind, payload: payload.kind) }
        if let problem = payload.problem { throw ModelFileError.invalidModel(path: nil, reason: problem) }
        guard featureNames.count == payload.featureCount else {
            throw ModelFileError.featureCountMismatch(path: nil, featureNames: featureNames.count, model: payload.featureCount)
        }
        return payload.classifier
    }

    /// The fields checked before the payload is decoded.
    private struct Header: Decodable {
        var format: String
        var formatVersion: Int
        var schemaHash: String
        enum CodingKeys: String, CodingKey {
            case format
            case formatVersion = "format_version"
            case schemaHash = "schema_hash"
        }
    }

    private static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case let .keyNotFound(key, context):
            return "missing key '\(key.stringValue)' at '\(path(context))'"
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .dataCorrupted(context):
            return "\(context.debugDescription) at '\(path(context))'"
        @unknown default:
            return "\(error)"
        }
    }
}

/// Why a model file was refused.
public enum ModelFileError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unsupportedFormat(path: String, format: String, version: Int)
    case schemaMismatch(path: String, expected: String, found: String)
    case kindMismatch(path: String?, kind: String, payload: String)
    case featureCountMismatch(path: String?, featureNames: Int, model: Int)
    case invalidModel(path: String?, reason: String)
    case unsupportedClassifier(String)

    public var description: String {
        func file(_ path: String?) -> String { path.map { "model file \($0)" } ?? "model" }
        switch self {
        case let .unreadable(path, reason):
            return "cannot read model file \(path): \(reason)"
        case let .malformed(path, reason):
            return "model file \(path) is not a valid \(ModelFile.formatName) document: \(reason)"
        case let .unsupportedFormat(path, format, version):
            return "model file \(path) has format '\(format)' version \(version); this build reads "
                + "'\(ModelFile.formatName)' version \(ModelFile.currentFormatVersion)"
        case let .schemaMismatch(path, expected, found):
            return "model file \(path) was trained on feature schema \(found), but the features are "
                + "computed with schema \(expected): retrain the model or use the matching feature set"
        case let .kindMismatch(path, kind, payload):
            return "\(file(path)) says kind '\(kind)' but holds a '\(payload)' model"
        case let .featureCountMismatch(path, names, model):
            return "\(file(path)) lists \(names) feature names but its model reads \(model) features"
        case let .invalidModel(path, reason):
            return "\(file(path)) holds a malformed model: \(reason)"
        case let .unsupportedClassifier(kind):
            return "a '\(kind)' classifier cannot be stored in a model file"
        }
    }
}
