import ArgumentParser
import Backtesting
import Foundation
import Models
import ServiceKit

#if canImport(Glibc)
    import Glibc
#endif

/// `tickwire backtest`: bar files through the live pipeline, with simulated fills, honest
/// statistics and a report.
struct BacktestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Run bar files through the live pipeline (StreamProcessor → models → signal policy) and report how it would have traded.",
        discussion: """
            Writes trades.csv, equity.csv, decisions.csv, summary.json and report.html (self-contained) \
            to --out. Every headline number has a bootstrap interval, and the verdict says plainly \
            whether the accuracy beats the best naive baseline. Fill rules: signals fill at the next \
            open (or the close, --fill close) with --slippage and --commission on each side; stops fill \
            at the trigger plus slippage (the open on a gap); a stop and a target in one bar: the stop.
            """
    )

    @Option(parsing: .upToNextOption, help: "Bar files (CSV: timestamp or date, open, high, low, close, volume); the ticker is the file name.")
    var data: [String]
    @Option(help: "The trained models' directory (`tickwire train --out`).")
    var models: String
    @Option(help: "Where to write the results.")
    var out = "backtest"
    @Option(help: "First bar to trade, YYYY-MM-DD (earlier bars warm the indicators up).")
    var from: String?
    @Option(help: "Last bar to trade, YYYY-MM-DD.")
    var to: String?
    @Option(help: "Commission, a fraction of the traded value per fill.")
    var commission = 0.0005
    @Option(help: "Slippage, a fraction of the price per fill.")
    var slippage = 0.0005
    @Option(help: "Where signals fill: next_open or close.")
    var fill = "next_open"
    @Option(help: "Signal threshold, 0...1 (default: the config's signal_threshold).")
    var threshold: Double?
    @Option(help: "Starting cash per ticker.")
    var capital = 100_000.0
    @Option(name: .customLong("risk-per-trade"), help: "Fraction of equity at risk at the stop (default: signals.risk_per_trade).")
    var riskPerTrade: Double?
    @Option(name: .customLong("atr-stop"), help: "Stop distance in ATRs (default: signals.atr_stop_multiple).")
    var atrStop: Double?
    @Option(name: .customLong("max-position"), help: "Largest position as a fraction of equity (default: signals.max_position_fraction).")
    var maxPosition: Double?
    @Option(name: .customLong("position-size"), help: "Size every position at this fraction of equity instead of by risk (0: by risk).")
    var positionSize = 0.0
    @Flag(name: .customLong("whole-shares"), help: "Trade whole shares only.")
    var wholeShares = false
    @Flag(name: .customLong("no-stops"), help: "Place no stops (exits on signals, --hold-bars or the end only).")
    var noStops = false
    @Option(name: .customLong("take-profit"), help: "A target this many stop distances away (0: none).")
    var takeProfit = 0.0
    @Option(name: .customLong("hold-bars"), help: "Close a position after this many bars (0: never by time).")
    var holdBars = 0
    @Flag(name: .customLong("long-only"), help: "SELL closes a long position; never go short.")
    var longOnly = false
    @Option(help: "Bars ahead for XGBoost models (Tickwire's own model files record theirs).")
    var horizon: Int?
    @Option(help: "Ensemble method (default: the config's ensemble_method).")
    var method: String?
    @Flag(name: .customLong("check-lookahead"), help: "Rerun the history cut at random points and prove no earlier feature or decision changes.")
    var checkLookahead = false
    @Option(name: .customLong("lookahead-cuts"), help: "Cut points for --check-lookahead.")
    var lookaheadCuts = 8
    @Option(
        name: .customLong("retrain-every"),
        help: "Walk-forward: trade windows of N bars, each with the --models recipe retrained on every bar before it (models in OUT/windows).")
    var retrainEvery: Int?
    @Option(name: .customLong("retrain-folds"), help: "Validation folds inside each walk-forward retraining (they calibrate the models).")
    var retrainFolds = 3
    @Option(help: "Bootstrap resamples per interval.")
    var bootstrap = 2_000
    @Option(help: "Seed for the bootstrap and the lookahead cuts.")
    var seed: UInt64 = 20_240_601
    @Option(help: "Config file (market_hours, models, signals, ensemble_method). Env: TICKWIRE_CONFIG.")
    var config: String?

    func validate() throws {
        guard !data.isEmpty else { throw ValidationError("--data needs at least one bar file") }
        guard BacktestSettings.Fill(rawValue: fill) != nil else { throw ValidationError("--fill must be next_open or close") }
        guard (1...1_000).contains(lookaheadCuts) else { throw ValidationError("--lookahead-cuts must be from 1 to 1000") }
        guard (1...20).contains(retrainFolds) else { throw ValidationError("--retrain-folds must be from 1 to 20") }
        if let retrainEvery, !(20...1_000_000).contains(retrainEvery) {
            throw ValidationError("--retrain-every must be from 20 to 1000000 bars")
        }
        for (name, text) in [("--from", from), ("--to", to)] {
            if let text, Self.day(text) == nil { throw ValidationError("\(name) must be a date, YYYY-MM-DD (got '\(text)')") }
        }
    }

    static func day(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .gmt
        formatter.dateFormat = "yyyy-MM-dd"
        guard text.count == 10, let date = formatter.date(from: text) else { return nil }
        return date
    }

    func run() async throws {
        let loaded = try loadConfig(config)
        let zone = TimeZone(identifier: loaded.marketHours.timezone) ?? .gmt
        var settings = BacktestSettings()
        settings.capital = capital
        settings.commission = commission
        settings.slippage = slippage
        settings.fill = BacktestSettings.Fill(rawValue: fill) ?? .nextOpen
        settings.threshold = threshold ?? loaded.signalThreshold
        settings.riskPerTrade = riskPerTrade ?? loaded.signals.riskPerTrade
        settings.atrStopMultiple = atrStop ?? loaded.signals.atrStopMultiple
        settings.maxPositionFraction = maxPosition ?? loaded.signals.maxPositionFraction
        settings.positionFraction = positionSize
        settings.wholeShares = wholeShares
        settings.useStops = !noStops
        settings.takeProfit = takeProfit
        settings.holdBars = holdBars
        settings.longOnly = longOnly
        settings.bootstrapResamples = bootstrap
        settings.seed = seed
        settings.from = from.flatMap(Self.day)
        // --to names a day: every bar of it.
        settings.to = to.flatMap(Self.day).map { $0.addingTimeInterval(86_399.999) }
        do throws(any Error) {
            try settings.validate()
            let methodName = method ?? loaded.ensembleMethod
            var ensemble = try Backtest.ensemble(
                modelDirectory: models, method: methodName, weights: loaded.models.weights, horizon: horizon ?? loaded.models.horizon,
                accuracyDecay: loaded.models.accuracyDecay)
            let files = try Backtest.read(paths: data, timeZone: zone)
            var windows: [WalkForwardBacktest.Window] = []
            if let retrainEvery {
                let plan = WalkForwardBacktest(
                    every: retrainEvery, folds: retrainFolds, recipe: try WalkForwardBacktest.recipe(modelDirectory: models),
                    directory: (out as NSString).appendingPathComponent("windows"),
                    ensembleMethod: EnsembleMethod(rawValue: methodName) ?? .simpleAverage)
                let bar = ProgressBar(label: "retrain")
                (windows, ensemble) = try plan.prepare(
                    files: files, from: settings.from, to: settings.to, timeZone: zone, method: methodName,
                    weights: loaded.models.weights, accuracyDecay: loaded.models.accuracyDecay, progress: bar.show)
                bar.finish()
                if let first = windows.first { settings.from = Date(timeIntervalSince1970: Double(first.start) / 1e9) }
            }
            var backtest = Backtest(
                files: files, settings: settings, barInterval: try Backtest.barInterval(of: files), timeZone: zone,
                horizon: ensemble.horizon, deadZone: ensemble.deadZone, makeStrategy: ensemble.makeStrategy)
            backtest.windowSize = loaded.windowSize
            backtest.models = ensemble.models
            backtest.validationAccuracy = ensemble.validationAccuracy
            backtest.trainedThrough = ensemble.trainedThrough
            let bar = ProgressBar(label: "backtest")
            var result = try await backtest.run(progress: bar.show)
            bar.finish()
            result.windows = WalkForwardBacktest.summaries(windows, result: result)
            if checkLookahead {
                let check = ProgressBar(label: "lookahead")
                result.lookahead = try await backtest.checkLookahead(cuts: lookaheadCuts, progress: check.show)
                check.finish()
            }
            let paths = try BacktestOutput.write(result, to: out)
            print(Self.describe(result))
            print("\nwritten: \(paths.joined(separator: ", "))")
            if let lookahead = result.lookahead, !lookahead.passed {
                FileHandle.standardError.write(Data("tickwire backtest: lookahead found:\n  \(lookahead.differences.joined(separator: "\n  "))\n".utf8))
                throw ExitCode(1)
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("tickwire backtest: \(error)\n".utf8))
            throw ExitCode(65)
        }
    }

    /// The summary as a few lines for the terminal.
    static func describe(_ result: BacktestResult) -> String {
        let s = result.summary
        func pct(_ v: Double) -> String { v.isFinite ? String(format: "%+.1f%%", v * 100) : "n/a" }
        func num(_ v: Double) -> String { v.isFinite ? String(format: "%.2f", v) : "n/a" }
        func interval(_ e: BacktestResult.Estimate, _ f: (Double) -> String) -> String { "\(f(e.value)) [\(f(e.low)), \(f(e.high))]" }
        var lines = [
            "\(s.strategy) on \(result.prices.keys.sorted().joined(separator: ", ")), \(s.from) to \(s.to), \(s.bars) bars",
            "return \(interval(s.totalReturn, pct))  CAGR \(pct(s.cagr))  Sharpe \(interval(s.sharpe, num))  Sortino \(num(s.sortino))  max drawdown \(pct(s.maxDrawdown))",
            "trades \(s.trades)  win rate \(pct(s.winRate))  exposure \(pct(s.exposure))",
            "buy and hold: return \(pct(s.buyAndHold.totalReturn))  CAGR \(pct(s.buyAndHold.cagr))  Sharpe \(num(s.buyAndHold.sharpe))  max drawdown \(pct(s.buyAndHold.maxDrawdown))",
            "accuracy \(interval(s.accuracy, pct)) over \(s.decisionsScored) decisions; "
                + s.baselines.map { "\($0.name) \(pct($0.accuracy))" }.joined(separator: ", "),
            s.verdict,
        ]
        if let lookahead = result.lookahead {
            lines.append(
                lookahead.passed
                    ? "lookahead check: passed (\(lookahead.cuts.count) cuts, \(lookahead.comparisons) bars compared bit for bit)"
                    : "lookahead check: FAILED: \(lookahead.differences.first ?? "")")
        }
        return lines.joined(separator: "\n")
    }
}

/// A progress bar on standard error, drawn only when it is a terminal.
final class ProgressBar: Sendable {
    let label: String
    let isTerminal = isatty(STDERR_FILENO) == 1

    init(label: String) { self.label = label }

    @Sendable func show(_ done: Int, _ total: Int) {
        guard isTerminal, total > 0 else { return }
        let fraction = min(1, max(0, Double(done) / Double(total)))
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(Int(fraction * 100))% \(done)/\(total)".utf8))
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
