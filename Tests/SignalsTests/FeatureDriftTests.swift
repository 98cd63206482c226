import Foundation
import Testing
import Training

@testable import Signals

@Suite("Feature drift (PSI of each feature against the training deciles)")
struct FeatureDriftTests {
    /// Rows of two features: the first uniform on 0..<1000, the second constant.
    let training = (0..<1_000).map { [Double($0), 5.0] }

    @Test("training deciles: nine ascending edges, ten shares; a constant column puts everything in one bin")
    func bins() throws {
        let bins = FeatureBins.of(rows: training)
        #expect(bins.count == 2)
        #expect(bins[0].edges == [100, 200, 300, 400, 500, 600, 700, 800, 900])
        #expect(bins[0].shares.allSatisfy { abs($0 - 0.1) < 0.002 }, "\(bins[0].shares)")
        #expect(bins[1].shares[0] == 1)
        #expect(FeatureBins.of(rows: []).isEmpty)
        #expect(FeatureBins.of(rows: [[.nan], [1], [2]])[0].shares.reduce(0, +) == 1)
    }

    @Test("written by training into report.json and read by the signal generator; the same distribution gives a small index, a shifted one a large index naming the feature")
    func throughReport() throws {
        let directory = NSTemporaryDirectory() + "tickwire-feature-drift-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        struct Report: Encodable { let feature_bins: [FeatureBins] }
        try JSONEncoder().encode(Report(feature_bins: FeatureBins.of(rows: training)))
            .write(to: URL(fileURLWithPath: directory + "/report.json"))
        let bins = try #require(FeatureDrift.trainingBins(directory: directory))
        var same = try #require(FeatureDrift(bins: bins, featureCount: 2, window: 500, minimum: 100))
        var random = SystemRandomNumberGenerator()
        for _ in 0..<99 { same.record([Double.random(in: 0..<1000, using: &random), 5]) }
        #expect(same.largest == nil)
        for _ in 0..<401 { same.record([Double.random(in: 0..<1000, using: &random), 5]) }
        #expect(try #require(same.largest).index < 0.1)

        var shifted = try #require(FeatureDrift(bins: bins, featureCount: 2, window: 200, minimum: 100))
        for _ in 0..<200 { shifted.record([Double.random(in: 900..<2000, using: &random), 5]) }
        let largest = try #require(shifted.largest)
        #expect(largest.feature == 0)
        #expect(largest.index > 1, "\(largest)")
    }

    @Test("unusable bins are refused; vectors of another length or not finite are left out")
    func hostile() throws {
        let good = (edges: (1...9).map { Double($0) }, shares: [Double](repeating: 0.1, count: 10))
        #expect(FeatureDrift(bins: [good], featureCount: 2) == nil)
        #expect(FeatureDrift(bins: [(edges: [1, 2], shares: good.shares)], featureCount: 1) == nil)
        #expect(FeatureDrift(bins: [(edges: good.edges.reversed(), shares: good.shares)], featureCount: 1) == nil)
        #expect(FeatureDrift(bins: [(edges: good.edges, shares: [Double](repeating: .nan, count: 10))], featureCount: 1) == nil)
        #expect(FeatureDrift(bins: [(edges: good.edges, shares: [Double](repeating: 0, count: 10))], featureCount: 1) == nil)
        var drift = try #require(FeatureDrift(bins: [good], featureCount: 1, window: 10, minimum: 1))
        drift.record([1, 2])
        drift.record([Double.infinity])
        #expect(drift.largest == nil)
        drift.record([5])
        #expect(drift.largest != nil)
    }
}
