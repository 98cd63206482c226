import Foundation
import Models
import Testing

/// Model files are outside data: every hostile variant of a small, valid document (written here
/// as JSON text) is refused with an error naming the file and the JSON path, never a trap or an
/// endless loop, and a loaded model never traps on a row of the wrong width or with NaN.
@Suite("Hostile model files")
struct HostileModelFileTests {
    static let hash = "schema-hostile"

    /// Payloads of each kind on 2 features.
    static let payloads: [String: String] = [
        "rf": #"""
            {"rf": {"feature_count": 2, "trees": [
              {"feature": [0, -1, -1], "threshold": [0.5, 0, 0], "left": [1, -1, -1], "right": [2, -1, -1],
               "value": [0.2, 0.3, 0.5, 1, 0, 0, 0, 0, 1], "width": 3}]}}
            """#,
        "gbt": #"""
            {"gbt": {"feature_count": 2, "initial": [0, 0, 0], "rounds": [[
              {"feature": [1, -1, -1], "threshold": [0, 0, 0], "left": [1, -1, -1], "right": [2, -1, -1], "value": [0, 0.5, -0.5], "width": 1},
              {"feature": [-1], "threshold": [0], "left": [-1], "right": [-1], "value": [0.1], "width": 1},
              {"feature": [0, -1, -1], "threshold": [1, 0, 0], "left": [1, -1, -1], "right": [2, -1, -1], "value": [0, -0.5, 0.5], "width": 1}]]}}
            """#,
        "logreg": #"""
            {"logreg": {"standardizer": {"mean": [0, 0], "scale": [1, 1]},
              "coefficients": [[1, 0], [0, 0], [0, 1]], "intercepts": [0, 0, 0]}}
            """#,
        "svm": #"""
            {"svm": {"standardizer": {"mean": [0, 0], "scale": [1, 1]}, "gamma": 0.5,
              "frequencies": [0.1, 0.2, 0.3, 0.4], "phases": [0, 1],
              "weights": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
              "calibration_coefficients": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "calibration_intercepts": [0, 0, 0]}}
            """#,
    ]

    /// A boosting tree that is a single leaf.
    static let leaf = #"{"feature": [-1], "threshold": [0], "left": [-1], "right": [-1], "value": [0.1], "width": 1}"#

    /// A binary:logistic XGBoost model on 2 features with the given trees (all of margin 0).
    static func xgboost(trees: [String]) -> String {
        #"""
        {"learner": {"attributes": {}, "feature_names": [],
          "gradient_booster": {"model": {"gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "\#(trees.count)"},
            "tree_info": \#("[" + trees.map { _ in "0" }.joined(separator: ", ") + "]"), "trees": [\#(trees.joined(separator: ", "))]},
            "name": "gbtree"},
          "learner_model_param": {"base_score": "5E-1", "num_class": "0", "num_feature": "2", "num_target": "1"},
          "objective": {"name": "binary:logistic"}}}
        """#
    }

    /// A whole model file around `payload`.
    static func document(_ kind: String, payload: String? = nil, horizon: String = "5", deadZone: String = "0.001",
                         metrics: String = #"{"accuracy": 0.5, "temperature": 1.2}"#, names: String = #"["a", "b"]"#) -> String {
        #"""
        {"format": "tickwire-model", "format_version": 1, "kind": "\#(kind)", "name": "\#(kind)",
         "feature_set": "test", "feature_set_version": 1, "schema_hash": "\#(hash)", "feature_names": \#(names),
         "hyperparameters": {}, "training": {"from": "a", "to": "b", "rows": 10, "horizon": \#(horizon), "dead_zone": \#(deadZone)},
         "metrics": \#(metrics), "seed": 1, "created_at": "2025-01-01T00:00:00Z",
         "payload": \#(payload ?? payloads[kind]!)}
        """#
    }

    /// `text` with `from` (which must occur once) replaced by `to`.
    static func edit(_ text: String, _ from: String, _ to: String) throws -> String {
        try #require(text.components(separatedBy: from).count == 2, "'\(from)' occurs once")
        return text.replacingOccurrences(of: from, with: to)
    }

    /// Writes `text` to a file and loads it; returns the error's description (nil: loaded).
    static func refusal(_ text: String, directory: ScratchDirectory, name: String = "model.json") -> String? {
        refusal(Data(text.utf8), directory: directory, name: name)
    }

    static func refusal(_ data: Data, directory: ScratchDirectory, name: String = "model.json") -> String? {
        let path = directory.file(name)
        do {
            try data.write(to: URL(fileURLWithPath: path))
            _ = try ModelFile.load(path: path, expectedSchemaHash: hash).classifier()
            return nil
        } catch {
            let text = "\(error)"
            #expect(text.contains(path), "the error names the file: \(text)")
            return text
        }
    }

    @Test("the valid documents load and predict", arguments: ["rf", "gbt", "logreg", "svm"])
    func valid(kind: String) throws {
        let directory = try ScratchDirectory()
        let path = directory.file("\(kind).json")
        try Self.document(kind).write(toFile: path, atomically: true, encoding: .utf8)
        let model = try ModelFile.load(path: path, expectedSchemaHash: Self.hash).classifier()
        #expect(model.featureCount == 2)
        let p = try model.predict([0.3, -1])
        #expect(p.count == 3 && abs(p.reduce(0, +) - 1) < 1e-9)
    }

    @Test("bad indices, cycles, shapes, sizes and numbers in Tickwire model files name the JSON path")
    func tickwireFiles() throws {
        let directory = try ScratchDirectory()
        let rf = Self.document("rf"), gbt = Self.document("gbt"), logreg = Self.document("logreg"), svm = Self.document("svm")
        let cases: [(text: String, mentions: String)] = [
            // Child links outside the tree, or back to an ancestor (an endless walk).
            (try Self.edit(rf, #""left": [1, -1, -1]"#, #""left": [912, -1, -1]"#),
             "payload.rf.trees[0].left[0]: index 912 out of range (1..<3)"),
            (try Self.edit(rf, #""left": [1, -1, -1]"#, #""left": [0, -1, -1]"#),
             "payload.rf.trees[0].left[0]: index 0 out of range (1..<3)"),
            (try Self.edit(gbt, #""right": [2, -1, -1], "value": [0, 0.5, -0.5]"#, #""right": [-7, -1, -1], "value": [0, 0.5, -0.5]"#),
             "payload.gbt.rounds[0][0].right[0]: index -7 out of range (1..<3)"),
            // Feature indices beyond the model, huge ones included.
            (try Self.edit(rf, #""feature": [0, -1, -1]"#, #""feature": [9223372036854775807, -1, -1]"#),
             "payload.rf.trees[0].feature[0]: feature 9223372036854775807 out of range (0..<2)"),
            // Arrays of different lengths; a width that would overflow count × width.
            (try Self.edit(rf, #""threshold": [0.5, 0, 0]"#, #""threshold": [0.5]"#),
             "payload.rf.trees[0].threshold: 1 entries, feature has 3"),
            (try Self.edit(rf, #""width": 3"#, #""width": 4611686018427387904"#), "payload.rf.trees[0].width"),
            (try Self.edit(rf, #""value": [0.2, 0.3, 0.5, 1, 0, 0, 0, 0, 1]"#, #""value": [0.2, 0.3]"#),
             "payload.rf.trees[0].value: 2 entries, expected 3 nodes × 3"),
            (try Self.edit(rf, #""value": [0.2, 0.3, 0.5,"#, #""value": [-0.2, 0.3, 0.5,"#), "payload.rf.trees[0].value[0]"),
            (Self.document("rf", payload: #"{"rf": {"feature_count": 2, "trees": []}}"#), "payload.rf.trees: 0 trees"),
            // A model that reads no features (the crashing frame of issue 11 had none).
            (Self.document("rf", payload: try Self.edit(Self.payloads["rf"]!, #""feature_count": 2"#, #""feature_count": 0"#), names: "[]"),
             "payload.rf.feature_count: 0 features"),
            (try Self.edit(gbt, #""initial": [0, 0, 0]"#, #""initial": [0, 0]"#), "payload.gbt.initial: 2 values, expected 3"),
            (Self.document("gbt", payload: #"{"gbt": {"feature_count": 2, "initial": [0, 0, 0], "rounds": [[\#(Self.leaf), \#(Self.leaf)]]}}"#),
             "payload.gbt.rounds[0]: 2 trees, expected 3"),
            // Logistic regression with mismatched weight shapes, a zero scale.
            (try Self.edit(logreg, #""coefficients": [[1, 0], [0, 0], [0, 1]]"#, #""coefficients": [[1, 0], [0, 0]]"#),
             "payload.logreg.coefficients: 2 rows, expected 3"),
            (try Self.edit(logreg, #""coefficients": [[1, 0], [0, 0], [0, 1]]"#, #""coefficients": [[1, 0], [0], [0, 1]]"#),
             "payload.logreg.coefficients[1]: 1 values, expected 2"),
            (try Self.edit(logreg, #""scale": [1, 1]"#, #""scale": [1, 0]"#), "payload.logreg.standardizer.scale[1]"),
            (try Self.edit(logreg, #""intercepts": [0, 0, 0]"#, #""intercepts": [0, 0, 0, 0, 0]"#),
             "payload.logreg.intercepts: 5 values, expected 3"),
            // SVM random-feature dimensions.
            (try Self.edit(svm, #""frequencies": [0.1, 0.2, 0.3, 0.4]"#, #""frequencies": [0.1, 0.2, 0.3]"#),
             "payload.svm.frequencies: 3 values, expected 4"),
            (try Self.edit(svm, #""phases": [0, 1]"#, #""phases": []"#), "payload.svm.phases: 0 components"),
            (try Self.edit(svm, #""gamma": 0.5"#, #""gamma": 0"#), "payload.svm.gamma"),
            (try Self.edit(svm, #""weights": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]"#, #""weights": [[1, 0, 0], [0, 1, 0], [0, 0]]"#),
             "payload.svm.weights[2]: 2 values, expected 3"),
            (try Self.edit(svm, #""calibration_intercepts": [0, 0, 0]"#, #""calibration_intercepts": []"#),
             "payload.svm.calibration_intercepts"),
            // The training window and calibration the generator uses.
            (Self.document("rf", horizon: "0"), "training.horizon: 0 out of range"),
            (Self.document("rf", horizon: "9223372036854775807"), "training.horizon"),
            (Self.document("rf", deadZone: "-1"), "training.dead_zone"),
            (Self.document("rf", metrics: #"{"temperature": 0}"#), "metrics.temperature: 0.0 out of range"),
            (Self.document("rf", metrics: #"{"temperature": -2}"#), "metrics.temperature"),
            (Self.document("rf", metrics: #"{"ensemble_temperature": 1e9}"#), "metrics.ensemble_temperature"),
            (Self.document("rf", metrics: #"{"accuracy": 7}"#), "metrics.accuracy"),
            // Wrong types and unrepresentable numbers: decoding errors with the path.
            (try Self.edit(rf, #""left": [1, -1, -1]"#, #""left": "abc""#), "payload.rf.trees[0].left"),
            (try Self.edit(rf, #""left": [1, -1, -1]"#, #""left": [1e30, -1, -1]"#),
             "payload.rf.trees[0].left[0]: number 1e+30 is out of range"),
            (try Self.edit(gbt, #""initial": [0, 0, 0]"#, #""initial": [1e999, 0, 0]"#), "Number 1e999 is not representable"),
            (try Self.edit(rf, #""left": [1, -1, -1]"#, #""left": [1, -1, -1"#), "not JSON"),
        ]
        for (index, (text, mentions)) in cases.enumerated() {
            let refusal = Self.refusal(text, directory: directory, name: "case\(index).json")
            #expect(refusal?.contains(mentions) == true, "case \(index): \(refusal ?? "loaded")")
        }
    }

    @Test("a tree deeper than the limit is refused, in both formats")
    func deepTrees() throws {
        // A chain: node 2k splits, its left child 2k+1 is a leaf, its right child 2k+2 goes on.
        let depth = ModelLimits.treeDepth + 5
        let count = 2 * depth + 1
        var feature = [Int](), left = [Int](), right = [Int]()
        for i in 0..<count {
            let inner = i % 2 == 0 && i < count - 1
            feature.append(inner ? 0 : -1)
            left.append(inner ? i + 1 : -1)
            right.append(inner ? i + 2 : -1)
        }
        func list<T>(_ values: [T]) -> String { "[" + values.map { "\($0)" }.joined(separator: ", ") + "]" }
        let tree = #"{"feature": \#(list(feature)), "threshold": \#(list([Int](repeating: 0, count: count))), "left": \#(list(left)), "right": \#(list(right)), "value": \#(list([Int](repeating: 1, count: count * 3))), "width": 3}"#
        let directory = try ScratchDirectory()
        let refusal = Self.refusal(Self.document("rf", payload: #"{"rf": {"feature_count": 2, "trees": [\#(tree)]}}"#), directory: directory)
        #expect(refusal?.contains("payload.rf.trees[0]: deeper than \(ModelLimits.treeDepth) levels") == true, "\(refusal ?? "loaded")")

        let xgbTree = #"{"left_children": \#(list(left)), "right_children": \#(list(right)), "split_indices": \#(list([Int](repeating: 0, count: count))), "split_conditions": \#(list([Int](repeating: 1, count: count))), "default_left": \#(list([Int](repeating: 0, count: count)))}"#
        let shallow = #"{"left_children": [-1], "right_children": [-1], "split_indices": [0], "split_conditions": [0.5], "default_left": [0]}"#
        #expect(try XGBoostModelTests.load(Data(Self.xgboost(trees: [shallow]).utf8)).treeCount == 1)
        let text = Data(Self.xgboost(trees: [shallow, xgbTree]).utf8)
        let error = try #require(throws: XGBoostModelError.self) { try XGBoostModelTests.load(text) }
        #expect(error.description.contains("learner.gradient_booster.model.trees[1]: deeper than \(ModelLimits.treeDepth) levels"),
                "\(error)")
    }

    @Test("truncated, garbage, empty, deeply nested and oversized files, and directories, are refused")
    func garbage() throws {
        let directory = try ScratchDirectory()
        let rf = Self.document("rf")
        var cases: [Data] = [
            Data(rf.utf8.prefix(rf.utf8.count / 2)),
            Data(),
            Data("null".utf8),
            Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }),
            Data(String(repeating: "[", count: 200_000).utf8),
            Data(("{\"format\": " + String(repeating: "{\"a\": ", count: 50_000)).utf8),
            // Deep but well formed: a parser or a walk that recursed without limit would overflow the stack.
            Data(("{\"format\": \"tickwire-model\", \"x\": " + String(repeating: "[", count: 100_000)
                  + String(repeating: "]", count: 100_000) + ", \"y\": 1e999}").utf8),
            Data(("{\"format\": \"tickwire-model\", \"x\": " + String(repeating: "[", count: 100_000) + "1e30"
                  + String(repeating: "]", count: 100_000) + "}").utf8),
        ]
        cases.append(Data(rf.utf8) + Data(" trailing".utf8))
        for (index, data) in cases.enumerated() {
            #expect(Self.refusal(data, directory: directory, name: "garbage\(index).json") != nil, "case \(index) loaded")
        }
        for (index, data) in cases.enumerated() {
            let path = directory.file("any\(index).json")
            try data.write(to: URL(fileURLWithPath: path))
            #expect(throws: (any Error).self) { try AnyModelFile.load(path: path, expectedSchemaHash: Self.hash) }
        }
        // A directory where a file should be; a file beyond the size limit (sparse: no disk used).
        let folder = directory.file("folder.json")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let notAFile = try #require(throws: ModelFileError.self) { try ModelFile.load(path: folder, expectedSchemaHash: Self.hash) }
        #expect("\(notAFile)".contains("not a regular file"), "\(notAFile)")
        let huge = directory.file("huge.json")
        #expect(FileManager.default.createFile(atPath: huge, contents: Data("{".utf8)))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: huge))
        try handle.truncate(atOffset: UInt64(ModelLimits.fileBytes) + 1)
        try handle.close()
        let tooLarge = try #require(throws: ModelFileError.self) { try ModelFile.load(path: huge, expectedSchemaHash: Self.hash) }
        #expect("\(tooLarge)".contains("at most \(ModelLimits.fileBytes)"), "\(tooLarge)")
        let xgbLarge = try #require(throws: XGBoostModelError.self) { try XGBoostModel.load(path: huge) }
        #expect("\(xgbLarge)".contains("at most"), "\(xgbLarge)")
    }

    @Test("XGBoost: overflowing iteration counts, huge indices, out-of-range children and non-finite numbers name the JSON path")
    func xgboostFiles() throws {
        let prefix = "learner.gradient_booster.model"
        let noIndptr = (from: #""iteration_indptr": [0, 3],"#, to: "")
        let cases: [(edits: [(from: String, to: String)], mentions: String)] = [
            // best_iteration + 1 and best_iteration × num_parallel_tree overflowed (a trap before).
            ([(#""attributes": {}"#, #""attributes": {"best_iteration": "9223372036854775807"}"#)],
             "learner.attributes.best_iteration: best_iteration 9223372036854775807"),
            ([(#""attributes": {}"#, #""attributes": {"best_iteration": "9223372036854775807"}"#), noIndptr],
             "learner.attributes.best_iteration"),
            ([(#""attributes": {}"#, #""attributes": {"best_iteration": "0"}"#), noIndptr,
              (#""num_parallel_tree": "1""#, #""num_parallel_tree": "9223372036854775807""#)],
             "\(prefix).gbtree_model_param.num_parallel_tree: 9223372036854775807 out of range"),
            ([(#""attributes": {}"#, #""attributes": {"best_iteration": "-1"}"#), noIndptr], "learner.attributes.best_iteration"),
            // A split index beyond Int32 (Int32(split_index) trapped) needs num_feature that large.
            ([(#""num_feature": "2", "num_target""#, #""num_feature": "3000000000", "num_target""#),
              (#""split_indices": [1, 0, 0, 0, 0]"#, #""split_indices": [2147483648, 0, 0, 0, 0]"#)],
             "learner.learner_model_param.num_feature: 3000000000 out of range"),
            ([(#""num_feature": "2", "num_target""#, #""num_feature": "0", "num_target""#)],
             "learner.learner_model_param.num_feature: 0 out of range"),
            // Children out of range (the message of issue 11), and a cycle.
            ([(#""left_children": [1, -1, 3, -1, -1]"#, #""left_children": [1, -1, 912, -1, -1]"#)],
             "\(prefix).trees[2].left_children[2]: index 912 out of range (0..<5)"),
            ([(#""right_children": [2, -1, 4, -1, -1]"#, #""right_children": [2, -1, -9223372036854775807, -1, -1]"#)],
             "\(prefix).trees[2].right_children[2]"),
            ([(#""left_children": [1, -1, 3, -1, -1]"#, #""left_children": [1, -1, 0, -1, -1]"#)], "reached twice"),
            ([(#""right_children": [2, -1, 4, -1, -1]"#, #""right_children": [2, -1, 4, -1]"#)],
             "\(prefix).trees[2].right_children: right_children has 4 entries"),
            // Numbers that are not finite as float32.
            ([(#""split_conditions": [0.5, 1.0, -1.0]"#, #""split_conditions": [0.5, 1e39, -1.0]"#)],
             "\(prefix).trees[0].split_conditions[1]: leaf value inf is not finite"),
            ([(#""split_conditions": [0.5, 1.0, -1.0]"#, #""split_conditions": [1e39, 1.0, -1.0]"#)],
             "\(prefix).trees[0].split_conditions[0]: threshold inf is not finite"),
            ([(#""base_score": "[1E-1,2E-1,3E-1]""#, #""base_score": 1e300"#)], "base_score"),
            ([(#""base_score": "[1E-1,2E-1,3E-1]""#, #""base_score": "[1E-1,2E-1,3E+39]""#)], "base_score"),
            ([(#""tree_info": [0, 1, 2]"#, #""tree_info": [0, 1, -9223372036854775807]"#)], "\(prefix).tree_info[2]"),
        ]
        for (index, (edits, mentions)) in cases.enumerated() {
            var text = XGBoostModelTests.tiny
            for edit in edits { text = try Self.edit(text, edit.from, edit.to) }
            do {
                _ = try XGBoostModelTests.load(Data(text.utf8))
                Issue.record("case \(index) loaded")
            } catch {
                #expect("\(error)".contains(mentions) && "\(error)".contains("tiny.json"), "case \(index): \(error)")
            }
        }
        // Class counts: 0 and 10^9 classes, a negative binary num_class.
        for classes in ["0", "1000000000", "-3"] {
            let text = try Self.edit(XGBoostModelTests.tiny, #""num_class": "3", "num_feature""#, #""num_class": "\#(classes)", "num_feature""#)
            #expect(XGBoostModelTests.reason(Data(text.utf8)) == .wrongClassCount(Int(classes) ?? 0))
        }
        let binary = try Self.edit(
            Self.edit(XGBoostModelTests.tiny, #""name": "multi:softprob""#, #""name": "binary:logistic""#),
            #""num_class": "3", "num_feature""#, #""num_class": "-5", "num_feature""#)
        #expect(XGBoostModelTests.reason(Data(binary.utf8)) == .wrongClassCount(-5))
        // DART weights that are not finite.
        let dart = try Self.edit(
            XGBoostModelTests.tiny, #""gradient_booster": {"model": {"#,
            #""gradient_booster": {"weight_drop": [1, 1e39, 1], "gbtree": {"model": {"#)
        let dartText = try Self.edit(dart, #"]}, "name": "gbtree"},"#, #"]}}, "name": "dart"},"#)
        let dartError = try #require(throws: XGBoostModelError.self) { try XGBoostModelTests.load(Data(dartText.utf8)) }
        #expect(dartError.description.contains("learner.gradient_booster.weight_drop[1]: not a finite float32"), "\(dartError)")
    }
}

@Suite("Predicting on hostile rows")
struct HostileRowTests {
    static func models() throws -> [any Classifier] {
        try trainableKinds.map { try #require(Fixtures.models[$0]) } + [XGBoostModelTests.load(Data(XGBoostModelTests.tiny.utf8))]
    }

    @Test("a row of the wrong width gets the uniform distribution from probabilities and an error from predict")
    func wrongWidth() throws {
        for model in try Self.models() {
            for row in [[], [1.0], [Double](repeating: 0.5, count: model.featureCount + 1)] {
                #expect(model.probabilities(row) == Direction.uniform, "\(model.kind)")
                #expect(throws: PredictionError.featureCount(count: row.count, expected: model.featureCount)) {
                    try model.predict(row)
                }
            }
        }
        let gbt = try #require(Fixtures.models["gbt"] as? GradientBoosting)
        #expect(gbt.scores([]) == [0, 0, 0])
        let svm = try #require(Fixtures.models["svm"] as? RBFSupportVectorMachine)
        #expect(svm.fourierFeatures([1]).isEmpty)
        let xgb = try XGBoostModelTests.load(Data(XGBoostModelTests.tiny.utf8))
        #expect(xgb.margins([1, 2, 3]) == [0, 0, 0])
    }

    @Test("NaN and infinite values are refused by predict (NaN is 'missing' for XGBoost); extreme rows never give NaN")
    func nonFinite() throws {
        for model in try Self.models() {
            let width = model.featureCount
            var row = [Double](repeating: 0.1, count: width)
            row[width - 1] = .infinity
            #expect(throws: PredictionError.nonFiniteFeature(index: width - 1)) { try model.predict(row) }
            row[width - 1] = .nan
            if model.acceptsMissingValues {
                #expect(try model.predict(row).count == 3)
            } else {
                #expect(throws: PredictionError.nonFiniteFeature(index: width - 1)) { try model.predict(row) }
            }
            for extreme in [Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude, 1e300] {
                do {
                    let p = try model.predict([Double](repeating: extreme, count: width))
                    #expect(p.allSatisfy { $0.isFinite && $0 >= 0 }, "\(model.kind) at \(extreme): \(p)")
                } catch {
                    #expect(error == .nonFiniteOutput(kind: model.kind), "\(model.kind) at \(extreme)")
                }
            }
        }
    }

    @Test("helpers of the public API never trap on short input")
    func helpers() {
        #expect(Direction.mostLikely([]) == Direction.flat.rawValue)
        #expect(Direction.mostLikely([0.2, 0.5]) == 1)
        let combined = EnsembleMethod.simpleAverage.combine([[0.1, 0.2, 0.7], [1], []], weights: [1, 1, 1])
        #expect(combined.probabilities.count == 3 && abs(combined.probabilities[2] - 0.7) < 1e-12)
        #expect(Standardizer(mean: [0, 0], scale: [1, 1]).transform([1, 2, 3]) == [1, 2, 3])
    }
}
