@testable import Backtesting
import Foundation
import Testing

@Suite("Backtest statistics")
struct StatisticsTests {
    @Test("Sharpe, Sortino, drawdown and CAGR on numbers worked by hand")
    func byHand() {
        #expect(BacktestStatistics.sharpe([0.01, 0.01, 0.01], periodsPerYear: 252) == 0, "no variance")
        let returns = [0.01, -0.01, 0.02, 0.0]
        let mean = 0.005
        let sd = ((0.005 * 0.005 + 0.015 * 0.015 + 0.015 * 0.015 + 0.005 * 0.005) / 3).squareRoot()
        #expect(abs(BacktestStatistics.sharpe(returns, periodsPerYear: 252) - mean / sd * 252.0.squareRoot()) < 1e-12)
        let downside = (0.0001 / 4).squareRoot()
        #expect(abs(BacktestStatistics.sortino(returns, periodsPerYear: 252) - mean / downside * 252.0.squareRoot()) < 1e-12)
        #expect(BacktestStatistics.maxDrawdown([100, 120, 90, 130, 65]) == -0.5)
        #expect(abs(BacktestStatistics.cagr(start: 100, end: 400, years: 2) - 1) < 1e-12)
        #expect(BacktestStatistics.periodsPerYear(barSeconds: 86_400) == 252)
        #expect(BacktestStatistics.periodsPerYear(barSeconds: 60) == 252 * 390)
        #expect(BacktestStatistics.cagr(start: 0, end: 1, years: 1) == 0)
    }

    @Test("the bootstrap interval holds the estimate, narrows with more data, and repeats under a seed")
    func bootstrap() {
        var random = SplitMix64(seed: 7)
        let small = (0..<100).map { _ in Double(random.below(2)) }
        let large = (0..<10_000).map { _ in Double(random.below(2)) }
        func interval(_ values: [Double], seed: UInt64) -> (low: Double, high: Double) {
            BacktestStatistics.bootstrap(count: values.count, block: 5, resamples: 1_000, level: 0.95, seed: seed) { indices in
                indices.reduce(0) { $0 + values[$1] } / Double(indices.count)
            }
        }
        let a = interval(small, seed: 1), b = interval(small, seed: 1), c = interval(large, seed: 1)
        let meanSmall = small.reduce(0, +) / 100
        #expect(a.low <= meanSmall && meanSmall <= a.high)
        #expect(a == b)
        #expect(c.high - c.low < (a.high - a.low) / 3)
        #expect(abs(c.low - 0.5) < 0.03 && abs(c.high - 0.5) < 0.03)
    }

    private func result(predicted: (Int) -> Int, realized: (Int) -> Int, count: Int) -> BacktestResult {
        let start = Date(timeIntervalSince1970: 1_000_000_000)
        let decisions = (0..<count).map { i in
            BacktestResult.DecisionRecord(
                symbol: "X", time: start.addingTimeInterval(Double(i) * 86_400), close: 100, action: "HOLD", confidence: 0.5,
                predicted: predicted(i), realized: realized(i), previous: i > 0 ? realized(i - 1) : nil, probabilities: nil)
        }
        let equity = (0..<count).map { i in
            BacktestResult.EquityPoint(
                time: start.addingTimeInterval(Double(i) * 86_400), equity: 100_000, drawdown: 0, buyAndHold: 100_000, exposure: 0)
        }
        return BacktestResult(
            settings: BacktestSettings(), strategy: "test", models: [], horizon: 1, deadZone: 0, files: [], prices: ["X": []],
            trades: [], decisions: decisions, equity: equity, accuracy: [], summary: BacktestSummary.empty, lookahead: nil,
            windows: [])
    }

    @Test("a coin flip against a skewed market has no edge; a perfect predictor has one")
    func verdict() {
        var random = SplitMix64(seed: 11)
        let labels = (0..<600).map { _ in random.below(10) < 6 ? 2 : random.below(2) }  // 60 % up
        let guesses = (0..<600).map { _ in random.below(3) }
        let noise = BacktestStatistics.summarize(
            result(predicted: { guesses[$0] }, realized: { labels[$0] }, count: 600), validationAccuracy: [:], strategyErrors: 0)
        #expect(!noise.edgeIsSignificant)
        #expect(noise.verdict.hasPrefix("No significant edge"), "\(noise.verdict)")
        #expect(noise.baselines.first?.accuracy ?? 0 > 0.5, "the majority class is up")
        #expect(noise.edge.value < 0)

        let perfect = BacktestStatistics.summarize(
            result(predicted: { labels[$0] }, realized: { labels[$0] }, count: 600), validationAccuracy: [:], strategyErrors: 0)
        #expect(perfect.edgeIsSignificant)
        #expect(perfect.accuracy.value == 1)
        #expect(perfect.verdict.hasPrefix("Edge:"), "\(perfect.verdict)")

        let few = BacktestStatistics.summarize(
            result(predicted: { labels[$0] }, realized: { labels[$0] }, count: 20), validationAccuracy: [:], strategyErrors: 0)
        #expect(!few.edgeIsSignificant)
        #expect(few.verdict.hasPrefix("Too few"))
    }
}
