import Foundation
import Indicators
import Models
import ServiceKit

/// The model files the signal generator serves: every `*.json` in `models.directory` except
/// `report.json`, each checked against the live feature schema.
public enum ModelDirectory {
    public static func load(_ directory: String) throws -> [LiveModel] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ConfigError(path: "models.directory", message: "cannot read '\(directory)': run `tickwire train --out \(directory)` first")
        }
        var models: [LiveModel] = []
        for name in names.sorted() where name.hasSuffix(".json") && name != "report.json" {
            let path = (directory as NSString).appendingPathComponent(name)
            // Refuses a file trained on another feature schema, naming both hashes.
            let file = try ModelFile.load(path: path, expectedSchemaHash: FeaturePipeline.schema.hash)
            models.append(LiveModel(
                name: file.name, version: file.createdAt, kind: file.kind, classifier: try file.classifier(),
                validationAccuracy: file.metrics["accuracy"] ?? 1.0 / 3, horizon: file.training.horizon,
                deadZone: file.training.deadZone, schemaHash: file.schemaHash))
        }
        if let first = models.first, let other = models.first(where: { $0.horizon != first.horizon }) {
            throw ConfigError(
                path: "models.directory",
                message: "\(first.name) predicts \(first.horizon) bars ahead but \(other.name) \(other.horizon): train them together")
        }
        return models
    }
}
