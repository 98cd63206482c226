@testable import Backtesting
import Foundation
import Indicators
import Synchronization
import Testing
import Tickwire

/// The repository's real NVIDIA daily bars (Tests/IndicatorsTests/Fixtures).
private let nvda: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("IndicatorsTests/Fixtures/nvda-daily.csv").path
}()

private let newYork = TimeZone(identifier: "America/New_York") ?? .gmt

/// RSI rules: oversold buys, overbought sells.
private let rsiRules: @Sendable () throws -> any Strategy = {
    RuleStrategy(name: "rsi") { features, _ in
        guard let rsi = features["rsi_14"] else { return .hold() }
        if rsi < 0.35 { return Decision(action: .buy, confidence: 0.9) }
        if rsi > 0.65 { return Decision(action: .sell, confidence: 0.9) }
        return .hold()
    }
}

private func backtest(_ make: @escaping @Sendable () throws -> any Strategy = rsiRules) throws -> Backtest {
    let files = try Backtest.read(paths: [nvda], timeZone: newYork)
    var settings = BacktestSettings()
    settings.bootstrapResamples = 200
    return Backtest(
        files: files, settings: settings, barInterval: try Backtest.barInterval(of: files), timeZone: newYork, horizon: 5,
        deadZone: 0.01, makeStrategy: make)
}

/// How many strategies have been made, process-wide: a strategy that reads it depends on
/// something other than the bars it has seen.
private let made = Atomic<Int>(0)

@Suite("Backtest runs through the library's pipeline")
struct BacktestRunTests {
    @Test("real daily bars: trades, equity, decisions with outcomes; the books balance")
    func realBars() async throws {
        let run = try await backtest().run()
        #expect(run.files.count == 1)
        #expect(run.strategy == "rsi")
        #expect(!run.trades.isEmpty)
        #expect(run.decisions.count > 100)
        #expect(run.decisions.allSatisfy { $0.action != "HOLD" || $0.confidence >= 0 })
        #expect(run.decisions.dropLast(5).allSatisfy { $0.realized != nil }, "every decision but the last horizon is scored")
        #expect(run.decisions.suffix(5).allSatisfy { $0.realized == nil })
        let equity = try #require(run.equity.last)
        let profit = run.trades.reduce(0) { $0 + $1.profit }
        #expect(abs(equity.equity - (run.settings.capital + profit)) < 1e-6 * run.settings.capital, "equity = capital + the trades' profits")
        #expect(run.summary.trades == run.trades.count)
        #expect(run.summary.totalReturn.low <= run.summary.totalReturn.high)
        #expect(run.equity.map(\.time) == run.equity.map(\.time).sorted())
    }

    @Test("--from: earlier bars warm up but do not trade")
    func from() async throws {
        var test = try backtest()
        let start = try #require(test.files.first?.rows[300].bar.time)
        test.settings.from = Date(timeIntervalSince1970: Double(start) / 1e9)
        let run = try await test.run()
        let first = try #require(run.decisions.first)
        #expect(first.time == test.settings.from)
        #expect(run.trades.allSatisfy { $0.entryTime >= first.time })
    }

    @Test("the lookahead check passes on the pipeline, and catches a strategy that knows more than the bars it saw")
    func lookahead() async throws {
        let honest = try await backtest().checkLookahead(cuts: 3)
        #expect(honest.passed, "\(honest.differences)")
        #expect(honest.cuts.count == 3)
        #expect(honest.comparisons > 100)

        // Each new strategy acts differently from the one before: its early decisions change
        // between the full run and a cut one, as a leak from later data would make them.
        let leaky = try backtest {
            let generation = made.add(1, ordering: .relaxed).newValue
            return RuleStrategy(name: "leaky") { features, _ in
                Decision(action: generation % 2 == 0 ? .buy : .sell, confidence: 0.9)
            }
        }
        let caught = try await leaky.checkLookahead(cuts: 2)
        #expect(!caught.passed)
        #expect(caught.differences.first?.contains("NVDA") == true, "\(caught.differences)")
    }

    @Test("bad bar files are refused naming file and line")
    func badFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("BAD.csv").path
        try "date,open,high,low,close,volume\n2020-01-02,1,2,0.5,1.5,100\n2020-01-03,1,2,0.5,nan,100\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try Backtest.read(paths: [path], timeZone: newYork)
            Issue.record("a NaN close was accepted")
        } catch {
            #expect("\(error)".contains("BAD.csv:3"), "\(error)")
        }
        #expect(throws: BacktestError.self) { try Backtest.read(paths: [nvda, nvda], timeZone: newYork) }
        #expect(throws: BacktestError.self) { try Backtest.read(paths: [], timeZone: newYork) }
    }
}
