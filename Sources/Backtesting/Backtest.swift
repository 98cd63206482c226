import Foundation
import Indicators
import Models
import Signals
import Tickwire
import Training

/// A backtest: bar files through the `Tickwire` library's own pipeline, the one custom
/// scripts and the services use (`StreamProcessor` → ``Tickwire/Strategy`` → the signal
/// policy, via ``Tickwire/Signal/init(decision:features:threshold:sizing:strategy:)``),
/// with simulated fills (``BacktestSettings``) and honest statistics (``BacktestStatistics``).
///
/// Bars of all files are fed in time order, as a live feed would deliver them, so a
/// strategy that learns across tickers (the ensemble's live accuracy) learns in the same order.
public struct Backtest: Sendable {
    /// One bar file, read and checked.
    public struct BarFile: Sendable {
        public var path: String
        public var symbol: String
        public var rows: [BarRow]
    }

    public var files: [BarFile]
    public var settings: BacktestSettings
    /// The bar length; every file must have it.
    public var barInterval: Duration
    public var timeZone: TimeZone
    /// Closed bars kept per ticker (the seed's `window_size`).
    public var windowSize = 100
    /// Bars ahead a decision is scored over (the models' horizon).
    public var horizon: Int
    /// |log return| up to which a move is flat (the models' dead zone).
    public var deadZone: Double
    /// Makes the strategy, fresh for every run (the lookahead check reruns from scratch).
    public var makeStrategy: @Sendable () throws -> any Strategy
    /// The served models as `name@version` and their validation accuracies, for the report.
    public var models: [String] = []
    public var validationAccuracy: [String: Double] = [:]
    /// The last day the models were trained on: decisions up to it are in-sample.
    public var trainedThrough: Date?

    public init(
        files: [BarFile], settings: BacktestSettings, barInterval: Duration, timeZone: TimeZone, horizon: Int,
        deadZone: Double, makeStrategy: @escaping @Sendable () throws -> any Strategy
    ) {
        self.files = files
        self.settings = settings
        self.barInterval = barInterval
        self.timeZone = timeZone
        self.horizon = horizon
        self.deadZone = deadZone
        self.makeStrategy = makeStrategy
    }

    // MARK: Input

    /// Reads bar files (errors name `file:line`); each file is one ticker, named as
    /// `tickwire train` names it. Two files of one ticker are refused.
    public static func read(paths: [String], timeZone: TimeZone) throws -> [BarFile] {
        guard !paths.isEmpty else { throw BacktestError("--data: give at least one bar file") }
        var files: [BarFile] = []
        for path in paths {
            let rows = try BarsCSV.read(path: path, timeZone: timeZone)
            let symbol = TrainingJob.symbol(of: path)
            guard !symbol.isEmpty, symbol.count <= 32 else {
                throw BacktestError("\(path): cannot name a ticker from the file name (want e.g. AAPL.csv)")
            }
            if let other = files.first(where: { $0.symbol == symbol }) {
                throw BacktestError("\(path): ticker \(symbol) again (also \(other.path)); one file per ticker")
            }
            guard rows.count >= 2 else { throw BacktestError("\(path): \(rows.count) bars; a backtest needs at least 2") }
            files.append(BarFile(path: path, symbol: symbol, rows: rows))
        }
        return files
    }

    /// The bar length the files share: the shortest step between two rows of each file.
    public static func barInterval(of files: [BarFile]) throws -> Duration {
        var interval: Int64?
        for file in files {
            var shortest = Int64.max
            for (a, b) in zip(file.rows, file.rows.dropFirst()) {
                let (step, overflow) = b.bar.time.subtractingReportingOverflow(a.bar.time)
                if !overflow, step > 0 { shortest = min(shortest, step) }
            }
            guard shortest != .max else { throw BacktestError("\(file.path): cannot tell the bar length") }
            // Daily and longer bars are one day long (weekends and holidays are gaps).
            let length = min(shortest, 86_400_000_000_000)
            if let interval, interval != length {
                throw BacktestError("\(file.path): \(length / 1_000_000_000) s bars, but the others have \(interval / 1_000_000_000) s")
            }
            interval = length
        }
        guard let interval, interval >= 1_000_000_000 else { throw BacktestError("bars shorter than a second are not supported") }
        return .nanoseconds(interval)
    }

    // MARK: Running

    /// One bar of one file, in feed order.
    struct Event {
        var file: Int
        var row: Int
    }

