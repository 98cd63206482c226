import Foundation
import Indicators
import Testing

/// Every TA-Lib column equals TA-Lib: the same first bar, and a relative difference of at most
/// 1e-9 on every bar where TA-Lib has a value. Real daily and minute bars, plus a file of the
/// edge cases TA-Lib special-cases (flat bars, zero volume, ties).
@Suite("Indicators equal TA-Lib")
struct TALibEquivalenceTests {
    static let files = ["orcl-daily.csv", "nvda-daily.csv", "futures-1min.csv", "edge-cases.csv", "oscillator-flat-runs.csv", "trend-edge-cases.csv"]

    @Test("every column matches TA-Lib", arguments: files)
    func matches(file: String) async throws {
        let comparisons = try await compareWithTALib(TALibReference.fixture(file))
        for comparison in comparisons {
            #expect(comparison.passes, "\(file): \(comparison)")
            #expect(comparison.comparedValues > 0 || comparison.readinessMismatch != nil, "\(file): \(comparison.column) never ready")
        }
    }

    @Test("every TA-Lib column of the spec is implemented")
    func complete() async throws {
        let reference = try await offPool { try TALibReference.load(TALibReference.fixture("edge-cases.csv")) }
        let missing = reference.columns.keys.filter { IndicatorSet.columnIndex[$0] == nil }.sorted()
        #expect(missing.isEmpty, "not implemented: \(missing.joined(separator: " "))")
    }
}
