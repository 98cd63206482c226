import Foundation

/// A classifier trained in Python with XGBoost and imported from the JSON file that
/// `XGBClassifier.save_model("m.json")` / `Booster.save_model("m.json")` writes
/// (the 1.x-3.x layout: a scalar or 3.x vector `base_score`, with or without `split_type` and
/// `iteration_indptr`; verified against xgboost 3.2.0's `predict_proba`).
///
/// ## Classes
/// - A 3-class model (`multi:softprob` or `multi:softmax`, `num_class` 3) predicts labels
///   0, 1, 2 taken to be ``Direction/down``, ``Direction/flat``, ``Direction/up`` in that order:
///   train it on Tickwire's class indices. `multi:softmax` models give probabilities too
///   (the softmax of the margins, as `XGBClassifier.predict_proba` does).
/// - A `binary:logistic` model is taken to have been trained on label 1 = up, 0 = down (rows
///   that are flat left out): P(up) = p, P(down) = 1 - p, P(flat) = 0. It never predicts flat,
///   and if it was trained on "up vs not up" its P(down) is really P(down or flat).
///
/// ## Exactly what xgboost computes
/// Probabilities equal `XGBClassifier.predict_proba`'s to float32 rounding: features and
/// thresholds are compared in float32 (`Float(x) < threshold` goes left, NaN follows the node's
/// default direction), leaf values are summed in float32 starting from the intercept in margin
/// space, tree by tree in file order, and the softmax/sigmoid is xgboost's own (float32, sum of
/// exponentials in double). When the file records early stopping (`best_iteration`), only the
/// trees up to it are used, as `XGBClassifier.predict_proba` does.
///
/// Trees are flattened into one array of nodes laid out depth first (the left child right after
/// its parent), so a row through a few hundred trees takes microseconds.
public struct XGBoostModel: Classifier {
    public var kind: String { "xgboost" }
    /// Features the model reads (`num_feature`); ``probabilities(_:)`` takes exactly this many.
    public let numFeatures: Int
    /// Classes of the model as trained: 3 for a multi-class model, 2 for `binary:logistic`.
    /// ``probabilities(_:)`` always returns ``Direction/count`` values.
    public let numClasses: Int
    /// The objective, `multi:softprob`, `multi:softmax` or `binary:logistic`.
    public let objective: String
    /// The booster, `gbtree` or `dart`.
    public let booster: String
    /// Feature names recorded in the file (from a pandas frame), if any.
    public let featureNames: [String]?
    /// Trees used for prediction (after any `best_iteration` cut).
    public var treeCount: Int { roots.count }
    /// ``numFeatures``, as every ``Classifier`` names it.
    public var featureCount: Int { numFeatures }
    /// NaN is a missing value, as in xgboost.
    public var acceptsMissingValues: Bool { true }

    /// One node: an internal node reads `feature` and goes to `left` when the float32 feature is
    /// below `value`, to `right` otherwise, and to `missing` when it is NaN; a leaf has
    /// `feature == -1` and adds `value` to its tree's class margin (times the tree's DART weight).
    struct Node: Sendable {
        var feature: Int32
        var value: Float
        var left: Int32
        var right: Int32
        var missing: Int32
    }

    let nodes: [Node]
    /// Root node index of each tree, and the margin (class) each tree adds to.
    let roots: [Int32]
    let groups: [Int32]
    /// The intercept in margin space, one per margin (3, or 1 for binary).
    let baseMargin: [Float]
    /// DART's weight per tree (nil for gbtree): leaf values are multiplied by it in float32
    /// at prediction time, as xgboost does, rather than pre-multiplied.
    let treeWeights: [Float]?

    /// Reads a model file; throws ``XGBoostModelError`` naming the file, the JSON path and what
    /// is wrong. Never traps and never loops on a hostile file: sizes, indices, depths and
    /// numbers are checked against ``ModelLimits``.
    /// - Parameter useBestIteration: when the file records early stopping, predict with the
    ///   trees up to `best_iteration` only (what `XGBClassifier.predict_proba` does). Pass
    ///   `false` to use every tree, as `Booster.predict` does.
    public static func load(path: String, useBestIteration: Bool = true) throws -> XGBoostModel {
        let data: Data
        do {
            data = try readModelBytes(path: path)
        } catch {
            throw XGBoostModelError(source: path, reason: .unreadable(error.reason))
        }
        return try XGBoostModel(json: data, source: path, useBestIteration: useBestIteration)
    }

