import Foundation
import Models
import Testing

/// XGBoostModel on a hand-written model whose margins can be worked out by hand, and on broken
/// variants of it (no Python needed).
@Suite("XGBoost model file")
struct XGBoostModelTests {
    /// Three trees, one per class, on 2 features, with xgboost 3.x's vector base_score:
    /// - class 0: x0 < 0.5 → +1, else -1; x0 missing → left.
    /// - class 1: a single leaf, +0.25.
    /// - class 2: x1 < 1 → +0.5; else x0 < 0.1 → -0.5, else +2; x1 missing → right,
    ///   x0 missing → left.
    static let tiny = """
        {"learner": {"attributes": {}, "feature_names": [], "feature_types": [],
          "gradient_booster": {"model": {
            "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "3"},
            "iteration_indptr": [0, 3],
            "tree_info": [0, 1, 2],
            "trees": [
              {"id": 0, "left_children": [1, -1, -1], "right_children": [2, -1, -1],
               "split_indices": [0, 0, 0], "split_conditions": [0.5, 1.0, -1.0],
               "default_left": [1, 0, 0], "split_type": [0, 0, 0], "base_weights": [0, 1, -1],
               "tree_param": {"num_deleted": "0", "num_feature": "2", "num_nodes": "3", "size_leaf_vector": "1"}},
              {"id": 1, "left_children": [-1], "right_children": [-1],
               "split_indices": [0], "split_conditions": [0.25],
               "default_left": [0], "split_type": [0], "base_weights": [0.25],
               "tree_param": {"num_deleted": "0", "num_feature": "2", "num_nodes": "1", "size_leaf_vector": "1"}},
              {"id": 2, "left_children": [1, -1, 3, -1, -1], "right_children": [2, -1, 4, -1, -1],
               "split_indices": [1, 0, 0, 0, 0], "split_conditions": [1.0, 0.5, 0.1, -0.5, 2.0],
               "default_left": [0, 0, 1, 0, 0], "split_type": [0, 0, 0, 0, 0], "base_weights": [0, 0.5, 0, -0.5, 2],
               "tree_param": {"num_deleted": "0", "num_feature": "2", "num_nodes": "5", "size_leaf_vector": "1"}}
            ]}, "name": "gbtree"},
          "learner_model_param": {"base_score": "[1E-1,2E-1,3E-1]", "boost_from_average": "1",
            "num_class": "3", "num_feature": "2", "num_target": "1"},
          "objective": {"name": "multi:softprob", "softmax_multiclass_param": {"num_class": "3"}}},
         "version": [3, 2, 0]}
        """

    /// `tiny` with each `from` replaced by its `to` (each `from` must occur exactly once).
    static func variant(_ edits: (from: String, to: String)...) throws -> Data {
        var text = tiny
        for edit in edits {
            try #require(text.components(separatedBy: edit.from).count == 2, "\(edit.from) occurs once")
            text = text.replacingOccurrences(of: edit.from, with: edit.to)
        }
        return Data(text.utf8)
    }

    static func load(_ data: Data) throws -> XGBoostModel {
        try XGBoostModel(json: data, source: "tiny.json")
    }

    /// The reason a variant is rejected for.
    static func reason(_ data: Data) -> XGBoostModelError.Reason? {
        do {
            _ = try load(data)
            return nil
        } catch let error as XGBoostModelError {
            #expect(error.source == "tiny.json" && error.description.contains("tiny.json"))
            return error.reason
        } catch {
            Issue.record("not an XGBoostModelError: \(error)")
            return nil
        }
    }

    @Test("margins by hand: base score per class, float32 sums, NaN follows default_left")
    func margins() throws {
        let model = try Self.load(Data(Self.tiny.utf8))
        #expect(model.kind == "xgboost" && model.numFeatures == 2 && model.numClasses == 3 && model.treeCount == 3)
        let b0: Float = 0.1, b1: Float = 0.2, b2: Float = 0.3
        #expect(model.margins([0, 0]) == [b0 + 1, b1 + 0.25, b2 + 0.5])
        #expect(model.margins([.nan, 5]) == [b0 + 1, b1 + 0.25, b2 - 0.5])
        #expect(model.margins([0.7, .nan]) == [b0 - 1, b1 + 0.25, b2 + 2])
        #expect(model.margins([.nan, .nan]) == [b0 + 1, b1 + 0.25, b2 - 0.5])
    }

