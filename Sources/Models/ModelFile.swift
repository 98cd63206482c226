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

    /// What is wrong with the model's arrays (sizes, indices, depths, non-finite numbers), or
    /// nil: a model that passes cannot trap, loop or index out of range in
    /// ``Classifier/probabilities(_:)`` given `featureCount` features.
    public var problem: String? {
        do {
            try validate()
            return nil
        } catch {
            return error.description
        }
    }

    /// Throws the first problem of the model's arrays, at its JSON path in a model file
    /// (`payload.rf.trees[3].left[7]: index 912 out of range (8..<15)`).
    public func validate() throws(ModelProblem) {
        let classes = Direction.count
        let root = "payload.\(kind)"
        func checkFeatureCount(_ count: Int, _ path: String) throws(ModelProblem) {
            guard (1...ModelLimits.features).contains(count) else {
                throw ModelProblem(path, "\(count) features, expected 1...\(ModelLimits.features)")
            }
        }
        func checkFinite(_ values: [Double], _ path: String, count expected: Int) throws(ModelProblem) {
            guard values.count == expected else { throw ModelProblem(path, "\(values.count) values, expected \(expected)") }
            if let i = values.firstIndex(where: { !$0.isFinite }) {
                throw ModelProblem("\(path)[\(i)]", "\(values[i]) is not a finite number")
            }
        }
        func checkMatrix(_ rows: [[Double]], _ path: String, rows expectedRows: Int, columns: Int) throws(ModelProblem) {
            guard rows.count == expectedRows else {
                throw ModelProblem(path, "\(rows.count) rows, expected \(expectedRows) (down, flat, up)")
            }
            for (k, row) in rows.enumerated() { try checkFinite(row, "\(path)[\(k)]", count: columns) }
        }
        func checkStandardizer(_ standardizer: Standardizer, _ path: String) throws(ModelProblem) {
            let d = standardizer.mean.count
            try checkFeatureCount(d, "\(path).mean")
            try checkFinite(standardizer.mean, "\(path).mean", count: d)
            try checkFinite(standardizer.scale, "\(path).scale", count: d)
            if let j = standardizer.scale.firstIndex(where: { !($0 > 0) }) {
                throw ModelProblem("\(path).scale[\(j)]", "\(standardizer.scale[j]) must be more than 0")
            }
        }
        func checkTreeCount(_ count: Int, _ path: String) throws(ModelProblem) {
            guard (1...ModelLimits.trees).contains(count) else {
                throw ModelProblem(path, "\(count) trees, expected 1...\(ModelLimits.trees)")
            }
        }
        switch self {
        case let .logreg(m):
            let d = m.featureCount
            try checkStandardizer(m.standardizer, "\(root).standardizer")
            try checkMatrix(m.coefficients, "\(root).coefficients", rows: classes, columns: d)
            try checkFinite(m.intercepts, "\(root).intercepts", count: classes)
        case let .rf(m):
            try checkFeatureCount(m.featureCount, "\(root).feature_count")
            try checkTreeCount(m.trees.count, "\(root).trees")
            for (t, tree) in m.trees.enumerated() {
                try tree.validate(featureCount: m.featureCount, width: classes, nonNegative: true, at: "\(root).trees[\(t)]")
            }
        case let .gbt(m):
            try checkFeatureCount(m.featureCount, "\(root).feature_count")
            try checkFinite(m.initial, "\(root).initial", count: classes)
            guard m.rounds.count <= ModelLimits.trees else {
                throw ModelProblem("\(root).rounds", "\(m.rounds.count) rounds, at most \(ModelLimits.trees)")
            }
            for (r, round) in m.rounds.enumerated() {
                guard round.count == classes else {
                    throw ModelProblem("\(root).rounds[\(r)]", "\(round.count) trees, expected \(classes) (one per class)")
                }
                for (k, tree) in round.enumerated() {
                    try tree.validate(featureCount: m.featureCount, width: 1, nonNegative: false, at: "\(root).rounds[\(r)][\(k)]")
                }
            }
        case let .svm(m):
            let d = m.featureCount, components = m.components
            try checkStandardizer(m.standardizer, "\(root).standardizer")
            guard (1...ModelLimits.components).contains(components) else {
                throw ModelProblem("\(root).phases", "\(components) components, expected 1...\(ModelLimits.components)")
            }
            try checkFinite(m.phases, "\(root).phases", count: components)
            guard let frequencies = checkedProduct(components, d), frequencies <= ModelLimits.frequencies else {
                throw ModelProblem("\(root).phases", "\(components) components × \(d) features is more than \(ModelLimits.frequencies) frequencies")
            }
            try checkFinite(m.frequencies, "\(root).frequencies", count: frequencies)
            guard m.gamma.isFinite, m.gamma > 0 else { throw ModelProblem("\(root).gamma", "\(m.gamma) must be a finite number more than 0") }
            try checkMatrix(m.weights, "\(root).weights", rows: classes, columns: components + 1)
            try checkMatrix(m.calibrationCoefficients, "\(root).calibration_coefficients", rows: classes, columns: classes)
            try checkFinite(m.calibrationIntercepts, "\(root).calibration_intercepts", count: classes)
        }
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
    /// reads features, the training horizon, dead zone and calibration must be in range, and
    /// the model's arrays must be well formed. Every refusal names the file and, inside it, the
    /// JSON path; a hostile file cannot trap or hang the loader or the model it gives.
    public static func load(path: String, expectedSchemaHash: String) throws -> ModelFile {
        let data: Data
        do {
            data = try readModelBytes(path: path)
        } catch {
            throw ModelFileError.unreadable(path: path, reason: error.reason)
        }
        return try decode(data, path: path, expectedSchemaHash: expectedSchemaHash)
    }

    /// ``load(path:expectedSchemaHash:)`` on bytes already read; `path` names them in errors.
    public static func decode(_ data: Data, path: String, expectedSchemaHash: String) throws -> ModelFile {
        let decoder = JSONDecoder()
        let header: Header
        do {
            header = try decoder.decode(Header.self, from: data)
        } catch {
            throw ModelFileError.malformed(path: path, reason: describe(error, in: data))
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
            throw ModelFileError.malformed(path: path, reason: describe(error, in: data))
        }
        guard file.kind == file.payload.kind else {
            throw ModelFileError.kindMismatch(path: path, kind: file.kind, payload: file.payload.kind)
        }
        do {
            try file.payload.validate()
            try file.validateSettings()
        } catch {
            throw ModelFileError.invalidModel(path: path, reason: error.description)
        }
        guard file.featureNames.count == file.payload.featureCount else {
            throw ModelFileError.featureCountMismatch(
                path: path, featureNames: file.featureNames.count, model: file.payload.featureCount)
        }
        return file
    }

    /// The training window's horizon and dead zone, and the metrics the signal generator reads
    /// (`accuracy`, `temperature`, `ensemble_temperature`), must be usable numbers.
    public func validateSettings() throws(ModelProblem) {
        guard ModelLimits.horizon.contains(training.horizon) else {
            throw ModelProblem("training.horizon", "\(training.horizon) out of range (\(ModelLimits.horizon.lowerBound)...\(ModelLimits.horizon.upperBound) bars)")
        }
        guard training.deadZone.isFinite, (0...1).contains(training.deadZone) else {
            throw ModelProblem("training.dead_zone", "\(training.deadZone) out of range (0...1, a log return)")
        }
        for (name, value) in metrics.sorted(by: { $0.key < $1.key }) where !value.isFinite {
            throw ModelProblem("metrics.\(name)", "\(value) is not a finite number")
        }
        if let accuracy = metrics["accuracy"], !(0...1).contains(accuracy) {
            throw ModelProblem("metrics.accuracy", "\(accuracy) out of range (0...1)")
        }
        for name in ["temperature", "ensemble_temperature"] {
            if let t = metrics[name], !ModelLimits.temperature.contains(t) {
                throw ModelProblem(
                    "metrics.\(name)",
                    "\(t) out of range (\(ModelLimits.temperature.lowerBound)...\(ModelLimits.temperature.upperBound))")
            }
        }
    }

    /// The model, ready to predict. Throws when the payload is malformed (``load(path:expectedSchemaHash:)``
    /// has already checked a loaded file) or when `kind` disagrees with the payload.
    public func classifier() throws -> any Classifier {
        guard kind == payload.kind else { throw ModelFileError.kindMismatch(path: nil, kind: kind, payload: payload.kind) }
        do {
            try payload.validate()
        } catch {
            throw ModelFileError.invalidModel(path: nil, reason: error.description)
        }
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

    /// A decoding error as `json.path: what` (`payload.rf.trees[0].left[3]: Expected Int ...`).
    /// Foundation's decoder reports a syntax error, or a number that does not fit its field, as
    /// "not valid JSON" at the top level: then the position comes from JSONSerialization, or the
    /// path of the first number no integer or double field can hold.
    private static func describe(_ error: any Error, in data: Data) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
            let document: Any
            do {
                document = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            } catch {
                let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
                return "not JSON: \(detail)"
            }
            if let (path, number) = firstUnfitNumber(document, path: "") {
                return "\(path): number \(number) is out of range for its field"
            }
        }
        func path(_ context: DecodingError.Context) -> String {
            var text = ""
            for key in context.codingPath {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + key.stringValue
                }
            }
            return text.isEmpty ? "(top level)" : text
        }
        switch error {
        case let .keyNotFound(key, context):
            return "\(path(context)): missing key '\(key.stringValue)'"
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .dataCorrupted(context):
            // A syntax error's position (line and column) is in the underlying error.
            let underlying = context.underlyingError.map { " (\($0))" } ?? ""
            return "\(path(context)): \(context.debugDescription)\(underlying)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// The first number (keys in order) that fits neither an `Int` nor a finite `Double`, or a
/// whole number beyond `Int`: what Foundation's decoder refuses without saying where. Looks no
/// deeper than 64 levels (a model file has fewer).
private func firstUnfitNumber(_ value: Any, path: String, depth: Int = 0) -> (String, String)? {
    guard depth < 64 else { return nil }
    switch value {
    case let object as [String: Any]:
        for key in object.keys.sorted() {
            let inner = path.isEmpty ? key : "\(path).\(key)"
            if let found = firstUnfitNumber(object[key] as Any, path: inner, depth: depth + 1) { return found }
        }
    case let array as [Any]:
        for (index, element) in array.enumerated() {
            if let found = firstUnfitNumber(element, path: "\(path)[\(index)]", depth: depth + 1) { return found }
        }
    case let number as NSNumber:
        let double = number.doubleValue
        if !double.isFinite || abs(double) >= 9.2e18 { return (path.isEmpty ? "(top level)" : path, "\(number)") }
    default:
        break
    }
    return nil
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
            return "model file \(path): not a valid \(ModelFile.formatName) document: \(reason)"
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
            return "\(file(path)): \(reason)"
        case let .unsupportedClassifier(kind):
            return "a '\(kind)' classifier cannot be stored in a model file"
        }
    }
}