    /// Parses the JSON text of a model; `source` names it in errors.
    public init(json: Data, source: String = "<data>", useBestIteration: Bool = true) throws {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw XGBoostModelError(source: source, reason: .notJSON)
        }
        try self.init(document: root, source: source, useBestIteration: useBestIteration)
    }

    /// True when `document` (parsed JSON) looks like an XGBoost model: an object with `learner`.
    public static func isXGBoostDocument(_ document: Any) -> Bool {
        (document as? [String: Any])?["learner"] != nil
    }

    /// Builds the model from a parsed JSON document (JSONSerialization's output).
    public init(document root: Any, source: String = "<data>", useBestIteration: Bool = true) throws {
        func fail(_ reason: XGBoostModelError.Reason) -> XGBoostModelError {
            XGBoostModelError(source: source, reason: reason)
        }
        let doc = XGBoostJSON(source: source)
        guard let top = root as? [String: Any], let learner = top["learner"] as? [String: Any] else {
            throw fail(.notXGBoost("no \"learner\" object at the top level"))
        }
        guard let gradientBooster = learner["gradient_booster"] as? [String: Any] else {
            throw fail(.notXGBoost("no \"learner.gradient_booster\" object"))
        }
        let objectiveObject = try doc.object(learner["objective"], "learner.objective")
        let objective = try doc.string(objectiveObject["name"], "learner.objective.name")
        let param = try doc.object(learner["learner_model_param"], "learner.learner_model_param")
        let numFeature = try doc.integer(
            param["num_feature"], "learner.learner_model_param.num_feature", in: 1...ModelLimits.features)
        let numClass = try doc.integer(param["num_class"] ?? "0", "learner.learner_model_param.num_class")
        let numTarget = try doc.integer(param["num_target"] ?? "1", "learner.learner_model_param.num_target")

        // The objective decides the margins and the link from margins to probabilities.
        let margins: Int
        switch objective {
        case "multi:softprob", "multi:softmax":
            guard numClass == Direction.count else {
                throw fail(.wrongClassCount(numClass))
            }
            margins = numClass
        case "binary:logistic":
            guard (0...1).contains(numClass) else { throw fail(.wrongClassCount(numClass)) }
            margins = 1
        default:
            throw fail(.unsupportedObjective(objective))
        }
        guard numTarget == 1 else {
            throw doc.fail("learner.learner_model_param.num_target", "\(numTarget): multi-output models are not supported")
        }

        // base_score: a number, a number in a string ("5E-1"), or in 3.x a vector in a string
        // ("[1.9E-2,-2.0E-2,1.3E-4]", one per class). It is a probability for binary:logistic
        // (the margin is its logit) and already a margin for the softmax objectives.
        let baseScorePath = "learner.learner_model_param.base_score"
        let baseScores = try doc.baseScore(param["base_score"] ?? "0.5", baseScorePath)
        guard baseScores.count == 1 || baseScores.count == margins else {
            throw doc.fail(baseScorePath, "base_score has \(baseScores.count) values for \(margins) classes")
        }
        var baseMargin = baseScores.count == 1 ? Array(repeating: baseScores[0], count: margins) : baseScores
        if objective == "binary:logistic" {
            guard let p = baseMargin.first, p > 0, p < 1 else {
                throw doc.fail(baseScorePath, "\(baseScores) is not a probability in (0, 1) for binary:logistic")
            }
            let one: Float = 1
            baseMargin = [-logf(one / p - one)]
        }

        // The booster: gbtree holds the model directly; dart wraps a gbtree and adds a weight
        // per tree.
        let boosterName = try doc.string(gradientBooster["name"], "learner.gradient_booster.name")
        let model: [String: Any]
        let modelPath: String
        var weights: [Float]?
        switch boosterName {
        case "gbtree":
            modelPath = "learner.gradient_booster.model"
            model = try doc.object(gradientBooster["model"], modelPath)
        case "dart":
            let inner = try doc.object(gradientBooster["gbtree"], "learner.gradient_booster.gbtree")
            modelPath = "learner.gradient_booster.gbtree.model"
            model = try doc.object(inner["model"], modelPath)
            weights = try doc.finiteFloats(gradientBooster["weight_drop"], "learner.gradient_booster.weight_drop")
        default:
            throw fail(.unsupportedBooster(boosterName))
        }
        let trees = try doc.array(model["trees"], "\(modelPath).trees")
        guard trees.count <= ModelLimits.trees else {
            throw doc.fail("\(modelPath).trees", "\(trees.count) trees; a model may have at most \(ModelLimits.trees)")
        }
        let treeInfo = try doc.integers(model["tree_info"], "\(modelPath).tree_info")
        guard treeInfo.count == trees.count else {
            throw doc.fail("\(modelPath).tree_info", "tree_info has \(treeInfo.count) entries for \(trees.count) trees")
        }
        if let weights, weights.count != trees.count {
            throw doc.fail("learner.gradient_booster.weight_drop", "weight_drop has \(weights.count) entries for \(trees.count) trees")
        }
        let treeParam = model["gbtree_model_param"] as? [String: Any]
        if let declared = treeParam?["num_trees"] {
            let path = "\(modelPath).gbtree_model_param.num_trees"
            let count = try doc.integer(declared, path)
            guard count == trees.count else {
                throw doc.fail(path, "num_trees is \(count) but there are \(trees.count) trees")
            }
        }

        // Early stopping: XGBClassifier.predict_proba uses iterations 0...best_iteration.
        var used = trees.count
        if useBestIteration, let attributes = learner["attributes"] as? [String: Any],
           let best = attributes["best_iteration"] {
            let bestPath = "learner.attributes.best_iteration"
            let bestIteration = try doc.integer(best, bestPath)
            if let indptr = model["iteration_indptr"] {
                let boundsPath = "\(modelPath).iteration_indptr"
                let bounds = try doc.integers(indptr, boundsPath)
                guard bounds.first == 0, bounds.last == trees.count, zip(bounds, bounds.dropFirst()).allSatisfy({ $0 <= $1 })
                else { throw doc.fail(boundsPath, "\(bounds.prefix(8))… does not cover the \(trees.count) trees") }
                guard (0..<(bounds.count - 1)).contains(bestIteration) else {
                    throw doc.fail(bestPath, "best_iteration \(bestIteration) but the model has \(bounds.count - 1) iterations")
                }
                used = bounds[bestIteration + 1]
            } else {
                // Files before iteration_indptr (xgboost < 2): every iteration adds the same trees.
                var parallel = 1
                if let declared = treeParam?["num_parallel_tree"] {
                    parallel = try doc.integer(
                        declared, "\(modelPath).gbtree_model_param.num_parallel_tree", in: 1...max(1, trees.count))
                }
                guard (0..<max(1, trees.count)).contains(bestIteration),
                      let perIteration = checkedProduct(margins, parallel),
                      let wanted = checkedProduct(bestIteration + 1, perIteration), wanted <= trees.count
                else {
                    throw doc.fail(bestPath, "best_iteration \(bestIteration) is beyond the \(trees.count) trees")
                }
                used = wanted
            }
        }

        var nodes = [Node]()
        var roots = [Int32]()
        var groups = [Int32]()
        for index in 0..<used {
            let group = treeInfo[index]
            guard (0..<margins).contains(group) else {
                throw doc.fail("\(modelPath).tree_info[\(index)]", "tree_info[\(index)] is class \(group) of \(margins)")
            }
            guard let root = Int32(exactly: nodes.count) else {
                throw doc.fail("\(modelPath).trees", "more than \(Int32.max) nodes")
            }
            roots.append(root)
            groups.append(Int32(truncatingIfNeeded: group))  // 0..<margins
            try doc.flatten(trees[index], path: "\(modelPath).trees[\(index)]", tree: index, numFeature: numFeature,
                            into: &nodes)
        }

        self.numFeatures = numFeature
        self.numClasses = objective == "binary:logistic" ? 2 : numClass
        self.objective = objective
        self.booster = boosterName
        self.featureNames = (learner["feature_names"] as? [Any])?.compactMap { $0 as? String }.nilIfEmpty
        self.nodes = nodes
        self.roots = roots
        self.groups = groups
        self.baseMargin = baseMargin
        self.treeWeights = weights.map { Array($0.prefix(used)) }
    }

    /// The margins (raw scores before softmax/sigmoid): what `Booster.predict(...,
    /// output_margin=True)` returns, in float32 as xgboost computes them.
    /// Zeros for a row that is not ``numFeatures`` wide.
    public func margins(_ features: [Double]) -> [Float] {
        guard features.count == numFeatures else { return [Float](repeating: 0, count: baseMargin.count) }
        var out = baseMargin
        withUnsafeTemporaryAllocation(of: Float.self, capacity: features.count) { row in
            for j in features.indices { row[j] = Float(features[j]) }  // xgboost reads float32
            out.withUnsafeMutableBufferPointer { margin in
                nodes.withUnsafeBufferPointer { nodes in
                    if let weights = treeWeights {
                        for t in roots.indices {
                            margin[Int(groups[t])] += Self.leaf(roots[t], nodes, row) * weights[t]
                        }
                    } else {
                        for t in roots.indices {
                            margin[Int(groups[t])] += Self.leaf(roots[t], nodes, row)
                        }
                    }
                }
            }
        }
        return out
    }

    @inline(__always)
    private static func leaf(_ root: Int32, _ nodes: UnsafeBufferPointer<Node>, _ row: UnsafeMutableBufferPointer<Float>) -> Float {
        var i = Int(root)
        while true {
            let node = nodes[i]
            if node.feature < 0 { return node.value }
            let x = row[Int(node.feature)]
            i = Int(x.isNaN ? node.missing : (x < node.value ? node.left : node.right))
        }
    }

    /// P(down), P(flat), P(up) for one row of ``numFeatures`` raw features (NaN = missing).
    /// A row of any other width gets ``Direction/uniform`` (``predict(_:)`` refuses it).
    public func probabilities(_ features: [Double]) -> [Double] {
        guard features.count == numFeatures else { return Direction.uniform }
        var m = margins(features)
        if m.count == 1 {
            // xgboost's sigmoid, then predict_proba's 1 - p, both in float32.
            let one: Float = 1
            let p = one / (one + expf(-m[0]))
            return [Double(one - p), 0, Double(p)]
        }
        // xgboost's softmax (common::Softmax): float32 exponentials, summed in double.
        var highest = m[0]
        for v in m.dropFirst() { highest = fmaxf(v, highest) }
        var sum = 0.0
        for k in m.indices {
            m[k] = expf(m[k] - highest)
            sum += Double(m[k])
        }
        let total = Float(sum)
        return m.map { Double($0 / total) }
    }
}

