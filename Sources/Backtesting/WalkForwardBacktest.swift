import FeatureContract
import Foundation
import Indicators
import Models
import Tickwire
import Training

/// `--retrain-every N`: a walk-forward backtest. The history after the first window's start is
/// cut into windows of `N` bars; before each window the models are retrained, by
/// `tickwire train`'s own code, on every bar before it (labels that would look into the window
/// cannot be built, so none are used), then the window is traded by the usual pipeline with
/// those models. One run covers all windows (one account, one equity curve); the summary adds
/// a row per window.
///
/// The model directory given to the backtest is the recipe: its model kinds, hyperparameters,
/// horizon, dead zone and seed. Its fitted weights are not used.
public struct WalkForwardBacktest: Sendable {
    /// What to retrain, read from a model directory.
    public struct Recipe: Sendable, Equatable {
        public var kinds: [String]
        public var hyperparameters: [String: [String: Double]]
        public var horizon: Int
        public var deadZone: Double
        public var seed: UInt64
    }

    /// One window: traded from `start` to `end` (bar times, inclusive) with models trained on
    /// the bars before `start`, written to `directory`.
    public struct Window: Sendable, Equatable {
        public var index: Int
        public var start: Int64
        public var end: Int64
        /// The last bar time the window's models were trained on.
        public var trainedThrough: Int64
        public var directory: String
        /// `start`, `end` and `trainedThrough` as the bar files write them.
        public var startLabel = "", endLabel = "", trainedThroughLabel = ""
    }

    /// Bars per window.
    public var every: Int
    /// Walk-forward folds inside each retraining (for calibration); from 1.
    public var folds: Int
    public var recipe: Recipe
    /// Where each window's models go: `<directory>/window-<k>`.
    public var directory: String
    public var ensembleMethod: Models.EnsembleMethod

    public init(every: Int, folds: Int, recipe: Recipe, directory: String, ensembleMethod: Models.EnsembleMethod) {
        self.every = every
        self.folds = folds
        self.recipe = recipe
        self.directory = directory
        self.ensembleMethod = ensembleMethod
    }

    /// Reads the recipe from the Tickwire model files of `directory` (XGBoost files record no
    /// way to retrain them and are refused).
    public static func recipe(modelDirectory directory: String) throws -> Recipe {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw BacktestError("--models \(directory): cannot list the directory: \(error.localizedDescription)")
        }
        var files: [ModelFile] = []
        for name in names where name.hasSuffix(".json") && name != "report.json" {
            let path = (directory as NSString).appendingPathComponent(name)
            switch try AnyModelFile.load(path: path, expectedSchemaHash: FeaturePipeline.schema.hash) {
            case .tickwire(let file):
                guard trainableKinds.contains(file.name) else {
                    throw BacktestError("\(path): --retrain-every cannot retrain a '\(file.name)' model (it retrains \(trainableKinds.joined(separator: ", ")))")
                }
                files.append(file)
            case .xgboost:
                throw BacktestError("\(path): --retrain-every cannot retrain an XGBoost file; train Tickwire's own models with `tickwire train`")
            }
        }
        guard let first = files.first else {
            throw BacktestError("--models \(directory): no Tickwire model files to take the recipe from; train some with `tickwire train --out \(directory)`")
        }
        for file in files.dropFirst() where file.training.horizon != first.training.horizon || file.training.deadZone != first.training.deadZone {
            throw BacktestError("--models \(directory): \(file.name) and \(first.name) were trained with different horizons or dead zones")
        }
        return Recipe(
            kinds: files.map(\.name), hyperparameters: Dictionary(files.map { ($0.name, $0.hyperparameters) }, uniquingKeysWith: { a, _ in a }),
            horizon: first.training.horizon, deadZone: first.training.deadZone, seed: first.seed)
    }

    /// The windows over `files`' bar times (those in `from...to`): the first starts at `from`,
    /// or after the first `every` bar times when there is no `from`.
    public func windows(files: [Backtest.BarFile], from: Date?, to: Date?) throws -> [Window] {
        var stamps: [Int64: String] = [:]
        for file in files {
            for row in file.rows where stamps[row.bar.time] == nil { stamps[row.bar.time] = row.timestamp }
        }
        var sorted = stamps.keys.sorted()
        if let to {
            let limit = Self.nanoseconds(to)
            sorted = sorted.filter { $0 <= limit }
        }
        let first: Int
        if let from {
            let start = Self.nanoseconds(from)
            first = sorted.firstIndex { $0 >= start } ?? sorted.count
        } else {
            first = min(every, sorted.count)
        }
        guard first > 0 else {
            throw BacktestError("--retrain-every: no bars before the first window (--from) to train on")
        }
        guard first < sorted.count else {
            throw BacktestError("--retrain-every: no bars left to trade after the first \(first) (give more history, or an earlier --from)")
        }
        var windows: [Window] = []
        var index = first
        while index < sorted.count {
            let last = min(index + every, sorted.count) - 1
            var window = Window(
                index: windows.count + 1, start: sorted[index], end: sorted[last], trainedThrough: sorted[index - 1],
                directory: (directory as NSString).appendingPathComponent(String(format: "window-%03d", windows.count + 1)))
            window.startLabel = stamps[window.start] ?? ""
            window.endLabel = stamps[window.end] ?? ""
            window.trainedThroughLabel = stamps[window.trainedThrough] ?? ""
            windows.append(window)
            index = last + 1
        }
        return windows
    }

    /// Retrains the recipe for `window` on `files`' bars before its start.
    public func train(_ window: Window, files: [Backtest.BarFile], timeZone: TimeZone) throws {
        let bars = files.map { file in (symbol: file.symbol, bars: file.rows.filter { $0.bar.time < window.start }) }
        var job = TrainingJob(
            files: files.map(\.path), output: window.directory, horizon: recipe.horizon, deadZone: recipe.deadZone,
            kinds: recipe.kinds, folds: folds, seed: recipe.seed, ensembleMethod: ensembleMethod, timeZone: timeZone,
            exportDataset: nil)
        job.hyperparameters = recipe.hyperparameters
        do {
            _ = try job.train(bars: bars, quiet: true)
        } catch {
            throw BacktestError(
                "walk-forward window \(window.index) (trained on bars up to \(window.trainedThroughLabel)): \(error)")
        }
    }

    static func nanoseconds(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1e9).rounded()
        guard value.isFinite else { return 0 }
        return value >= 9.2e18 ? .max : value <= -9.2e18 ? .min : Int64(value)
    }

    /// Each window's row of the summary: decisions scored, accuracy, and the equity's return
    /// over the window.
    public static func summaries(_ windows: [Window], result: BacktestResult) -> [WindowSummary] {
        windows.map { window in
            let start = Backtest.date(window.start), end = Backtest.date(window.end)
            let decisions = result.decisions.filter { $0.time >= start && $0.time <= end }
            let scored = decisions.filter { $0.realized != nil }
            let right = scored.filter { $0.realized == $0.predicted }.count
            let before = result.equity.last { $0.time < start }?.equity ?? result.settings.capital * Double(result.prices.count)
            let after = result.equity.last { $0.time <= end }?.equity ?? before
            return WindowSummary(
                index: window.index, trainedThrough: window.trainedThroughLabel, from: window.startLabel, to: window.endLabel,
                decisions: scored.count, accuracy: scored.isEmpty ? .nan : Double(right) / Double(scored.count),
                returnFraction: before > 0 ? after / before - 1 : .nan)
        }
    }
}

