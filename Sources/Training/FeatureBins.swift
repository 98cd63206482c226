/// The training distribution of each feature, for the live drift index: decile edges of the
/// training rows and the share of rows in each of the ten bins (ties make them differ from
/// 0.1). Written to `report.json` as `feature_bins`, in the feature vector's order.
public struct FeatureBins: Codable, Sendable, Equatable {
    /// Nine ascending edges: bin i holds values ≤ edges[i] (and above edges[i-1]).
    public var edges: [Double]
    /// Ten shares summing to 1.
    public var shares: [Double]

    public init(edges: [Double], shares: [Double]) {
        self.edges = edges
        self.shares = shares
    }

    /// The bins of every column of `rows` (each row the same length); empty for no rows.
    /// Values that are not finite are left out.
    public static func of(rows: [[Double]]) -> [FeatureBins] {
        guard let width = rows.first?.count, width > 0 else { return [] }
        return (0..<width).map { column in
            let values = rows.compactMap { column < $0.count && $0[column].isFinite ? $0[column] : nil }.sorted()
            guard !values.isEmpty else {
                return FeatureBins(edges: Array(repeating: 0, count: 9), shares: Array(repeating: 0.1, count: 10))
            }
            let edges = (1...9).map { values[min(values.count - 1, values.count * $0 / 10)] }
            var counts = [Int](repeating: 0, count: 10)
            for value in values { counts[bin(of: value, edges: edges)] += 1 }
            return FeatureBins(edges: edges, shares: counts.map { Double($0) / Double(values.count) })
        }
    }

    /// The bin of `value`: the first edge it does not exceed, or the last bin.
    public static func bin(of value: Double, edges: [Double]) -> Int {
        var index = 0
        while index < edges.count && value > edges[index] { index += 1 }
        return index
    }
}
