import Foundation
import Models

/// A model the signal generator serves: the classifier and what its file says about it.
public struct LiveModel: Sendable {
    public var name: String
    public var version: String
    public var kind: String
    public var classifier: any Classifier
    /// Walk-forward accuracy from training (the drift detector's reference; 1/3 if unknown).
    public var validationAccuracy: Double
    public var horizon: Int
    public var deadZone: Double
    public var schemaHash: String
    /// Calibration temperatures from training: this model's, and the ensemble's.
    public var temperature: Double
    public var ensembleTemperature: Double

    public init(
        name: String, version: String, kind: String, classifier: any Classifier, validationAccuracy: Double,
        horizon: Int, deadZone: Double, schemaHash: String, temperature: Double = 1, ensembleTemperature: Double = 1
    ) {
        self.temperature = temperature
        self.ensembleTemperature = ensembleTemperature
        self.name = name
        self.version = version
        self.kind = kind
        self.classifier = classifier
        self.validationAccuracy = validationAccuracy
        self.horizon = horizon
        self.deadZone = deadZone
        self.schemaHash = schemaHash
    }
}

extension LiveModel {
    /// The model's calibrated distribution for one feature row.
    public func probabilities(_ features: [Double]) -> [Double] {
        TemperatureScaling.apply(classifier.probabilities(features), temperature: temperature)
    }
}

/// Each model's decayed accuracy on live outcomes: `dynamic_ensemble`'s weights. Persisted as
/// JSON so a restart keeps what was learnt.
public struct LiveAccuracy: Sendable, Codable, Equatable {
    public struct Entry: Sendable, Codable, Equatable {
        public var accuracy: Double
        public var outcomes: Int
        public var drifting: Bool
    }

    public var models: [String: Entry] = [:]
    public var updatedAt: String = ""

    enum CodingKeys: String, CodingKey {
        case models
        case updatedAt = "updated_at"
    }

    public init() {}

    /// The weight of `model`: its decayed accuracy, starting from its validation accuracy.
    public func accuracy(of model: LiveModel) -> Double {
        models[model.name]?.accuracy ?? model.validationAccuracy
    }

    /// Records one outcome: `hit` when the model's most likely direction came true.
    public mutating func record(_ model: LiveModel, hit: Bool, decay: Double) {
        var entry = models[model.name] ?? Entry(accuracy: model.validationAccuracy, outcomes: 0, drifting: false)
        entry.accuracy = decay * entry.accuracy + (1 - decay) * (hit ? 1 : 0)
        entry.outcomes += 1
        models[model.name] = entry
    }

    /// The drift detector: a model drifts once it has at least `minOutcomes` outcomes and its
    /// live accuracy is more than `threshold` below its validation accuracy; it stops drifting
    /// when it recovers. Returns true only when the model has just started drifting (alert once).
    public mutating func checkDrift(_ model: LiveModel, threshold: Double, minOutcomes: Int) -> Bool {
        guard var entry = models[model.name] else { return false }
        let drifting = entry.outcomes >= minOutcomes && entry.accuracy < model.validationAccuracy - threshold
        defer {
            entry.drifting = drifting
            models[model.name] = entry
        }
        return drifting && !entry.drifting
    }

    public static func load(path: String) -> LiveAccuracy? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(LiveAccuracy.self, from: data)
    }

    /// Writes atomically (a temporary file renamed over the old one).
    public func save(path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }
}
