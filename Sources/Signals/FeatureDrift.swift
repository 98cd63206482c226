import Foundation

/// Drift of the live features against the rows the models were trained on: for each feature,
/// the population stability index of its last ``window`` values over the training deciles
/// (`report.json`'s `feature_bins`, written by `tickwire train`). The largest index and its
/// feature are what is reported; 10 bins and 500 values give about 0.02 with no drift.
public struct FeatureDrift: Sendable {
    /// Per feature: nine ascending edges and ten training shares (each at least ``floor``).
    let edges: [[Double]]
    let reference: [[Double]]
    public let window: Int
    public let minimum: Int
    /// The bin of every feature of the last `window` vectors, row after row.
    private var recent: [UInt8]
    private var counts: [[Int]]
    private var next = 0
    private var filled = 0

    static let floor = 1e-4

    /// Nil unless `bins` has one entry per feature (`featureCount`), each with nine finite
    /// ascending edges and ten non-negative finite shares with a positive sum.
    public init?(bins: [(edges: [Double], shares: [Double])], featureCount: Int, window: Int = 500, minimum: Int = 100) {
        guard featureCount > 0, bins.count == featureCount else { return nil }
        var edges: [[Double]] = [], reference: [[Double]] = []
        for bin in bins {
            guard bin.edges.count == 9, bin.shares.count == 10, bin.edges.allSatisfy(\.isFinite),
                zip(bin.edges, bin.edges.dropFirst()).allSatisfy({ $0 <= $1 }),
                bin.shares.allSatisfy({ $0.isFinite && $0 >= 0 })
            else { return nil }
            let total = bin.shares.reduce(0, +)
            guard total > 0, total.isFinite else { return nil }
            edges.append(bin.edges)
            reference.append(bin.shares.map { max($0 / total, Self.floor) })
        }
        self.edges = edges
        self.reference = reference
        self.window = max(1, window)
        self.minimum = max(1, min(minimum, self.window))
        recent = [UInt8](repeating: 0, count: self.window * featureCount)
        counts = Array(repeating: [Int](repeating: 0, count: 10), count: featureCount)
    }

    /// Adds one feature vector; one of another length, or with a value that is not finite, is
    /// left out.
    public mutating func record(_ values: [Double]) {
        let width = edges.count
        guard values.count == width, values.allSatisfy(\.isFinite) else { return }
        let base = next * width
        for feature in 0..<width {
            if filled == window { counts[feature][Int(recent[base + feature])] -= 1 }
            var bin = 0
            while bin < 9 && values[feature] > edges[feature][bin] { bin += 1 }
            recent[base + feature] = UInt8(bin)
            counts[feature][bin] += 1
        }
        if filled < window { filled += 1 }
        next = (next + 1) % window
    }

    /// The largest per-feature index and that feature's position, or nil before ``minimum``
    /// vectors.
    public var largest: (index: Double, feature: Int)? {
        guard filled >= minimum else { return nil }
        var best: (index: Double, feature: Int) = (0, 0)
        for feature in counts.indices {
            var psi = 0.0
            for bin in 0..<10 {
                let actual = max(Double(counts[feature][bin]) / Double(filled), Self.floor)
                let expected = reference[feature][bin]
                psi += (actual - expected) * log(actual / expected)
            }
            if psi > best.index { best = (psi, feature) }
        }
        return best
    }

    /// The feature bins in `directory/report.json`, or nil when there are none or they are not
    /// usable (the index is then off).
    public static func trainingBins(directory: String) -> [(edges: [Double], shares: [Double])]? {
        let path = (directory as NSString).appendingPathComponent("report.json")
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attributes[.size] as? Int, size <= 16 << 20,
            let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let bins = object["feature_bins"] as? [[String: Any]], bins.count <= 10_000
        else { return nil }
        var result: [(edges: [Double], shares: [Double])] = []
        for bin in bins {
            guard let edges = (bin["edges"] as? [NSNumber])?.map(\.doubleValue),
                let shares = (bin["shares"] as? [NSNumber])?.map(\.doubleValue)
            else { return nil }
            result.append((edges, shares))
        }
        return result
    }
}
