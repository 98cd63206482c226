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
    func matches(file: String) throws {
        let comparisons = try compareWithTALib(TALibReference.fixture(file))
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
}