/// The walk-forward strategy: each bar is decided by the ensemble of the window it falls in
/// (a fresh ``Tickwire/EnsembleStrategy`` per window, so live accuracy starts over with each
/// retraining).
public struct WindowedStrategy: Strategy {
    public let name: String
    /// Window start (ns) and its strategy, by start.
    let windows: [(start: Int64, strategy: EnsembleStrategy)]

    public init(windows: [WalkForwardBacktest.Window], method: Tickwire.EnsembleMethod, weights: [String: Double], horizon: Int, accuracyDecay: Double) throws {
        self.windows = try windows.sorted { $0.start < $1.start }.map { window in
            do {
                return (
                    window.start,
                    try EnsembleStrategy(
                        modelDirectory: window.directory, method: method, weights: weights, horizon: horizon, accuracyDecay: accuracyDecay)
                )
            } catch {
                throw BacktestError("walk-forward window \(window.index): \(error)")
            }
        }
        name = "walk-forward " + (self.windows.first?.strategy.name ?? "ensemble()")
    }

    /// The ensemble deciding bars that start at `time`; nil before the first window.
    public func ensemble(at time: Date) -> EnsembleStrategy? {
        let nanoseconds = WalkForwardBacktest.nanoseconds(time)
        return windows.last { $0.start <= nanoseconds }?.strategy
    }

    public func decide(features: Features, bar: Bar) async throws -> Decision {
        guard let strategy = ensemble(at: bar.start) else {
            throw BacktestError("\(bar.symbol) \(bar.start): before the first walk-forward window")
        }
        return try strategy.decide(features: features, bar: bar)
    }
}

extension WalkForwardBacktest {
    /// Plans the windows, retrains the models of each (telling `progress` after each), and
    /// returns the windows and the strategy that trades them. `method` is a config name such
    /// as `dynamic_ensemble`.
    public func prepare(
        files: [Backtest.BarFile], from: Date?, to: Date?, timeZone: TimeZone, method name: String, weights: [String: Double],
        accuracyDecay: Double, progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> (windows: [Window], ensemble: Backtest.Ensemble) {
        guard let method = Tickwire.EnsembleMethod(name: name) else {
            throw BacktestError(
                "--method: unknown ensemble method '\(name)' (known: \(Tickwire.EnsembleMethod.all.map(\.name).joined(separator: ", ")))")
        }
        let windows = try windows(files: files, from: from, to: to)
        for (done, window) in windows.enumerated() {
            progress?(done, windows.count)
            try train(window, files: files, timeZone: timeZone)
        }
        progress?(windows.count, windows.count)
        let horizon = recipe.horizon
        // Load once now, so a bad window fails before the run.
        let strategy = try WindowedStrategy(windows: windows, method: method, weights: weights, horizon: horizon, accuracyDecay: accuracyDecay)
        let ensemble = Backtest.Ensemble(
            makeStrategy: {
                try WindowedStrategy(windows: windows, method: method, weights: weights, horizon: horizon, accuracyDecay: accuracyDecay)
            },
            horizon: horizon, deadZone: recipe.deadZone,
            models: strategy.windows.first?.strategy.models.map { "\($0) retrained every \(every) bars" } ?? [],
            validationAccuracy: [:], trainedThrough: nil)
        return (windows, ensemble)
    }
}