    /// Every bar of every file, by time (then by file).
    func events(limit: Int? = nil) -> [Event] {
        var events: [Event] = []
        events.reserveCapacity(files.reduce(0) { $0 + $1.rows.count })
        for (f, file) in files.enumerated() {
            for r in file.rows.indices { events.append(Event(file: f, row: r)) }
        }
        events.sort { a, b in
            let ta = files[a.file].rows[a.row].bar.time, tb = files[b.file].rows[b.row].bar.time
            return ta != tb ? ta < tb : a.file < b.file
        }
        if let limit { return Array(events.prefix(limit)) }
        return events
    }

    func inRange(_ time: Date) -> Bool {
        if let from = settings.from, time < from { return false }
        if let to = settings.to, time > to { return false }
        return true
    }

    static func date(_ nanoseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(nanoseconds) / 1e9) }

    func pricePoint(_ row: BarRow) -> BacktestResult.PricePoint {
        BacktestResult.PricePoint(time: Self.date(row.bar.time), open: row.bar.open, high: row.bar.high, low: row.bar.low, close: row.bar.close)
    }

    /// What the pipeline made of one bar, for the lookahead check: the features' bit
    /// patterns and the decision's.
    struct Trace: Equatable {
        var features: [UInt64]
        var decision: [UInt64]
    }

    /// Feeds `events` through a fresh processor and strategy. `visit` sees each bar's price
    /// point, its features (nil while warming up) and the signal, when one was made.
    func drive(
        _ events: [Event],
        visit: (Event, BacktestResult.PricePoint, Features?, Decision?, Tickwire.Signal?, any Strategy) async throws -> Void,
        sizing: (Event, BacktestResult.PricePoint) -> PositionSizing
    ) async throws {
        var processor = try StreamProcessor(
            windowSize: windowSize, barInterval: barInterval, lateTolerance: .zero, barSource: .providerBars, timeZone: timeZone)
        let strategy = try makeStrategy()
        let step = Int64(barInterval.components.seconds) * 1_000_000_000
        for event in events {
            let file = files[event.file]
            let row = file.rows[event.row]
            let point = pricePoint(row)
            let (end, overflow) = row.bar.time.addingReportingOverflow(step)
            guard !overflow else { continue }
            let bar = Bar(
                symbol: file.symbol, start: point.time, end: Self.date(end), open: row.bar.open, high: row.bar.high,
                low: row.bar.low, close: row.bar.close, volume: row.bar.volume, origin: .live)
            let closed = processor.process(.bar(bar))
            let features = closed.last?.features
            var decision: Decision?
            var signal: Tickwire.Signal?
            if let features, inRange(point.time) {
                do {
                    let made = try await strategy.decide(features: features, bar: bar)
                    decision = made
                    signal = Tickwire.Signal(
                        decision: made, features: features, threshold: settings.threshold, sizing: sizing(event, point),
                        strategy: strategy.name)
                } catch {
                    decision = nil
                }
            }
            try await visit(event, point, features, decision, signal, strategy)
        }
    }

    /// Runs the backtest. `progress` is told (bars done, bars in all) now and then.
    public func run(progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> BacktestResult {
        try settings.validate()
        let events = events()
        var accounts = files.map { Account(symbol: $0.symbol, settings: settings) }
        var lastClose = [Double](repeating: .nan, count: files.count)
        var firstClose = [Double](repeating: .nan, count: files.count)
        var prices: [String: [BacktestResult.PricePoint]] = [:]
        var decisions: [BacktestResult.DecisionRecord] = []
        /// Per decision, its file and row (to score it later).
        var decisionRows: [(file: Int, row: Int)] = []
        var equity: [BacktestResult.EquityPoint] = []
        var accuracy: [BacktestResult.AccuracyPoint] = []
        var lastAccuracy: [String: Int] = [:]
        var peak = settings.capital * Double(files.count)
        var strategyErrors = 0
        var strategyName = ""
        var done = 0
        var pendingTime: Date?

        func recordEquity(at time: Date) {
            var total = 0.0, hold = 0.0, inMarket = 0
            for (index, account) in accounts.enumerated() {
                let close = lastClose[index]
                total += close.isFinite ? account.equity(at: close) : settings.capital
                hold += close.isFinite && firstClose[index].isFinite && firstClose[index] > 0
                    ? settings.capital * close / firstClose[index] : settings.capital
                inMarket += account.inMarket ? 1 : 0
            }
            peak = max(peak, total)
            equity.append(
                BacktestResult.EquityPoint(
                    time: time, equity: total, drawdown: peak > 0 ? total / peak - 1 : 0, buyAndHold: hold,
                    exposure: Double(inMarket) / Double(max(1, accounts.count))))
        }

        try await drive(
            events,
            visit: { event, point, features, decision, signal, strategy in
                done += 1
                if done % 256 == 0 { progress?(done, events.count) }
                strategyName = strategy.name
                guard inRange(point.time) else { return }
                if let pendingTime, pendingTime != point.time { recordEquity(at: pendingTime) }
                pendingTime = point.time
                let f = event.file
                if !firstClose[f].isFinite { firstClose[f] = point.close }
                lastClose[f] = point.close
                prices[files[f].symbol, default: []].append(point)
                accounts[f].open(bar: point)
                accounts[f].close(bar: point)
                if features != nil, decision == nil { strategyErrors += 1 }
                guard let decision, let signal else { return }
                let predicted: Int
                if let p = decision.probabilities {
                    predicted = Direction.mostLikely([p.down, p.flat, p.up])
                } else {
                    predicted = signal.action == .buy ? Direction.up.rawValue : signal.action == .sell ? Direction.down.rawValue : Direction.flat.rawValue
                }
                decisions.append(
                    BacktestResult.DecisionRecord(
                        symbol: signal.ticker, time: point.time, close: point.close, action: signal.action.rawValue,
                        confidence: signal.confidence, predicted: predicted, realized: nil, previous: nil,
                        probabilities: decision.probabilities.map { [$0.down, $0.flat, $0.up] }))
                decisionRows.append((f, event.row))
                var shares = signal.shares
                var stop = signal.stopLoss
                if settings.positionFraction > 0, point.close > 0 {
                    shares = accounts[f].equity(at: point.close) * settings.positionFraction / point.close
                    if stop <= 0 { stop = 0 }
                }
                accounts[f].signal(action: signal.action.rawValue, shares: shares, stop: stop, confidence: signal.confidence, bar: point)
                if let ensemble = (strategy as? EnsembleStrategy) ?? (strategy as? WindowedStrategy)?.ensemble(at: point.time) {
                    for (model, entry) in ensemble.liveAccuracy where lastAccuracy[model] != entry.outcomes {
                        lastAccuracy[model] = entry.outcomes
                        accuracy.append(BacktestResult.AccuracyPoint(time: point.time, model: model, accuracy: entry.accuracy, outcomes: entry.outcomes))
                    }
                }
            },
            sizing: { event, point in
                let account = accounts[event.file]
                return PositionSizing(
                    capital: max(account.equity(at: point.close), 1e-9), riskPerTrade: settings.riskPerTrade,
                    atrStopMultiple: settings.atrStopMultiple, maxPositionFraction: settings.maxPositionFraction)
            })
        progress?(events.count, events.count)
        for (index, file) in files.enumerated() {
            if let last = prices[file.symbol]?.last { accounts[index].finish(bar: last) }
        }
        if let pendingTime { recordEquity(at: pendingTime) }

        // Outcomes: the realized direction `horizon` bars on, and over the `horizon` bars before.
        for (k, (f, r)) in decisionRows.enumerated() {
            let rows = files[f].rows
            if r + horizon < rows.count {
                decisions[k].realized = Direction(
                    forwardReturn: Direction.logReturn(from: rows[r].bar.close, to: rows[r + horizon].bar.close), deadZone: deadZone).rawValue
            }
            if r - horizon >= 0 {
                decisions[k].previous = Direction(
                    forwardReturn: Direction.logReturn(from: rows[r - horizon].bar.close, to: rows[r].bar.close), deadZone: deadZone).rawValue
            }
        }
        let trades = accounts.flatMap(\.trades).sorted { ($0.entryTime, $0.symbol) < ($1.entryTime, $1.symbol) }
        var result = BacktestResult(
            settings: settings, strategy: strategyName, models: models, horizon: horizon, deadZone: deadZone,
            files: files.map(\.path), prices: prices, trades: trades, decisions: decisions, equity: equity,
            accuracy: accuracy, summary: BacktestSummary.empty, lookahead: nil, windows: [])
        result.summary = BacktestStatistics.summarize(
            result, validationAccuracy: validationAccuracy, strategyErrors: strategyErrors, trainedThrough: trainedThrough)
        return result
    }

    // MARK: Causality

    /// Reruns the pipeline on the history cut at `cuts` random points (seeded) and compares,
    /// bit for bit, every feature and decision before each cut with the full run's. A
    /// pipeline that looks ahead (a feature or decision that uses a later bar) differs.
    public func checkLookahead(cuts: Int, progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> LookaheadReport {
        let events = events()
        guard events.count >= 3 else { return LookaheadReport(cuts: [], comparisons: 0, differences: []) }
        let full = try await traces(events)
        var random = SplitMix64(seed: settings.seed ^ 0x6C6F_6F6B_6168_6561)
        var points = Set<Int>()
        let wanted = min(max(cuts, 1), events.count - 2)
        var attempts = 0
        while points.count < wanted && attempts < 10_000 {
            attempts += 1
            points.insert(1 + Int(random.next() % UInt64(events.count - 2)))
        }
        var differences: [String] = []
        var comparisons = 0
        for (n, cut) in points.sorted().enumerated() {
            progress?(n, points.count)
            let partial = try await traces(Array(events.prefix(cut)))
            for index in 0..<cut {
                comparisons += 1
                guard partial[index] != full[index] else { continue }
                let event = events[index]
                let file = files[event.file]
                let what = partial[index].features != full[index].features ? "features" : "decision"
                differences.append(
                    "\(file.symbol) \(file.rows[event.row].timestamp): the \(what) differs when the history ends at bar \(cut) (a later bar changed it)")
                break
            }
            if differences.count >= 10 { break }
        }
        progress?(points.count, points.count)
        return LookaheadReport(cuts: points.sorted(), comparisons: comparisons, differences: differences)
    }

    /// Each event's features and decision, as bit patterns.
    func traces(_ events: [Event]) async throws -> [Trace] {
        var traces: [Trace] = []
        traces.reserveCapacity(events.count)
        try await drive(
            events,
            visit: { _, _, features, decision, _, _ in
                var bits: [UInt64] = []
                if let decision {
                    bits.append(UInt64(Action.allCases.firstIndex(of: decision.action) ?? 0))
                    bits.append(decision.confidence.bitPattern)
                    if let p = decision.probabilities { bits += [p.down.bitPattern, p.flat.bitPattern, p.up.bitPattern] }
                }
                traces.append(Trace(features: features?.values.map(\.bitPattern) ?? [], decision: bits))
            },
            sizing: { _, _ in PositionSizing(capital: settings.capital) })
        return traces
    }
}

/// SplitMix64: a small seeded generator, the same numbers on every machine.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in 0..<bound (bound > 0).
    mutating func below(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(next() % UInt64(bound)) }
}

