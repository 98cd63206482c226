import Foundation

/// A model file in either format Tickwire reads: its own (``ModelFile``) or an XGBoost JSON
/// model (`save_model("m.json")`), told apart by XGBoost's top-level `learner` object.
public enum AnyModelFile: Sendable {
    case tickwire(ModelFile)
    case xgboost(XGBoostModel)

    /// Reads and checks the file at `path` (at most ``ModelLimits/fileBytes``). A Tickwire file
    /// must have been trained on `expectedSchemaHash`; an XGBoost file records no hash, so the
    /// caller checks its features. Throws ``ModelFileError`` or ``XGBoostModelError``, naming
    /// the file and the JSON path of what is wrong.
    public static func load(path: String, expectedSchemaHash: String) throws -> AnyModelFile {
        let data: Data
        do {
            data = try readModelBytes(path: path)
        } catch {
            throw ModelFileError.unreadable(path: path, reason: error.reason)
        }
        let document: Any
        do {
            document = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ModelFileError.malformed(path: path, reason: "not JSON (\(error.localizedDescription))")
        }
        if XGBoostModel.isXGBoostDocument(document) {
            return .xgboost(try XGBoostModel(document: document, source: path))
        }
        return .tickwire(try ModelFile.decode(data, path: path, expectedSchemaHash: expectedSchemaHash))
    }

    /// The model, ready to predict.
    public func classifier() throws -> any Classifier {
        switch self {
        case .tickwire(let file): try file.classifier()
        case .xgboost(let model): model
        }
    }
}
