import Foundation
import Indicators
import Testing

/// The trend group against TA-Lib, stricter than the shared harness: on a CPU with FMA (where
/// the `ta-lib` wheel runs its FMA-built clones, the build the trend group reproduces) every
/// trend column is bit-identical to TA-Lib, on the shared fixtures and on
/// `trend-edge-cases.csv`. That file (synthetic 1-minute bars, generated with a fixed seed)
/// holds what the real series rarely reach: 45 flat bars, a 800x spike (BBANDS' cancellation
/// rebuild), prices crossing zero and sitting at 0 (ROC/PPO/TRIX zero guards), wild values
/// followed by a flat run (KAMA's flat-run reset of a drifted move sum), and 760 quiet bars (WMA's
/// and BBANDS' periodic rebuilds).
@Suite("Trend indicators equal TA-Lib bit for bit")
struct TrendEquivalenceTests {
    static let files = [
        "orcl-daily.csv", "nvda-daily.csv", "futures-1min.csv", "edge-cases.csv", "trend-edge-cases.csv",
    ]

    /// Whether TA-Lib's FMA clones run here: any arm64 CPU, an x86-64 one whose flags list fma.
    static let cpuHasFMA: Bool = {
        #if arch(arm64)
        return true
        #else
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        return info.split(separator: "\n").contains { $0.hasPrefix("flags") && $0.split(separator: " ").contains("fma") }
        #endif
    }()

    @Test("every trend column matches TA-Lib", arguments: files)
    func matches(file: String) async throws {
        let comparisons = try await compareWithTALib(TALibReference.fixture(file))
            .filter { TrendIndicators.columns.contains($0.column) }
        #expect(comparisons.count == TrendIndicators.columns.count)
        for comparison in comparisons {
            #expect(comparison.readinessMismatch == nil, "\(file): \(comparison)")
            #expect(comparison.comparedValues > 0, "\(file): \(comparison.column) never ready")
            if Self.cpuHasFMA {
                #expect(comparison.worstRelativeError == 0, "\(file): not bit-identical: \(comparison)")
            } else {
                #expect(comparison.passes, "\(file): \(comparison)")
            }
        }
    }

    /// The group feeds the window-based indicators one shared close history; each indicator's
    /// own `update(_:)` (its own window) must give the same bits.
    @Test("standalone indicators equal the group's columns")
    func standaloneMatchesGroup() throws {
        let bars = try BarsCSV.read(path: TALibReference.fixture("trend-edge-cases.csv"), timeZone: .gmt).map(\.bar)
        var group = TrendIndicators()
        var out = [Double](repeating: 0, count: TrendIndicators.columns.count)
        var sma5 = SimpleMovingAverage(period: 5), sma200 = SimpleMovingAverage(period: 200)
        var ema20 = FusedExponentialMovingAverage(period: 20), dema = DoubleExponentialMovingAverage(period: 20)
        var wma = WeightedMovingAverage(period: 20), trima = TriangularMovingAverage(period: 20)
        var kama = KAMA(period: 30), bbands = BollingerBands(period: 20, deviations: 2)
        var midpoint = MidPoint(period: 14), momentum = Momentum(period: 10), oscillator = PriceOscillator()
        func same(_ a: Double, _ b: Double) -> Bool { a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) }
        for (row, bar) in bars.enumerated() {
            out.withUnsafeMutableBufferPointer { group.update(bar, into: $0) }
            let x = bar.close
            let bands = bbands.update(x)
            let change = momentum.update(x)
            let po = oscillator.update(x)
            let mine: [(Int, Double)] = [
                (0, sma5.update(x)), (4, sma200.update(x)), (7, ema20.update(x)), (11, dema.update(x)),
                (10, wma.update(x)), (13, trima.update(x)), (14, kama.update(x)),
                (16, bands.upper), (17, bands.middle), (18, bands.lower), (19, midpoint.update(x)),
                (25, change.momentum), (26, change.rateOfChange), (27, change.rateOfChangePercentage),
                (28, change.rateOfChangeRatio), (29, po.percentage), (30, po.absolute),
            ]
            for (column, value) in mine where !same(value, out[column]) {
                Issue.record("\(TrendIndicators.columns[column]) row \(row): standalone \(value), group \(out[column])")
                return
            }
        }
    }
}