// MARK: The trained models

extension Backtest {
    /// What a backtest needs to know of a model directory: a strategy factory (a fresh
    /// ``Tickwire/EnsembleStrategy`` per run), the models' horizon and dead zone, their names
    /// and validation accuracies.
    public struct Ensemble: Sendable {
        public var makeStrategy: @Sendable () throws -> any Strategy
        public var horizon: Int
        public var deadZone: Double
        public var models: [String]
        public var validationAccuracy: [String: Double]
        /// The latest `training.to` of the model files (nil for files that do not say).
        public var trainedThrough: Date?
    }

    /// Loads the models of `directory` once to check them and learn their horizon and dead
    /// zone; `method` is a config name such as `dynamic_ensemble`.
    public static func ensemble(
        modelDirectory directory: String, method name: String, weights: [String: Double], horizon: Int,
        accuracyDecay: Double
    ) throws -> Ensemble {
        guard let method = Tickwire.EnsembleMethod(name: name) else {
            throw BacktestError(
                "--method: unknown ensemble method '\(name)' (known: \(Tickwire.EnsembleMethod.all.map(\.name).joined(separator: ", ")))")
        }
        let live = try ModelDirectory.load(directory, horizon: horizon)
        guard let first = live.first else {
            throw BacktestError("--models \(directory): no model files; train some with `tickwire train --out \(directory)`")
        }
        return Ensemble(
            makeStrategy: {
                try EnsembleStrategy(
                    modelDirectory: directory, method: method, weights: weights, horizon: horizon, accuracyDecay: accuracyDecay)
            },
            horizon: first.horizon, deadZone: first.deadZone, models: live.map { "\($0.name)@\($0.version)" },
            validationAccuracy: Dictionary(live.map { ($0.name, $0.validationAccuracy) }, uniquingKeysWith: { a, _ in a }),
            trainedThrough: trainingEnd(directory))
    }

    /// The latest `training.to` among the model files of `directory`: an ISO 8601 time, or a
    /// day (YYYY-MM-DD, the whole day).
    static func trainingEnd(_ directory: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .gmt
        formatter.dateFormat = "yyyy-MM-dd"
        let precise = ISO8601DateFormatter()
        precise.formatOptions = [.withInternetDateTime]
        var latest: Date?
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasSuffix(".json") && name != "report.json" {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                let size = (attributes[.size] as? NSNumber)?.intValue, size < 256 << 20,
                let data = FileManager.default.contents(atPath: path),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let training = object["training"] as? [String: Any], let to = training["to"] as? String
            else { continue }
            let end: Date
            if to.count > 10, let instant = precise.date(from: to) {
                end = instant
            } else if let day = formatter.date(from: String(to.prefix(10))) {
                // A day: the whole of it.
                end = day.addingTimeInterval(86_399)
            } else {
                continue
            }
            latest = max(latest ?? end, end)
        }
        return latest
    }
}