    @Test("comparisons are float32: a double just below a threshold that rounds onto it goes right")
    func float32Comparisons() throws {
        let model = try Self.load(Data(Self.tiny.utf8))
        let b0: Float = 0.1, b2: Float = 0.3
        // Double(0.5).nextDown < 0.5 in double, but Float(Double(0.5).nextDown) == 0.5: not below, so right.
        #expect(model.margins([Double(0.5).nextDown, 3])[0] == b0 - 1)
        #expect(model.margins([Double(0.5).nextDown.nextDown.nextDown, 3])[0] == b0 - 1)
        #expect(model.margins([Double(Float(0.5).nextDown), 3])[0] == b0 + 1)
        // Double 0.1 is below Float(0.1) (0.100000001…), yet Float(0.1) == Float(0.1): right.
        #expect(model.margins([0.1, 3])[2] == b2 + 2)
        // Exactly on a threshold goes right.
        #expect(model.margins([0.7, 1.0])[2] == b2 + 2)
        #expect(model.margins([0.7, Double(Float(1).nextDown)])[2] == b2 + 0.5)
    }

    @Test("probabilities are the softmax of the margins, in Direction order")
    func softmax() throws {
        let model = try Self.load(Data(Self.tiny.utf8))
        for row: [Double] in [[0, 0], [.nan, 5], [0.7, .nan], [0.1, 3]] {
            let m = model.margins(row).map(Double.init)
            let e = m.map { exp($0 - m.max()!) }
            let expected = e.map { $0 / e.reduce(0, +) }
            let p = model.probabilities(row)
            #expect(p.count == Direction.count)
            #expect(zip(p, expected).allSatisfy { abs($0 - $1) < 1e-6 }, "\(p) vs \(expected)")
        }
        // [0.7, NaN]: margins -0.9, 0.45, 2.3: up is the most likely.
        let p = model.probabilities([0.7, .nan])
        #expect(p[Direction.up.rawValue] > p[Direction.flat.rawValue] && p[Direction.flat.rawValue] > p[Direction.down.rawValue])
    }

