import Foundation

/// A binary decision tree stored as flat arrays, as scikit-learn's `tree_`: node 0 is the
/// root; an inner node sends a row left when `row[feature] <= threshold` (a NaN goes right),
/// a leaf has `feature == -1`. Each node carries `width` values: class frequencies for a
/// forest's classification tree, one raw score for a boosting tree.
public struct DecisionTree: Sendable, Codable, Equatable {
    public var feature: [Int]
    public var threshold: [Double]
    public var left: [Int]
    public var right: [Int]
    /// `width` values per node, node-major.
    public var value: [Double]
    public var width: Int

    public init(feature: [Int], threshold: [Double], left: [Int], right: [Int], value: [Double], width: Int) {
        self.feature = feature
        self.threshold = threshold
        self.left = left
        self.right = right
        self.value = value
        self.width = width
    }

    public var nodeCount: Int { feature.count }

    /// The leaf `row` falls in. A split on a feature beyond the row ends the walk there.
    @inline(__always)
    public func leaf(_ row: [Double]) -> Int {
        var node = 0
        while true {
            let f = feature[node]
            if f < 0 || f >= row.count { return node }
            node = row[f] <= threshold[node] ? left[node] : right[node]
        }
    }

    /// The largest feature index used, or -1 for a single leaf.
    var maxFeature: Int { feature.max() ?? -1 }

    /// Structural consistency: equal array lengths, `width` values per node, children inside
    /// the tree and after their parent (so no cycle and no endless walk), depth at most
    /// ``ModelLimits/treeDepth``, features within `featureCount`, finite numbers (and, when
    /// `nonNegative`, values of at least 0: class frequencies). `path` is the tree's JSON path.
    func validate(featureCount: Int, width expectedWidth: Int, nonNegative: Bool, at path: String) throws(ModelProblem) {
        let count = feature.count
        guard count > 0 else { throw ModelProblem("\(path).feature", "the tree has no nodes") }
        guard count <= ModelLimits.treeNodes else {
            throw ModelProblem("\(path).feature", "\(count) nodes; a tree may have at most \(ModelLimits.treeNodes)")
        }
        guard width == expectedWidth else {
            throw ModelProblem("\(path).width", "\(width), expected \(expectedWidth)")
        }
        for (field, n) in [("threshold", threshold.count), ("left", left.count), ("right", right.count)] where n != count {
            throw ModelProblem("\(path).\(field)", "\(n) entries, feature has \(count)")
        }
        guard value.count == count * width else {  // count <= 2^22, width <= 3
            throw ModelProblem("\(path).value", "\(value.count) entries, expected \(count) nodes × \(width)")
        }
        for (i, v) in value.enumerated() where !v.isFinite || (nonNegative && v < 0) {
            throw ModelProblem("\(path).value[\(i)]", "\(v) is not a finite\(nonNegative ? " non-negative" : "") number")
        }
        var depth = [Int](repeating: 0, count: count)
        for i in 0..<count where feature[i] >= 0 {
            guard feature[i] < featureCount else {
                throw ModelProblem("\(path).feature[\(i)]", "feature \(feature[i]) out of range (0..<\(featureCount))")
            }
            for (field, child) in [("left", left[i]), ("right", right[i])] where !(i + 1..<count).contains(child) {
                throw ModelProblem("\(path).\(field)[\(i)]", "index \(child) out of range (\(i + 1)..<\(count))")
            }
            guard !threshold[i].isNaN else { throw ModelProblem("\(path).threshold[\(i)]", "NaN threshold") }
            guard depth[i] < ModelLimits.treeDepth else {
                throw ModelProblem(path, "deeper than \(ModelLimits.treeDepth) levels at node \(i)")
            }
            depth[left[i]] = max(depth[left[i]], depth[i] + 1)
            depth[right[i]] = max(depth[right[i]], depth[i] + 1)
        }
    }
}

/// Training rows in the layout the tree grower wants: feature-major values and, per feature,
/// the row indices sorted by value (computed once, shared by every tree of an ensemble).
final class TreeData {
    let n: Int
    let d: Int
    /// `columns[f * n + i]` is feature f of row i.
    let columns: UnsafeMutablePointer<Double>
    /// `presorted[f * n ..< f * n + n]` lists the rows by ascending feature f (stable).
    let presorted: UnsafeMutablePointer<Int32>

    init(rows: [[Double]]) {
        n = rows.count
        d = rows.first?.count ?? 0
        columns = .allocate(capacity: max(n * d, 1))
        presorted = .allocate(capacity: max(n * d, 1))
        for (i, row) in rows.enumerated() {
            for f in 0..<d { columns[f * n + i] = row[f] }
        }
        var indices = [Int32](repeating: 0, count: n)
        for f in 0..<d {
            let column = columns + f * n
            for i in 0..<n { indices[i] = Int32(i) }
            indices.sort { a, b in
                let x = column[Int(a)], y = column[Int(b)]
                return x < y || (x == y && a < b)
            }
            for i in 0..<n { presorted[f * n + i] = indices[i] }
        }
    }