/// Why an XGBoost model file could not be loaded.
public struct XGBoostModelError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Reason: Equatable, Sendable {
        /// The file could not be read (missing, not a regular file, too large).
        case unreadable(String)
        /// Not JSON at all (a `.ubj` file is UBJSON: save with a `.json` name instead).
        case notJSON
        /// JSON, but not an XGBoost model.
        case notXGBoost(String)
        /// An objective other than `multi:softprob`, `multi:softmax`, `binary:logistic`.
        case unsupportedObjective(String)
        /// A booster other than `gbtree` and `dart` (`gblinear`).
        case unsupportedBooster(String)
        /// A multi-class model without exactly 3 classes (down, flat, up), or a binary one with
        /// `num_class` other than 0 or 1.
        case wrongClassCount(Int)
        /// A split on a feature index outside `0..<num_feature`.
        case featureOutOfRange(tree: Int, node: Int, feature: Int, numFeatures: Int)
        /// A categorical split (`enable_categorical`), not supported.
        case categoricalSplit(tree: Int, node: Int)
        /// A missing field, a wrong type, arrays of different lengths, a bad child index, a
        /// number out of range... (``XGBoostModelError/path`` says where).
        case malformed(String)
    }

    /// The file (or source name) the model came from.
    public var source: String
    /// Where in the document, as a JSON path (`learner.gradient_booster.model.trees[3].left_children[7]`),
    /// when the problem is at one place.
    public var path: String?
    public var reason: Reason

    public init(source: String, path: String? = nil, reason: Reason) {
        self.source = source
        self.path = path
        self.reason = reason
    }

    public var description: String {
        let what: String
        switch reason {
        case .unreadable(let error): what = "cannot be read: \(error)"
        case .notJSON: what = "is not JSON (a .ubj file is UBJSON: save the model with a .json file name)"
        case .notXGBoost(let detail): what = "is not an XGBoost model: \(detail)"
        case .unsupportedObjective(let name):
            what = "has objective \"\(name)\"; supported: multi:softprob, multi:softmax, binary:logistic"
        case .unsupportedBooster(let name): what = "has booster \"\(name)\"; supported: gbtree, dart"
        case .wrongClassCount(let n):
            what = "has num_class \(n); a multi-class model needs exactly 3 classes (down, flat, up)"
        case let .featureOutOfRange(tree, node, feature, numFeatures):
            what = "tree \(tree) node \(node) splits on feature \(feature) but the model has \(numFeatures) features"
        case let .categoricalSplit(tree, node):
            what = "tree \(tree) node \(node) is a categorical split; categorical features are not supported"
        case .malformed(let detail):
            return path.map { "XGBoost model \(source): \($0): \(detail)" } ?? "XGBoost model \(source) is malformed: \(detail)"
        }
        return path.map { "XGBoost model \(source): \($0): \(what)" } ?? "XGBoost model \(source) \(what)"
    }
}

