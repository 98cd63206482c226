import Foundation
import Indicators
import Models
import ServiceKit

/// The model files the signal generator serves: every `*.json` in `models.directory` except
/// `report.json`, each checked against the live feature schema. Tickwire model files and
/// XGBoost JSON models (`save_model("m.json")`) alike; an XGBoost model must have been trained
/// on the `default` feature columns in order (its `feature_names`, when saved, are checked
/// through the schema hash) and predicts `models.horizon` bars ahead.
public enum ModelDirectory {
    public static func load(_ directory: String, horizon: Int = 5, deadZone: Double = 0) throws -> [LiveModel] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ConfigError(path: "models.directory", message: "cannot read '\(directory)': run `tickwire train --out \(directory)` first")
        }
        var models: [LiveModel] = []
        for name in names.sorted() where name.hasSuffix(".json") && name != "report.json" {
            let path = (directory as NSString).appendingPathComponent(name)
            if let xgboost = try loadXGBoost(path: path, name: name, horizon: horizon, deadZone: deadZone) {
                models.append(xgboost)
                continue
            }
            // Refuses a file trained on another feature schema, naming both hashes.
            let file = try ModelFile.load(path: path, expectedSchemaHash: FeaturePipeline.schema.hash)
            models.append(LiveModel(
                name: file.name, version: file.createdAt, kind: file.kind, classifier: try file.classifier(),
                validationAccuracy: file.metrics["accuracy"] ?? 1.0 / 3, horizon: file.training.horizon,
                deadZone: file.training.deadZone, schemaHash: file.schemaHash,
                temperature: file.metrics["temperature"] ?? 1, ensembleTemperature: file.metrics["ensemble_temperature"] ?? 1))
        }
        // XGBoost models take the dead zone the Tickwire models were trained with, if any.
        if let trained = models.first(where: { $0.kind != "xgboost" }) {
            for i in models.indices where models[i].kind == "xgboost" && deadZone == 0 { models[i].deadZone = trained.deadZone }
        }
        if let first = models.first, let other = models.first(where: { $0.horizon != first.horizon }) {
            throw ConfigError(
                path: "models.directory",
                message: "\(first.name) predicts \(first.horizon) bars ahead but \(other.name) \(other.horizon): train them together")
        }
        return models
    }
}

extension ModelDirectory {
    /// An XGBoost JSON model, or nil when `path` is not one (no top-level `learner`).
    static func loadXGBoost(path: String, name: String, horizon: Int, deadZone: Double) throws -> LiveModel? {
        guard let data = FileManager.default.contents(atPath: path),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], json["learner"] != nil
        else { return nil }
        let model = try XGBoostModel.load(path: path)
        let schema = FeaturePipeline.schema
        if let names = model.featureNames, !names.isEmpty {
            let hash = FeatureSchema(name: schema.name, version: schema.version, names: names).hash
            guard hash == schema.hash else {
                throw ConfigError(
                    path: "models.directory",
                    message: "\(path): XGBoost model's feature_names give schema hash \(hash), but the live features have \(schema.hash) (\(schema.name) v\(schema.version)); train it on `processor features` columns in order")
            }
        } else if model.numFeatures != schema.names.count {
            throw ConfigError(
                path: "models.directory",
                message: "\(path): XGBoost model reads \(model.numFeatures) features; the live \(schema.name) v\(schema.version) vector has \(schema.names.count) (schema hash \(schema.hash))")
        }
        let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date ?? Date()
        return LiveModel(
            name: String(name.dropLast(5)), version: ISO8601DateFormatter().string(from: modified), kind: "xgboost",
            classifier: model, validationAccuracy: 1.0 / 3, horizon: horizon, deadZone: deadZone, schemaHash: schema.hash)
    }
}
