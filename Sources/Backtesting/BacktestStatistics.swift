import Foundation
import Models

/// The numbers of a backtest, each with its uncertainty where one can be given, and a
/// plain verdict on whether the strategy beats the best naive baseline.
///
/// Intervals come from a moving-block bootstrap (blocks as long as the horizon, or the cube
/// root of the sample, whichever is longer): decisions `horizon` bars apart share bars, and
/// returns cluster, so resampling single points would understate the uncertainty.
public enum BacktestStatistics {
    /// Bars per year for bars `seconds` apart: 252 trading days, and a 6.5 h session for
    /// intraday bars.
    public static func periodsPerYear(barSeconds seconds: Double) -> Double {
        guard seconds.isFinite, seconds > 0 else { return 252 }
        return seconds >= 72_000 ? 252 : 252 * max(1, 23_400 / seconds)
    }

    /// Annualized Sharpe ratio of per-bar returns (no risk-free rate); 0 without variance.
    public static func sharpe(_ returns: [Double], periodsPerYear: Double) -> Double {
        guard returns.count >= 2 else { return 0 }
        let mean = returns.reduce(0, +) / Double(returns.count)
        let variance = returns.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(returns.count - 1)
        guard variance > 0, variance.isFinite else { return 0 }
        return mean / variance.squareRoot() * periodsPerYear.squareRoot()
    }

    /// Annualized Sortino ratio: the mean over the downside deviation; 0 without losses.
    public static func sortino(_ returns: [Double], periodsPerYear: Double) -> Double {
        guard returns.count >= 2 else { return 0 }
        let mean = returns.reduce(0, +) / Double(returns.count)
        let downside = (returns.reduce(0) { $0 + min($1, 0) * min($1, 0) } / Double(returns.count)).squareRoot()
        guard downside > 0, downside.isFinite else { return 0 }
        return mean / downside * periodsPerYear.squareRoot()
    }

    /// The largest fall from a peak, as a negative fraction (0 for none).
    public static func maxDrawdown(_ equity: [Double]) -> Double {
        var peak = -Double.infinity, worst = 0.0
        for value in equity where value.isFinite {
            peak = max(peak, value)
            if peak > 0 { worst = min(worst, value / peak - 1) }
        }
        return worst
    }

    /// Per-bar simple returns of an equity curve.
    public static func returns(_ equity: [Double]) -> [Double] {
        zip(equity, equity.dropFirst()).map { a, b in a > 0 && a.isFinite && b.isFinite ? b / a - 1 : 0 }
    }

    /// Compound annual growth from `start` to `end` over `years`.
    public static func cagr(start: Double, end: Double, years: Double) -> Double {
        guard start > 0, end > 0, years > 1.0 / 365 else { return 0 }
        let value = pow(end / start, 1 / years) - 1
        return value.isFinite ? value : 0
    }

    /// A moving-block bootstrap interval of `statistic` over `count` items: each resample
    /// is `count` indices made of circular blocks of `block` consecutive indices.
    static func bootstrap(
        count: Int, block: Int, resamples: Int, level: Double, seed: UInt64, statistic: ([Int]) -> Double
    ) -> (low: Double, high: Double) {
        guard count >= 2 else { return (.nan, .nan) }
        let block = min(max(block, 1), count)
        var random = SplitMix64(seed: seed)
        var values: [Double] = []
        values.reserveCapacity(resamples)
        var indices = [Int](repeating: 0, count: count)
        for _ in 0..<resamples {
            var filled = 0
            while filled < count {
                let start = random.below(count)
                for offset in 0..<block where filled < count {
                    indices[filled] = (start + offset) % count
                    filled += 1
                }
            }
            let value = statistic(indices)
            if value.isFinite { values.append(value) }
        }
        guard values.count >= 10 else { return (.nan, .nan) }
        values.sort()
        let tail = (1 - level) / 2
        let lowIndex = min(values.count - 1, max(0, Int((tail * Double(values.count)).rounded(.down))))
        let highIndex = min(values.count - 1, max(0, Int(((1 - tail) * Double(values.count)).rounded(.up)) - 1))
        return (values[lowIndex], values[highIndex])
    }

    static func blockLength(count: Int, horizon: Int) -> Int {
        max(horizon, Int(Double(max(count, 1)).squareRoot().squareRoot().rounded(.up) * 2), 1)
    }