/// Typed reads from JSONSerialization's output, with errors naming the field's JSON path.
private struct XGBoostJSON {
    var source: String

    func fail(_ path: String, _ detail: String) -> XGBoostModelError {
        XGBoostModelError(source: source, path: path, reason: .malformed(detail))
    }

    func object(_ value: Any?, _ path: String) throws -> [String: Any] {
        guard let object = value as? [String: Any] else { throw fail(path, "missing or not an object") }
        return object
    }

    func array(_ value: Any?, _ path: String) throws -> [Any] {
        guard let array = value as? [Any] else { throw fail(path, "missing or not an array") }
        return array
    }

    func string(_ value: Any?, _ path: String) throws -> String {
        guard let string = value as? String else { throw fail(path, "missing or not a string") }
        return string
    }

    /// xgboost writes integers as JSON numbers in arrays and as strings in parameter objects.
    func integer(_ value: Any?, _ path: String) throws -> Int {
        if let string = value as? String, let n = Int(string) { return n }
        if let number = value as? NSNumber {
            let d = number.doubleValue
            if d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        }
        throw fail(path, "missing or not an integer")
    }

    func integer(_ value: Any?, _ path: String, in range: ClosedRange<Int>) throws -> Int {
        let n = try integer(value, path)
        guard range.contains(n) else { throw fail(path, "\(n) out of range (\(range.lowerBound)...\(range.upperBound))") }
        return n
    }

