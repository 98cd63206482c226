@testable import Backtesting
import FeatureContract
import Foundation
import Indicators
import Models
import Testing
import Tickwire

private let nvda: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("IndicatorsTests/Fixtures/nvda-daily.csv").path
}()

private let newYork = TimeZone(identifier: "America/New_York") ?? .gmt

/// A quick recipe: logistic regression only.
private let recipe = WalkForwardBacktest.Recipe(kinds: ["logreg"], hyperparameters: [:], horizon: 5, deadZone: 0.01, seed: 7)

private func scratch(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "tickwire-walkforward-\(name)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

private func day(_ text: String) -> Date? {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = newYork
    formatter.dateFormat = "yyyy-MM-dd"
    return formatter.date(from: text)
}

@Suite("Walk-forward backtests (--retrain-every)")
struct WalkForwardTests {
    @Test("windows: N bars each, back to back to the end, each trained through the bar before it")
    func windows() throws {
        let files = try Backtest.read(paths: [nvda], timeZone: newYork)
        let rows = files[0].rows
        let plan = WalkForwardBacktest(every: 700, folds: 2, recipe: recipe, directory: scratch("plan"), ensembleMethod: .simpleAverage)
        let windows = try plan.windows(files: files, from: nil, to: nil)
        #expect(windows.count == (rows.count - 700 + 699) / 700)
        #expect(windows.first?.start == rows[700].bar.time)
        #expect(windows.first?.trainedThrough == rows[699].bar.time)
        #expect(windows.last?.end == rows.last?.bar.time)
        for (a, b) in zip(windows, windows.dropFirst()) {
            let end = try #require(rows.firstIndex { $0.bar.time == a.end })
            #expect(rows[end + 1].bar.time == b.start, "no bar between two windows")
            #expect(b.trainedThrough == a.end)
        }
        #expect(windows.first?.startLabel == rows[700].timestamp)

        let from = try #require(day("2005-01-01"))
        let dated = try plan.windows(files: files, from: from, to: nil)
        let first = try #require(rows.first { Backtest.date($0.bar.time) >= from })
        #expect(dated.first?.start == first.bar.time)

        let late = try #require(day("2030-01-01"))
        #expect(throws: BacktestError.self) { try plan.windows(files: files, from: late, to: nil) }
        let early = try #require(day("1990-01-01"))
        #expect(throws: BacktestError.self, "nothing before the first window to train on") {
            try plan.windows(files: files, from: early, to: nil)
        }
    }

    @Test("each window's models see only the past: changing every later bar changes none of them")
    func onlyThePast() throws {
        let files = try Backtest.read(paths: [nvda], timeZone: newYork)
        let plan = WalkForwardBacktest(every: 1_500, folds: 2, recipe: recipe, directory: scratch("past"), ensembleMethod: .simpleAverage)
        let window = try #require(try plan.windows(files: files, from: nil, to: nil).first)
        try plan.train(window, files: files, timeZone: newYork)

        // The future, rewritten: every bar from the window's start on, doubled.
        var altered = files
        altered[0].rows = files[0].rows.map { row in
            guard row.bar.time >= window.start else { return row }
            var changed = row
            changed.bar.open *= 2
            changed.bar.high *= 2
            changed.bar.low *= 2
            changed.bar.close *= 2
            return changed
        }
        var other = plan
        other.directory = scratch("past-altered")
        let same = try #require(try other.windows(files: altered, from: nil, to: nil).first)
        try other.train(same, files: altered, timeZone: newYork)

        let a = try ModelFile.load(path: window.directory + "/logreg.json", expectedSchemaHash: FeaturePipeline.schema.hash)
        let b = try ModelFile.load(path: same.directory + "/logreg.json", expectedSchemaHash: FeaturePipeline.schema.hash)
        #expect(a.payload == b.payload, "the model trained before the window cannot depend on bars in it")
        #expect(a.training == b.training)
        #expect(a.training.to < window.startLabel, "trained through \(a.training.to), the window starts \(window.startLabel)")

        // And the doubled future does change a model trained on it (the check can fail).
        var late = plan
        late.directory = scratch("past-late")
        let second = try #require(try late.windows(files: altered, from: nil, to: nil).dropFirst().first)
        let unaltered = try #require(try plan.windows(files: files, from: nil, to: nil).dropFirst().first)
        try late.train(second, files: altered, timeZone: newYork)
        try plan.train(unaltered, files: files, timeZone: newYork)
        let c = try ModelFile.load(path: second.directory + "/logreg.json", expectedSchemaHash: FeaturePipeline.schema.hash)
        let d = try ModelFile.load(path: unaltered.directory + "/logreg.json", expectedSchemaHash: FeaturePipeline.schema.hash)
        #expect(c.payload != d.payload)
    }

    @Test("a walk-forward run trades from the first window on, one account across windows, a summary row per window")
    func run() async throws {
        let files = try Backtest.read(paths: [nvda], timeZone: newYork)
        let plan = WalkForwardBacktest(every: 1_200, folds: 2, recipe: recipe, directory: scratch("run"), ensembleMethod: .simpleAverage)
        let (windows, ensemble) = try plan.prepare(
            files: files, from: nil, to: nil, timeZone: newYork, method: "simple_average", weights: [:], accuracyDecay: 0.95)
        #expect(windows.count == 3)
        for window in windows {
            #expect(FileManager.default.fileExists(atPath: window.directory + "/logreg.json"))
        }
        var settings = BacktestSettings()
        settings.bootstrapResamples = 100
        settings.threshold = 0.4
        settings.from = Backtest.date(try #require(windows.first).start)
        let backtest = Backtest(
            files: files, settings: settings, barInterval: try Backtest.barInterval(of: files), timeZone: newYork,
            horizon: ensemble.horizon, deadZone: ensemble.deadZone, makeStrategy: ensemble.makeStrategy)
        var result = try await backtest.run()
        result.windows = WalkForwardBacktest.summaries(windows, result: result)
        #expect(result.strategy.hasPrefix("walk-forward"))
        let first = try #require(result.decisions.first)
        #expect(first.time >= Backtest.date(windows[0].start))
        #expect(result.windows.count == windows.count)
        #expect(result.windows.map(\.decisions).reduce(0, +) == result.summary.decisionsScored)
        #expect(result.windows.allSatisfy { $0.accuracy.isFinite && (0...1).contains($0.accuracy) })
        // The windows' returns compound to the whole run's.
        let compounded = result.windows.reduce(1.0) { $0 * (1 + $1.returnFraction) } - 1
        #expect(abs(compounded - result.summary.totalReturn.value) < 1e-9)
        let json = try BacktestOutput.summaryJSON(result)
        let object = try JSONSerialization.jsonObject(with: json) as? [String: Any]
        #expect((object?["windows"] as? [Any])?.count == windows.count)
    }
}
