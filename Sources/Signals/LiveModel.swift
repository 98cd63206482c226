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
    /// The number of features the model reads.
    public var featureCount: Int { classifier.featureCount }

    /// The model's calibrated distribution for one feature row; throws for a row the model
    /// cannot read (wrong width, a non-finite value) or one it gives no finite answer for.
    public func predict(_ features: [Double]) throws(PredictionError) -> [Double] {
        let p = TemperatureScaling.apply(try classifier.predict(features), temperature: temperature)
        guard p.count == Direction.count, p.allSatisfy(\.isFinite) else { throw .nonFiniteOutput(kind: kind) }
        return p
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
        entry.outcomes += entry.outcomes < Int.max ? 1 : 0
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

    /// Largest state file read, in bytes (16 MiB: a few hundred bytes per model).
    public static let maxFileBytes = 16 << 20
    /// Most models a state file may record.
    public static let maxModels = 10_000

    /// Reads the state saved by ``save(path:)``; nil when there is no file yet. Throws
    /// ``StateFileError`` for a file that cannot be used: unreadable, too large, not this JSON,
    /// or with an accuracy outside 0...1 or a negative outcome count.
    public static func load(path: String) throws(StateFileError) -> LiveAccuracy? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        func fail(_ reason: String) -> StateFileError { StateFileError(path: path, reason: reason) }
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let type = attributes[.type] as? FileAttributeType, type != .typeRegular { throw fail("not a regular file") }
            if let size = (attributes[.size] as? NSNumber)?.uint64Value, size > UInt64(maxFileBytes) {
                throw fail("\(size) bytes; a state file may have at most \(maxFileBytes)")
            }
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            data = try handle.read(upToCount: maxFileBytes + 1) ?? Data()
            guard data.count <= maxFileBytes else { throw fail("more than \(maxFileBytes) bytes") }
        } catch let error as StateFileError {
            throw error
        } catch {
            throw fail(error.localizedDescription)
        }
        let state: LiveAccuracy
        do {
            state = try JSONDecoder().decode(LiveAccuracy.self, from: data)
        } catch {
            throw fail("not a valid state file: \(error)")
        }
        guard state.models.count <= maxModels else { throw fail("models: \(state.models.count) entries, at most \(maxModels)") }
        for (name, entry) in state.models.sorted(by: { $0.key < $1.key }) {
            guard entry.accuracy.isFinite, (0...1).contains(entry.accuracy) else {
                throw fail("models.\(name).accuracy: \(entry.accuracy) out of range (0...1)")
            }
            guard entry.outcomes >= 0 else { throw fail("models.\(name).outcomes: \(entry.outcomes) is negative") }
        }
        return state
    }

    /// Forgets the models not named in `names` (those no longer served).
    public mutating func keep(only names: Set<String>) {
        models = models.filter { names.contains($0.key) }
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

/// A live-accuracy state file that cannot be used (the generator then starts with fresh weights).
public struct StateFileError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "ensemble state file \(path): \(reason)" }
}