    @Test("multi:softmax gives probabilities too; a scalar base_score (xgboost < 3) applies to every class")
    func softmaxObjectiveAndScalarBaseScore() throws {
        let model = try Self.load(Self.variant(
            (#""name": "multi:softprob""#, #""name": "multi:softmax""#),
            (#""base_score": "[1E-1,2E-1,3E-1]""#, #""base_score": "5E-1""#)))
        #expect(model.objective == "multi:softmax")
        let half: Float = 0.5
        #expect(model.margins([0, 0]) == [half + 1, half + 0.25, half + 0.5])
        #expect(abs(model.probabilities([0, 0]).reduce(0, +) - 1) < 1e-6)
        let numeric = try Self.load(Self.variant((#""base_score": "[1E-1,2E-1,3E-1]""#, #""base_score": 0.5"#)))
        #expect(numeric.margins([0, 0]) == model.margins([0, 0]))
    }

    @Test("binary:logistic: base_score is a probability (margin = its logit); P(up) = p, P(flat) = 0")
    func binary() throws {
        let model = try Self.load(Self.variant(
            (#""name": "multi:softprob", "softmax_multiclass_param": {"num_class": "3"}"#,
             #""name": "binary:logistic", "reg_loss_param": {"scale_pos_weight": "1"}"#),
            (#""num_class": "3""#, #""num_class": "0""#),
            (#""tree_info": [0, 1, 2]"#, #""tree_info": [0, 0, 0]"#),
            (#""base_score": "[1E-1,2E-1,3E-1]""#, #""base_score": "[2.5E-1]""#)))
        #expect(model.numClasses == 2 && model.objective == "binary:logistic")
        let margin = -log(3.0) + 1 + 0.25 + 0.5
        #expect(abs(Double(model.margins([0, 0])[0]) - margin) < 1e-6)
        let p = model.probabilities([0, 0])
        let up = 1 / (1 + exp(-margin))
        #expect(abs(p[2] - up) < 1e-6 && p[1] == 0 && abs(p[0] - (1 - up)) < 1e-6)
    }

    @Test("dart: each tree's leaves are scaled by its weight_drop")
    func dart() throws {
        let model = try Self.load(Self.variant(
            (#""gradient_booster": {"model": {"#,
             #""gradient_booster": {"weight_drop": [0.5, 1.0, 2.0], "gbtree": {"name": "gbtree", "model": {"#),
            (#"]}, "name": "gbtree"},"#, #"]}}, "name": "dart"},"#)))
        #expect(model.booster == "dart")
        let b0: Float = 0.1, b1: Float = 0.2, b2: Float = 0.3
        #expect(model.margins([0.2, 5]) == [b0 + 1 * 0.5, b1 + 0.25 * 1, b2 + 2 * 2])
        #expect(model.margins([0, 5]) == [b0 + 1 * 0.5, b1 + 0.25 * 1, b2 - 0.5 * 2])
    }

    @Test("files from before split_type and iteration_indptr load the same")
    func legacyFields() throws {
        var text = Self.tiny.replacingOccurrences(of: #""iteration_indptr": [0, 3],"#, with: "")
        text = text.replacingOccurrences(of: #", "split_type": \[[0, ]*\]"#, with: "", options: .regularExpression)
        #expect(!text.contains("split_type") && !text.contains("iteration_indptr"))
        let legacy = try Self.load(Data(text.utf8))
        let current = try Self.load(Data(Self.tiny.utf8))
        for row: [Double] in [[0, 0], [.nan, 5], [0.7, .nan], [0.1, 3]] {
            #expect(legacy.margins(row) == current.margins(row))
        }
    }

    @Test("best_iteration keeps the trees up to it (with or without iteration_indptr)")
    func bestIteration() throws {
        // Two iterations: the second adds +10 to every class.
        let extra = #"""
            {"id": 3, "left_children": [-1], "right_children": [-1], "split_indices": [0], "split_conditions": [10.0], "default_left": [0]},
            {"id": 4, "left_children": [-1], "right_children": [-1], "split_indices": [0], "split_conditions": [10.0], "default_left": [0]},
            {"id": 5, "left_children": [-1], "right_children": [-1], "split_indices": [0], "split_conditions": [10.0], "default_left": [0]},
            {"id": 2,
            """#
        let edits: [(from: String, to: String)] = [
            (#""attributes": {}"#, #""attributes": {"best_iteration": "0", "best_score": "0.5"}"#),
            (#""num_trees": "3""#, #""num_trees": "6""#),
            (#""tree_info": [0, 1, 2]"#, #""tree_info": [0, 1, 0, 1, 2, 2]"#),
            (#"{"id": 2,"#, extra),
        ]
        // Trees in file order: 0 (class 0), 1 (class 1), then the three +10 leaves, then tree 2.
        // With indptr [0, 3, 6] the first iteration is trees 0, 1 and a +10 leaf for class 0.
        let withIndptr = try Self.load(Self.variant(edits[0], edits[1], edits[2], edits[3],
                                                    (#""iteration_indptr": [0, 3]"#, #""iteration_indptr": [0, 3, 6]"#)))
        let b0: Float = 0.1, b1: Float = 0.2, b2: Float = 0.3
        #expect(withIndptr.treeCount == 3)
        #expect(withIndptr.margins([0, 0]) == [b0 + 1 + 10, b1 + 0.25, b2])
        let all = try XGBoostModel(json: Self.variant(edits[0], edits[1], edits[2], edits[3],
                                                      (#""iteration_indptr": [0, 3]"#, #""iteration_indptr": [0, 3, 6]"#)),
                                   source: "tiny.json", useBestIteration: false)
        #expect(all.treeCount == 6)
        #expect(all.margins([0, 0]) == [b0 + 1 + 10, b1 + 0.25 + 10, b2 + 10 + 0.5])
        // Without iteration_indptr: 3 trees per iteration (one per class).
        let withoutIndptr = try Self.load(Self.variant(edits[0], edits[1], edits[2], edits[3],
                                                       (#""iteration_indptr": [0, 3],"#, "")))
        #expect(withoutIndptr.treeCount == 3)
        // A best_iteration beyond the model is an error, not a silent truncation.
        let beyond = Self.reason(try Self.variant((#""attributes": {}"#, #""attributes": {"best_iteration": "4"}"#)))
        guard case .malformed(let detail) = beyond else { Issue.record("\(String(describing: beyond))"); return }
        #expect(detail.contains("best_iteration"))
    }

    @Test("not JSON, or JSON that is not an XGBoost model")
    func notAModel() throws {
        #expect(Self.reason(Data("hello".utf8)) == .notJSON)
        #expect(Self.reason(Data([0x7B, 0x4C, 0x00, 0x00])) == .notJSON)  // UBJSON starts with "{"
        guard case .notXGBoost = Self.reason(Data(#"{"weights": [1, 2]}"#.utf8)) else {
            Issue.record("a JSON object without learner"); return
        }
        guard case .notXGBoost = Self.reason(Data(#"{"learner": {"objective": {}}}"#.utf8)) else {
            Issue.record("a learner without gradient_booster"); return
        }
        guard case .notXGBoost = Self.reason(Data("[1, 2, 3]".utf8)) else { Issue.record("an array"); return }
    }

    @Test("unsupported objective and booster are named")
    func unsupported() throws {
        #expect(Self.reason(try Self.variant((#""name": "multi:softprob""#, #""name": "reg:squarederror""#)))
                == .unsupportedObjective("reg:squarederror"))
        #expect(Self.reason(try Self.variant((#""name": "multi:softprob""#, #""name": "binary:logitraw""#)))
                == .unsupportedObjective("binary:logitraw"))
        #expect(Self.reason(try Self.variant((#"]}, "name": "gbtree"},"#, #"]}, "name": "gblinear"},"#)))
                == .unsupportedBooster("gblinear"))
        let error = XGBoostModelError(source: "/models/m.json", reason: .unsupportedBooster("gblinear"))
        #expect(error.description == #"XGBoost model /models/m.json has booster "gblinear"; supported: gbtree, dart"#)
    }

    @Test("a multi-class model needs exactly 3 classes; binary needs num_class 0 or 1")
    func classCount() throws {
        #expect(Self.reason(try Self.variant((#""num_class": "3", "num_feature""#, #""num_class": "4", "num_feature""#)))
                == .wrongClassCount(4))
        #expect(Self.reason(try Self.variant((#""num_class": "3", "num_feature""#, #""num_class": "2", "num_feature""#)))
                == .wrongClassCount(2))
        #expect(Self.reason(try Self.variant(
            (#""name": "multi:softprob""#, #""name": "binary:logistic""#),
            (#""base_score": "[1E-1,2E-1,3E-1]""#, #""base_score": "5E-1""#))) == .wrongClassCount(3))
    }

    @Test("a split on a feature beyond num_feature, and categorical splits, are rejected")
    func features() throws {
        #expect(Self.reason(try Self.variant((#""split_indices": [1, 0, 0, 0, 0]"#, #""split_indices": [1, 0, 2, 0, 0]"#)))
                == .featureOutOfRange(tree: 2, node: 2, feature: 2, numFeatures: 2))
        #expect(Self.reason(try Self.variant((#""split_indices": [0, 0, 0]"#, #""split_indices": [-1, 0, 0]"#)))
                == .featureOutOfRange(tree: 0, node: 0, feature: -1, numFeatures: 2))
        #expect(Self.reason(try Self.variant((#""split_type": [0, 0, 0, 0, 0]"#, #""split_type": [0, 0, 1, 0, 0]"#)))
                == .categoricalSplit(tree: 2, node: 2))
        // A leaf's split_indices and split_type are not read.
        #expect(Self.reason(try Self.variant((#""split_indices": [1, 0, 0, 0, 0]"#, #""split_indices": [1, 9, 0, 0, 0]"#))) == nil)
    }

    @Test("malformed arrays and links are named")
    func malformed() throws {
        let cases: [(edit: (from: String, to: String), mentions: String)] = [
            ((#""right_children": [2, -1, 4, -1, -1]"#, #""right_children": [2, -1, 4, -1]"#), "trees[2].right_children: right_children has 4 entries"),
            ((#""split_conditions": [0.5, 1.0, -1.0]"#, #""split_conditions": [0.5, "a", -1.0]"#), "trees[0].split_conditions[1]"),
            ((#""default_left": [1, 0, 0]"#, #""default_left": [2, 0, 0]"#), "trees[0].default_left[0]"),
            ((#""left_children": [1, -1, 3, -1, -1]"#, #""left_children": [1, -1, 0, -1, -1]"#), "reached twice"),
            ((#""left_children": [1, -1, 3, -1, -1]"#, #""left_children": [1, -1, 7, -1, -1]"#), "trees[2].left_children[2]: index 7 out of range (0..<5)"),
            ((#""left_children": [1, -1, -1]"#, #""left_children": [-1, -1, -1]"#), "one child only"),
            ((#""left_children": [-1], "right_children": [-1],"#, #""left_children": [], "right_children": [],"#), "has no nodes"),
            ((#""tree_info": [0, 1, 2]"#, #""tree_info": [0, 1]"#), "tree_info has 2 entries for 3 trees"),
            ((#""tree_info": [0, 1, 2]"#, #""tree_info": [0, 1, 3]"#), "tree_info[2] is class 3"),
            ((#""num_trees": "3""#, #""num_trees": "4""#), "num_trees is 4"),
            ((#""num_nodes": "5""#, #""num_nodes": "6""#), "num_nodes is 6"),
            ((#""num_nodes": "5", "size_leaf_vector": "1""#, #""num_nodes": "5", "size_leaf_vector": "3""#), "multi-output trees"),
            ((#""base_score": "[1E-1,2E-1,3E-1]""#, #""base_score": "[1E-1,2E-1]""#), "base_score has 2 values"),
            ((#""base_score": "[1E-1,2E-1,3E-1]""#, #""base_score": "half""#), "base_score"),
            ((#""num_feature": "2", "num_target""#, #""num_feature": "two", "num_target""#), "num_feature"),
            ((#""num_target": "1""#, #""num_target": "3""#), "multi-output"),
            ((#""trees": ["#, #""forest": ["#), "learner.gradient_booster.model.trees: missing or not an array"),
        ]
        for (edit, mentions) in cases {
            let data = try Self.variant(edit)
            let reason = Self.reason(data)
            guard case .malformed = reason else {
                Issue.record("\(edit.to): \(String(describing: reason))"); continue
            }
            let error = try #require(throws: XGBoostModelError.self) { try Self.load(data) }
            #expect(error.description.contains(mentions), "\(error)")
        }
        // binary:logistic needs a base_score strictly between 0 and 1.
        let binary = Self.reason(try Self.variant(
            (#""name": "multi:softprob""#, #""name": "binary:logistic""#), (#""num_class": "3", "num_feature""#, #""num_class": "0", "num_feature""#),
            (#""tree_info": [0, 1, 2]"#, #""tree_info": [0, 0, 0]"#), (#""base_score": "[1E-1,2E-1,3E-1]""#, #""base_score": "[0E0]""#)))
        guard case .malformed(let detail) = binary else { Issue.record("\(String(describing: binary))"); return }
        #expect(detail.contains("not a probability"))
    }

    @Test("load(path:) reads the file and names it in errors")
    func loadFromPath() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("xgboost-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(Self.tiny.utf8).write(to: URL(fileURLWithPath: path))
        #expect(try XGBoostModel.load(path: path).margins([0, 0]) == Self.load(Data(Self.tiny.utf8)).margins([0, 0]))

        try Self.variant((#""name": "multi:softprob""#, #""name": "rank:pairwise""#)).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: XGBoostModelError.self) { try XGBoostModel.load(path: path) }
        #expect(error.source == path && error.reason == .unsupportedObjective("rank:pairwise"))
        #expect(error.description.hasPrefix("XGBoost model \(path) has objective \"rank:pairwise\""))

        let missing = path + ".absent"
        let unreadable = try #require(throws: XGBoostModelError.self) { try XGBoostModel.load(path: missing) }
        guard case .unreadable = unreadable.reason else { Issue.record("\(unreadable)"); return }
        #expect(unreadable.description.contains(missing))
    }
}