    func integers(_ value: Any?, _ path: String) throws -> [Int] {
        try array(value, path).enumerated().map { try integer($1, "\(path)[\($0)]") }
    }

    /// float32 values: xgboost writes the shortest decimal that round-trips a float32.
    func floats(_ value: Any?, _ path: String) throws -> [Float] {
        try array(value, path).enumerated().map { index, element in
            guard let number = element as? NSNumber else { throw fail("\(path)[\(index)]", "not a number") }
            return number.floatValue
        }
    }

    /// As ``floats(_:_:)``, each finite as a float32 (`1e39` is not).
    func finiteFloats(_ value: Any?, _ path: String) throws -> [Float] {
        let values = try floats(value, path)
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw fail("\(path)[\(index)]", "not a finite float32")
        }
        return values
    }

    /// `default_left`: 0/1 numbers (or booleans, which JSONSerialization reads as 0/1 too).
    func flags(_ value: Any?, _ path: String) throws -> [Bool] {
        try array(value, path).enumerated().map { index, element in
            let n = try integer(element, "\(path)[\(index)]")
            guard n == 0 || n == 1 else { throw fail("\(path)[\(index)]", "\(n), not 0 or 1") }
            return n == 1
        }
    }

    func baseScore(_ value: Any, _ path: String) throws -> [Float] {
        if let number = value as? NSNumber {
            guard number.floatValue.isFinite else { throw fail(path, "base_score \(number) is not a finite float32") }
            return [number.floatValue]
        }
        guard var text = value as? String else { throw fail(path, "base_score is not a number") }
        text = text.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        let values = text.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.count == text.split(separator: ",").count, values.allSatisfy(\.isFinite) else {
            throw fail(path, "base_score \"\(value)\" is not a number or a list of numbers")
        }
        return values
    }

    /// Checks one tree and appends its reachable nodes depth first, left child right after its
    /// parent; a node reached twice (a cycle or shared child), an index out of range, a tree
    /// deeper than ``ModelLimits/treeDepth`` or a non-finite number is rejected.
    func flatten(_ value: Any, path: String, tree: Int, numFeature: Int, into nodes: inout [XGBoostModel.Node]) throws {
        let object = try self.object(value, path)
        let left = try integers(object["left_children"], "\(path).left_children")
        let right = try integers(object["right_children"], "\(path).right_children")
        let feature = try integers(object["split_indices"], "\(path).split_indices")
        let condition = try floats(object["split_conditions"], "\(path).split_conditions")
        let defaultLeft = try flags(object["default_left"], "\(path).default_left")
        let splitType = try object["split_type"].map { try integers($0, "\(path).split_type") }
        let count = left.count
        guard count > 0 else { throw fail("\(path).left_children", "the tree has no nodes") }
        guard count <= ModelLimits.treeNodes else {
            throw fail("\(path).left_children", "\(count) nodes; a tree may have at most \(ModelLimits.treeNodes)")
        }
        for (field, n) in [("right_children", right.count), ("split_indices", feature.count),
                           ("split_conditions", condition.count), ("default_left", defaultLeft.count),
                           ("split_type", splitType?.count ?? count)] where n != count {
            throw fail("\(path).\(field)", "\(field) has \(n) entries, left_children \(count)")
        }
        if let param = object["tree_param"] as? [String: Any] {
            if let declared = param["num_nodes"] {
                let n = try integer(declared, "\(path).tree_param.num_nodes")
                guard n == count else {
                    throw fail("\(path).tree_param.num_nodes", "num_nodes is \(n) but the arrays have \(count) entries")
                }
            }
            if let leafVector = param["size_leaf_vector"] {
                let n = try integer(leafVector, "\(path).tree_param.size_leaf_vector")
                guard n <= 1 else {
                    throw fail("\(path).tree_param.size_leaf_vector",
                               "vector leaves (size_leaf_vector \(n)): multi-output trees are not supported")
                }
            }
        }
        guard nodes.count <= Int(Int32.max) - count else { throw fail(path, "more than \(Int32.max) nodes in all") }

        var position = [Int](repeating: -1, count: count)  // node id -> flat index
        var stack = [(id: 0, depth: 0)]
        while let (id, depth) = stack.popLast() {
            guard position[id] == -1 else { throw fail(path, "node \(id) is reached twice (not a tree)") }
            guard depth <= ModelLimits.treeDepth else {
                throw fail(path, "deeper than \(ModelLimits.treeDepth) levels at node \(id)")
            }
            position[id] = nodes.count
            if left[id] == -1 || right[id] == -1 {
                guard left[id] == right[id] else {
                    throw fail("\(path).left_children[\(id)]", "node \(id) has one child only (\(left[id]), \(right[id]))")
                }
                guard condition[id].isFinite else {
                    throw fail("\(path).split_conditions[\(id)]", "leaf value \(condition[id]) is not finite")
                }
                nodes.append(.init(feature: -1, value: condition[id], left: -1, right: -1, missing: -1))
                continue
            }
            for (field, child) in [("left_children", left[id]), ("right_children", right[id])] where !(0..<count).contains(child) {
                throw fail("\(path).\(field)[\(id)]", "index \(child) out of range (0..<\(count))")
            }
            guard left[id] != right[id] else {
                throw fail("\(path).right_children[\(id)]", "node \(id) has the same child \(left[id]) twice")
            }
            if let splitType, splitType[id] != 0 {
                throw XGBoostModelError(
                    source: source, path: "\(path).split_type[\(id)]", reason: .categoricalSplit(tree: tree, node: id))
            }
            guard (0..<numFeature).contains(feature[id]) else {
                throw XGBoostModelError(source: source, path: "\(path).split_indices[\(id)]", reason: .featureOutOfRange(
                    tree: tree, node: id, feature: feature[id], numFeatures: numFeature))
            }
            guard condition[id].isFinite else {
                throw fail("\(path).split_conditions[\(id)]", "threshold \(condition[id]) is not finite")
            }
            // feature[id] < numFeature <= ModelLimits.features: it fits an Int32.
            nodes.append(.init(feature: Int32(truncatingIfNeeded: feature[id]), value: condition[id], left: -1, right: -1, missing: -1))
            stack.append((right[id], depth + 1))
            stack.append((left[id], depth + 1))  // popped next: the left child follows its parent
        }
        // Child links, now that every reachable node has its flat index (all below Int32.max,
        // checked above).
        for id in 0..<count where position[id] >= 0 && left[id] != -1 {
            let flat = position[id]
            nodes[flat].left = Int32(truncatingIfNeeded: position[left[id]])
            nodes[flat].right = Int32(truncatingIfNeeded: position[right[id]])
            nodes[flat].missing = defaultLeft[id] ? nodes[flat].left : nodes[flat].right
        }
    }
}

private extension Array {
    var nilIfEmpty: Self? { isEmpty ? nil : self }
}