    static func day(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: date)
    }

    static func percent(_ value: Double) -> String { String(format: "%.1f %%", value * 100) }

    /// Everything `summary.json` says, from a run's trades, decisions and equity.
    static func summarize(
        _ result: BacktestResult, validationAccuracy: [String: Double], strategyErrors: Int, trainedThrough: Date? = nil
    ) -> BacktestSummary {
        let settings = result.settings
        let curve = result.equity.map(\.equity)
        let hold = result.equity.map(\.buyAndHold)
        let initial = settings.capital * Double(max(1, result.prices.count))
        let final = curve.last ?? initial
        let times = result.equity.map(\.time)
        let spacing = zip(times, times.dropFirst()).map { $1.timeIntervalSince($0) }.filter { $0 > 0 }.sorted()
        let ppy = periodsPerYear(barSeconds: spacing.isEmpty ? 86_400 : spacing[spacing.count / 2])
        let years = (times.last?.timeIntervalSince(times.first ?? Date()) ?? 0) / (365.25 * 86_400)
        let strategyReturns = returns(curve)
        let holdReturns = returns(hold)
        let level = settings.confidenceLevel
        let resamples = settings.bootstrapResamples
        let returnBlock = blockLength(count: strategyReturns.count, horizon: 1)
        let returnInterval = bootstrap(
            count: strategyReturns.count, block: returnBlock, resamples: resamples, level: level, seed: settings.seed
        ) { indices in indices.reduce(1.0) { $0 * (1 + strategyReturns[$1]) } - 1 }
        let sharpeInterval = bootstrap(
            count: strategyReturns.count, block: returnBlock, resamples: resamples, level: level, seed: settings.seed &+ 1
        ) { indices in sharpe(indices.map { strategyReturns[$0] }, periodsPerYear: ppy) }

        // Accuracy against the naive baselines, on the decisions whose outcome is known.
        let scored = result.decisions.filter { $0.realized != nil }
        let hits = scored.map { $0.predicted == $0.realized ? 1.0 : 0.0 }
        var counts = [0, 0, 0]
        for decision in scored { if let r = decision.realized, (0..<3).contains(r) { counts[r] += 1 } }
        let majority = counts.indices.max { counts[$0] < counts[$1] } ?? Direction.flat.rawValue
        let names = ["down", "flat", "up"]
        let baselineHits: [(name: String, hits: [Double])] = [
            ("majority class (always \(names[majority]))", scored.map { $0.realized == majority ? 1 : 0 }),
            ("persistence (the last \(result.horizon) bars' direction)", scored.map { $0.previous != nil && $0.previous == $0.realized ? 1 : 0 }),
            ("always up", scored.map { $0.realized == Direction.up.rawValue ? 1 : 0 }),
        ]
        func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
        let baselines = baselineHits.map { BacktestSummary.Baseline(name: $0.name, accuracy: mean($0.hits)) }
        let best = baselineHits.max { mean($0.hits) < mean($1.hits) } ?? baselineHits[0]
        let accuracyValue = mean(hits)
        let decisionBlock = blockLength(count: hits.count, horizon: result.horizon)
        let accuracyInterval = bootstrap(
            count: hits.count, block: decisionBlock, resamples: resamples, level: level, seed: settings.seed &+ 2
        ) { indices in indices.reduce(0) { $0 + hits[$1] } / Double(indices.count) }
        let differences = zip(hits, best.hits).map { $0 - $1 }
        let edgeValue = mean(differences)
        let edgeInterval = bootstrap(
            count: differences.count, block: decisionBlock, resamples: resamples, level: level, seed: settings.seed &+ 3
        ) { indices in indices.reduce(0) { $0 + differences[$1] } / Double(indices.count) }
        let significant = scored.count >= 30 && edgeInterval.low > 0
        let holdReturn = (hold.last ?? initial) / initial - 1
        let totalReturn = final / initial - 1
        let levelText = String(format: "%.0f %%", level * 100)
        var verdict: String
        if scored.count < 30 {
            verdict = "Too few decisions with a known outcome (\(scored.count)) to say whether there is an edge."
        } else if significant {
            verdict = "Edge: accuracy \(percent(accuracyValue)) beats the best naive baseline, \(best.name), at \(percent(mean(best.hits))) by \(percent(edgeValue)) [\(percent(edgeInterval.low)), \(percent(edgeInterval.high))] (\(levelText) interval, above zero)."
        } else {
            verdict = "No significant edge: accuracy \(percent(accuracyValue)) against \(percent(mean(best.hits))) for the best naive baseline, \(best.name); the difference \(percent(edgeValue)) [\(percent(edgeInterval.low)), \(percent(edgeInterval.high))] (\(levelText) interval) does not exclude zero."
                + (totalReturn < holdReturn ? " The strategy returned \(percent(totalReturn)) against \(percent(holdReturn)) for buy and hold." : "")
        }

        let inSample = trainedThrough.map { end in scored.filter { $0.time <= end }.count } ?? 0
        if inSample > 0, let trainedThrough {
            verdict += " Careful: \(inSample) of the \(scored.count) scored decisions fall inside the models' training period (to \(day(trainedThrough))), so the accuracy is optimistic; pass --from after that day for an out-of-sample test."
        }
        if result.trades.isEmpty, !result.decisions.isEmpty {
            let strongest = result.decisions.filter { $0.action != "HOLD" }.count
            if strongest == 0 {
                let best = result.decisions.compactMap { $0.probabilities.map { max($0[0], $0[2]) } }.max() ?? 0
                verdict += String(
                    format: " No trade: no decision reached the threshold %.2f (the highest P(up) or P(down) was %.3f); lower --threshold to trade.",
                    settings.threshold, best)
            }
        }

        let closed = result.trades
        let wins = closed.filter { $0.profit > 0 }.count
        let exposure = result.equity.isEmpty ? 0 : result.equity.reduce(0) { $0 + $1.exposure } / Double(result.equity.count)
        var models: [BacktestSummary.ModelAccuracy] = []
        var latest: [String: BacktestResult.AccuracyPoint] = [:]
        for point in result.accuracy { latest[point.model] = point }
        for name in Set(latest.keys).union(validationAccuracy.keys).sorted() {
            models.append(
                BacktestSummary.ModelAccuracy(
                    model: name, liveAccuracy: latest[name]?.accuracy ?? validationAccuracy[name] ?? .nan,
                    outcomes: latest[name]?.outcomes ?? 0, validationAccuracy: validationAccuracy[name]))
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        var described: [String: String] = [
            "fill": settings.fill.rawValue, "commission": "\(settings.commission)", "slippage": "\(settings.slippage)",
            "threshold": "\(settings.threshold)", "capital_per_ticker": "\(settings.capital)",
            "stops": settings.useStops ? "ATR × \(settings.atrStopMultiple), at the trigger plus slippage (the open on a gap)" : "none",
            "take_profit": settings.takeProfit > 0 ? "\(settings.takeProfit) × the stop distance, at its price (the open on a gap)" : "none",
            "stop_and_target_in_one_bar": "the stop is taken",
            "sizing": settings.positionFraction > 0
                ? "\(settings.positionFraction) of equity" : "risk \(settings.riskPerTrade) of equity at the stop, at most \(settings.maxPositionFraction) of equity",
            "whole_shares": "\(settings.wholeShares)", "long_only": "\(settings.longOnly)",
            "hold_bars": settings.holdBars > 0 ? "\(settings.holdBars)" : "until a stop, target or opposite signal",
            "horizon_bars": "\(result.horizon)", "dead_zone": "\(result.deadZone)",
            "bootstrap": "\(resamples) moving-block resamples, seed \(settings.seed)",
        ]
        if strategyErrors > 0 { described["strategy_errors"] = "\(strategyErrors) bars skipped" }
        return BacktestSummary(
            strategy: result.strategy, from: times.first.map { formatter.string(from: $0) } ?? "",
            to: times.last.map { formatter.string(from: $0) } ?? "", bars: result.equity.count, initialCapital: initial,
            finalEquity: final,
            totalReturn: BacktestResult.Estimate(value: totalReturn, low: returnInterval.low, high: returnInterval.high),
            cagr: cagr(start: initial, end: final, years: years),
            sharpe: BacktestResult.Estimate(
                value: sharpe(strategyReturns, periodsPerYear: ppy), low: sharpeInterval.low, high: sharpeInterval.high),
            sortino: sortino(strategyReturns, periodsPerYear: ppy), maxDrawdown: maxDrawdown(curve),
            winRate: closed.isEmpty ? 0 : Double(wins) / Double(closed.count), exposure: exposure, trades: closed.count,
            buyAndHold: BacktestSummary.BuyAndHold(
                totalReturn: holdReturn, cagr: cagr(start: initial, end: hold.last ?? initial, years: years),
                sharpe: sharpe(holdReturns, periodsPerYear: ppy), maxDrawdown: maxDrawdown(hold)),
            accuracy: BacktestResult.Estimate(value: accuracyValue, low: accuracyInterval.low, high: accuracyInterval.high),
            decisionsScored: scored.count, baselines: baselines,
            edge: BacktestResult.Estimate(value: edgeValue, low: edgeInterval.low, high: edgeInterval.high),
            edgeIsSignificant: significant, verdict: verdict, models: models, settings: described,
            inSampleDecisions: inSample, trainedThrough: trainedThrough.map(day))
    }
}

extension BacktestSummary {
    /// Before statistics are computed.
    static let empty = BacktestSummary(
        strategy: "", from: "", to: "", bars: 0, initialCapital: 0, finalEquity: 0,
        totalReturn: BacktestResult.Estimate(value: 0, low: 0, high: 0), cagr: 0,
        sharpe: BacktestResult.Estimate(value: 0, low: 0, high: 0), sortino: 0, maxDrawdown: 0, winRate: 0, exposure: 0,
        trades: 0, buyAndHold: BuyAndHold(totalReturn: 0, cagr: 0, sharpe: 0, maxDrawdown: 0),
        accuracy: BacktestResult.Estimate(value: 0, low: 0, high: 0), decisionsScored: 0, baselines: [],
        edge: BacktestResult.Estimate(value: 0, low: 0, high: 0), edgeIsSignificant: false, verdict: "", models: [],
        settings: [:])
}
