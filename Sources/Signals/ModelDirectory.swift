import Foundation
import FeatureContract
import Models
import ServiceKit

/// The model files the signal generator serves: every `*.json` in `models.directory` except
/// `report.json`, each checked against the live feature schema. Tickwire model files and
/// XGBoost JSON models (`save_model("m.json")`) alike; an XGBoost model must have been trained
/// on the `default` feature columns in order (its `feature_names`, when saved, are checked
/// through the schema hash) and predicts `models.horizon` bars ahead.
///
/// Every refusal is an error naming the file (and the JSON path inside it): a bad file never
/// traps, so a running generator can refuse a bad reload and keep its models.
public enum ModelDirectory {
    public static func load(_ directory: String, horizon: Int = 5, deadZone: Double = 0) throws -> [LiveModel] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ConfigError(path: "models.directory", message: "cannot read '\(directory)': run `tickwire train --out \(directory)` first")
        }
        let schema = FeatureSchema.default
        var models: [LiveModel] = []
        for name in names.sorted() where name.hasSuffix(".json") && name != "report.json" {
            let path = (directory as NSString).appendingPathComponent(name)
            // Refuses a file trained on another feature schema, naming both hashes.
            switch try AnyModelFile.load(path: path, expectedSchemaHash: schema.hash) {
            case .xgboost(let model):
                models.append(try live(xgboost: model, path: path, name: name, horizon: horizon, deadZone: deadZone))
            case .tickwire(let file):
                guard file.featureNames == schema.names else {
                    throw ModelFileError.invalidModel(
                        path: path,
                        reason: "feature_names: the \(file.featureNames.count) names are not the live \(schema.name) v\(schema.version) features (\(schema.names.count)) in order, although schema_hash says so")
                }
                models.append(LiveModel(
                    name: file.name, version: file.createdAt, kind: file.kind, classifier: try file.classifier(),
                    validationAccuracy: file.metrics["accuracy"] ?? 1.0 / 3, horizon: file.training.horizon,
                    deadZone: file.training.deadZone, schemaHash: file.schemaHash,
                    temperature: file.metrics["temperature"] ?? 1, ensembleTemperature: file.metrics["ensemble_temperature"] ?? 1))
            }
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
    /// An XGBoost model checked against the live feature schema.
    static func live(xgboost model: XGBoostModel, path: String, name: String, horizon: Int, deadZone: Double) throws -> LiveModel {
        let schema = FeatureSchema.default
        if let names = model.featureNames, !names.isEmpty {
            let hash = FeatureSchema(name: schema.name, version: schema.version, names: names).hash
            guard hash == schema.hash else {
                throw ConfigError(
                    path: "models.directory",
                    message: "\(path): XGBoost model's feature_names give schema hash \(hash), but the live features have \(schema.hash) (\(schema.name) v\(schema.version)); train it on `processor features` columns in order")
            }
        }
        guard model.numFeatures == schema.names.count else {
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