    deinit {
        columns.deallocate()
        presorted.deallocate()
    }
}

/// What a tree is grown to predict.
enum TreeTarget {
    /// Classification by Gini impurity; leaves hold weighted class frequencies.
    case classes(labels: [Int], count: Int)
    /// Regression of `residual` (the negative gradient) by squared error, as scikit-learn's
    /// gradient boosting; each node's value is the Newton step `scale · Σ w·r / Σ w·h`.
    case newton(residual: [Double], hessian: [Double], scale: Double)
}

struct TreeParameters {
    var maxDepth: Int
    var minSamplesLeaf: Int
    var minSamplesSplit: Int
    /// Features drawn (without replacement) at each split; constant features do not count,
    /// as in scikit-learn. `>= d` means every feature, in order.
    var maxFeatures: Int
}

/// Grows one CART tree on the rows with positive `weight` (bootstrap counts for a forest,
/// 0/1 for a subsampled boosting round), depth-first, each node split at its best split, as scikit-learn's
/// `BestSplitter`: every distinct threshold of each candidate feature is scored (midpoints
/// between consecutive distinct values), and `min_samples_leaf` counts distinct rows.
func growTree(
    data: TreeData, target: TreeTarget, weight: [Double], parameters: TreeParameters,
    generator: inout SeededGenerator
) -> DecisionTree {
    let grower = TreeGrower(data: data, target: target, weight: weight, parameters: parameters)
    _ = grower.grow(start: 0, end: grower.m, depth: 0, generator: &generator)
    return grower.tree
}

private final class TreeGrower {
    let n: Int, d: Int, m: Int
    let columns: UnsafeMutablePointer<Double>
    let classification: Bool
    let classCount: Int
    let scale: Double
    let parameters: TreeParameters
    /// Per feature, the in-bag rows sorted by that feature; a node is a range, the same in
    /// every feature's list.
    let order: UnsafeMutablePointer<Int32>
    let scratch: UnsafeMutablePointer<Int32>
    let goesLeft: UnsafeMutablePointer<Bool>
    let weight: UnsafeMutablePointer<Double>
    let label: UnsafeMutablePointer<Int>
    let residual: UnsafeMutablePointer<Double>
    let hessian: UnsafeMutablePointer<Double>
    let totals: UnsafeMutablePointer<Double>
    let leftTotals: UnsafeMutablePointer<Double>
    let features: UnsafeMutablePointer<Int>
    var tree = DecisionTree(feature: [], threshold: [], left: [], right: [], value: [], width: 1)

    init(data: TreeData, target: TreeTarget, weight w: [Double], parameters: TreeParameters) {
        n = data.n
        d = data.d
        columns = data.columns
        self.parameters = parameters
        weight = .allocate(capacity: max(n, 1))
        label = .allocate(capacity: max(n, 1))
        residual = .allocate(capacity: max(n, 1))
        hessian = .allocate(capacity: max(n, 1))
        var inBag = 0
        for i in 0..<n {
            weight[i] = w[i]
            if w[i] > 0 { inBag += 1 }
        }
        m = inBag
        switch target {
        case let .classes(labels, count):
            classification = true
            classCount = count
            scale = 1
            for i in 0..<n { label[i] = labels[i] }
        case let .newton(r, h, s):
            classification = false
            classCount = 1
            scale = s
            for i in 0..<n { residual[i] = r[i]; hessian[i] = h[i] }
        }
        tree.width = classCount
        totals = .allocate(capacity: classCount)
        leftTotals = .allocate(capacity: classCount)
        features = .allocate(capacity: max(d, 1))
        for f in 0..<d { features[f] = f }
        order = .allocate(capacity: max(d * m, 1))
        scratch = .allocate(capacity: max(m, 1))
        goesLeft = .allocate(capacity: max(n, 1))
        for f in 0..<d {
            let sorted = data.presorted + f * n
            let out = order + f * m
            var k = 0
            for t in 0..<n {
                let i = sorted[t]
                if weight[Int(i)] > 0 { out[k] = i; k += 1 }
            }
        }
    }

    deinit {
        weight.deallocate(); label.deallocate(); residual.deallocate(); hessian.deallocate()
        totals.deallocate(); leftTotals.deallocate(); features.deallocate()
        order.deallocate(); scratch.deallocate(); goesLeft.deallocate()
    }

