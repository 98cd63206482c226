import Foundation
import Models
import Testing

@Suite("Model files")
struct ModelFileTests {
    @Test("save then load gives the same document and identical predictions", arguments: ["logreg", "rf", "gbt", "svm"])
    func roundTrip(kind: String) throws {
        let model = try #require(Fixtures.models[kind])
        let file = try Fixtures.file(model)
        let directory = try ScratchDirectory()
        let path = directory.file("\(kind).json")
        try file.save(to: path)
        let loaded = try ModelFile.load(path: path, expectedSchemaHash: "schema-a1b2c3")
        #expect(loaded == file)
        #expect(loaded.kind == kind && loaded.format == "tickwire-model" && loaded.formatVersion == 1)
        let rebuilt = try loaded.classifier()
        #expect(rebuilt.kind == kind)
        for row in Fixtures.test { #expect(rebuilt.probabilities(row) == model.probabilities(row)) }
        // Saving what was loaded writes the same bytes.
        #expect(try loaded.encoded() == Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test("the document's fields: snake_case, the payload under its kind")
    func layout() throws {
        let file = try Fixtures.file(Fixtures.models["rf"]!)
        let json = try #require(JSONSerialization.jsonObject(with: file.encoded()) as? [String: Any])
        #expect(Set(json.keys) == [
            "format", "format_version", "kind", "name", "feature_set", "feature_set_version", "schema_hash",
            "feature_names", "hyperparameters", "training", "metrics", "seed", "created_at", "payload",
        ])
        #expect(json["format"] as? String == "tickwire-model" && json["format_version"] as? Int == 1)
        let training = try #require(json["training"] as? [String: Any])
        #expect(Set(training.keys) == ["from", "to", "rows", "horizon", "dead_zone"])
        let payload = try #require(json["payload"] as? [String: Any])
        #expect(Array(payload.keys) == ["rf"])
        let text = String(decoding: try file.encoded(), as: UTF8.self)
        #expect(text.hasPrefix("{\n  \"created_at\""))  // pretty-printed, keys sorted
    }

    @Test("a different schema hash is refused, naming both hashes and the file")
    func schemaMismatch() throws {
        let directory = try ScratchDirectory()
        let path = directory.file("model.json")
        try Fixtures.file(Fixtures.models["logreg"]!, schemaHash: "sha256:trained0001").save(to: path)
        #expect(throws: ModelFileError.schemaMismatch(path: path, expected: "sha256:current0002", found: "sha256:trained0001")) {
            try ModelFile.load(path: path, expectedSchemaHash: "sha256:current0002")
        }
        do {
            _ = try ModelFile.load(path: path, expectedSchemaHash: "sha256:current0002")
        } catch {
            let message = "\(error)"
            #expect(message.contains("sha256:trained0001") && message.contains("sha256:current0002") && message.contains(path),
                    "\(message)")
        }
    }

    @Test("unknown format or version, wrong feature count, kind mismatch, malformed model: refused")
    func refusals() throws {
        let directory = try ScratchDirectory()
        let good = try JSONSerialization.jsonObject(with: Fixtures.file(Fixtures.models["rf"]!).encoded()) as! [String: Any]
        func write(_ name: String, _ change: (inout [String: Any]) -> Void) throws -> String {
            var object = good
            change(&object)
            let path = directory.file(name)
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
            return path
        }
        func load(_ path: String) throws { _ = try ModelFile.load(path: path, expectedSchemaHash: "schema-a1b2c3") }

        let unchanged = try write("unchanged.json") { _ in }
        try load(unchanged)  // the rewritten document itself is fine

        let version = try write("version.json") { $0["format_version"] = 2 }
        #expect(throws: ModelFileError.unsupportedFormat(path: version, format: "tickwire-model", version: 2)) { try load(version) }
        let format = try write("format.json") { $0["format"] = "onnx" }
        #expect(throws: ModelFileError.unsupportedFormat(path: format, format: "onnx", version: 1)) { try load(format) }

        let names = try write("names.json") { $0["feature_names"] = ["a", "b"] }
        #expect(throws: ModelFileError.featureCountMismatch(path: names, featureNames: 2, model: 20)) { try load(names) }

        let kind = try write("kind.json") { $0["kind"] = "gbt" }
        #expect(throws: ModelFileError.kindMismatch(path: kind, kind: "gbt", payload: "rf")) { try load(kind) }

        let unknownPayload = try write("payload.json") { $0["payload"] = ["xgboost": ["trees": []]] }
        #expect(throws: ModelFileError.self) { try load(unknownPayload) }
        do { try load(unknownPayload) } catch { #expect("\(error)".contains("unknown payload kind 'xgboost'"), "\(error)") }

        let badTree = try write("tree.json") {
            var payload = $0["payload"] as! [String: Any]
            var rf = payload["rf"] as! [String: Any]
            var trees = rf["trees"] as! [[String: Any]]
            trees[0]["left"] = (trees[0]["left"] as! [Int]).map { $0 >= 0 ? 100_000 : $0 }
            rf["trees"] = trees
            payload["rf"] = rf
            $0["payload"] = payload
        }
        let treeError = try #require(throws: ModelFileError.self) { try load(badTree) }
        #expect("\(treeError)".hasPrefix("model file \(badTree): payload.rf.trees[0].left[0]: index 100000 out of range (1..<"),
                "\(treeError)")

        let missing = try write("missing.json") { $0.removeValue(forKey: "seed") }
        #expect(throws: ModelFileError.self) { try load(missing) }

        let notJSON = directory.file("garbage.json")
        try Data("not json".utf8).write(to: URL(fileURLWithPath: notJSON))
        #expect(throws: ModelFileError.self) { try load(notJSON) }
        #expect(throws: ModelFileError.self) { try load(directory.file("absent.json")) }
    }

    @Test("classifier() rechecks an in-memory document; a foreign Classifier has no payload")
    func inMemory() throws {
        var file = try Fixtures.file(Fixtures.models["gbt"]!)
        file.featureNames.removeLast()
        #expect(throws: ModelFileError.featureCountMismatch(path: nil, featureNames: 19, model: 20)) { try file.classifier() }
        struct Constant: Classifier {
            var kind: String { "constant" }
            var featureCount: Int { 1 }
            func probabilities(_ features: [Double]) -> [Double] { [0.2, 0.6, 0.2] }
        }
        #expect(throws: ModelFileError.unsupportedClassifier("constant")) { try ModelPayload(Constant()) }
    }
}