    /// Grows the subtree of rows `order[f*m + start ..< f*m + end]`; returns its node index.
    func grow(start: Int, end: Int, depth: Int, generator: inout SeededGenerator) -> Int {
        let count = end - start
        let rows = order  // feature 0's list: any feature's holds the same rows
        var totalWeight = 0.0
        var impurity = 0.0
        let node = tree.feature.count
        tree.feature.append(-1)
        tree.threshold.append(0)
        tree.left.append(-1)
        tree.right.append(-1)
        if classification {
            for k in 0..<classCount { totals[k] = 0 }
            for p in start..<end {
                let i = Int(rows[p])
                totals[label[i]] += weight[i]
                totalWeight += weight[i]
            }
            var squares = 0.0
            for k in 0..<classCount {
                tree.value.append(totals[k] / totalWeight)
                squares += totals[k] * totals[k]
            }
            impurity = 1 - squares / (totalWeight * totalWeight)
        } else {
            var sum = 0.0, squares = 0.0, curvature = 0.0
            for p in start..<end {
                let i = Int(rows[p])
                let w = weight[i], r = residual[i]
                totalWeight += w
                sum += w * r
                squares += w * r * r
                curvature += w * hessian[i]
            }
            tree.value.append(curvature > 1e-150 ? scale * sum / curvature : 0)
            totals[0] = sum
            impurity = squares / totalWeight - (sum / totalWeight) * (sum / totalWeight)
        }
        let minLeaf = parameters.minSamplesLeaf
        if depth >= parameters.maxDepth || count < parameters.minSamplesSplit || count < 2 * minLeaf
            || impurity <= Double.ulpOfOne {
            return node
        }

        // Best split over the candidate features.
        var bestProxy = -Double.infinity
        var bestFeature = -1
        var bestPosition = -1
        var bestThreshold = 0.0
        var visited = 0
        let everyFeature = parameters.maxFeatures >= d
        var drawn = 0
        while drawn < d && (everyFeature || visited < parameters.maxFeatures) {
            if !everyFeature {
                let j = drawn + generator.below(d - drawn)
                let swapped = features[drawn]
                features[drawn] = features[j]
                features[j] = swapped
            }
            let f = features[drawn]
            drawn += 1
            let list = order + f * m
            let column = columns + f * n
            if column[Int(list[end - 1])] <= column[Int(list[start])] + 1e-7 { continue }  // constant here
            visited += 1
            if classification {
                for k in 0..<classCount { leftTotals[k] = 0 }
                var leftWeight = 0.0
                for p in start..<(end - 1) {
                    let i = Int(list[p])
                    leftTotals[label[i]] += weight[i]
                    leftWeight += weight[i]
                    if p - start + 1 < minLeaf { continue }
                    if end - p - 1 < minLeaf { break }
                    let v = column[i], next = column[Int(list[p + 1])]
                    if next <= v + 1e-7 { continue }
                    let rightWeight = totalWeight - leftWeight
                    var leftSquares = 0.0, rightSquares = 0.0
                    for k in 0..<classCount {
                        let l = leftTotals[k], r = totals[k] - l
                        leftSquares += l * l
                        rightSquares += r * r
                    }
                    let proxy = leftSquares / leftWeight + rightSquares / rightWeight
                    if proxy > bestProxy {
                        bestProxy = proxy; bestFeature = f; bestPosition = p
                        bestThreshold = midpoint(v, next)
                    }
                }
            } else {
                let sum = totals[0]
                var leftSum = 0.0, leftWeight = 0.0
                for p in start..<(end - 1) {
                    let i = Int(list[p])
                    leftSum += weight[i] * residual[i]
                    leftWeight += weight[i]
                    if p - start + 1 < minLeaf { continue }
                    if end - p - 1 < minLeaf { break }
                    let v = column[i], next = column[Int(list[p + 1])]
                    if next <= v + 1e-7 { continue }
                    let rightSum = sum - leftSum
                    let proxy = leftSum * leftSum / leftWeight + rightSum * rightSum / (totalWeight - leftWeight)
                    if proxy > bestProxy {
                        bestProxy = proxy; bestFeature = f; bestPosition = p
                        bestThreshold = midpoint(v, next)
                    }
                }
            }
        }
        guard bestFeature >= 0 else { return node }

        // Partition every feature's list stably: the split feature's list is already in order.
        let split = bestPosition + 1
        let chosen = order + bestFeature * m
        for p in start..<split { goesLeft[Int(chosen[p])] = true }
        for p in split..<end { goesLeft[Int(chosen[p])] = false }
        for f in 0..<d where f != bestFeature {
            let list = order + f * m
            var l = start, r = 0
            for p in start..<end {
                let i = list[p]
                if goesLeft[Int(i)] { list[l] = i; l += 1 } else { scratch[r] = i; r += 1 }
            }
            (list + l).update(from: scratch, count: r)
        }
        tree.feature[node] = bestFeature
        tree.threshold[node] = bestThreshold
        let leftChild = grow(start: start, end: split, depth: depth + 1, generator: &generator)
        let rightChild = grow(start: split, end: end, depth: depth + 1, generator: &generator)
        tree.left[node] = leftChild
        tree.right[node] = rightChild
        return node
    }

    @inline(__always)
    private func midpoint(_ a: Double, _ b: Double) -> Double {
        let mid = a / 2 + b / 2
        return mid == b || !mid.isFinite ? a : mid
    }
}
