import Foundation
import TestSupport
import Testing

/// Training and the signal generator as processes: quick models trained on simulated history,
/// then signals in a running stack, live weights that move and survive a restart, and a model
/// from another feature schema refused.
@Suite("Signals end to end", .serialized, .timeLimit(.minutes(4)))
struct SignalTests {
    /// Trains small rf and logreg models on simulated 1 s bars into a fresh directory.
    func trainQuickModels(_ directory: TemporaryDirectory, horizon: Int = 3) async throws -> String {
        let history = try RunningProcess(
            "tickwire",
            arguments: ["history", "--provider", "simulated", "--symbol", "AAPL", "--interval", "1s", "--bars", "1500",
                        "--output", directory.file("AAPL.csv")],
            environment: [:])
        #expect(await history.wait(seconds: 60) == 0, "\(history.stderr)")
        let models = directory.file("models")
        let train = try RunningProcess(
            "tickwire",
            arguments: ["train", "--data", directory.file("AAPL.csv"), "--out", models, "--models", "rf,logreg",
                        "--trees", "15", "--folds", "2", "--horizon", String(horizon),
                        "--export-dataset", directory.file("dataset.csv")],
            environment: [:])
        #expect(await train.wait(seconds: 120) == 0, "\(train.stderr)")
        #expect(train.stdout.contains("baseline majority_class") && train.stdout.contains("ensemble simple_average"), "\(train.stdout)")
        #expect(FileManager.default.fileExists(atPath: models + "/rf.json"))
        #expect(FileManager.default.fileExists(atPath: models + "/report.json"))
        return models
    }

    @Test("signals flow; live weights move as outcomes arrive and survive a restart")
    func signalsAndWeights() async throws {
        let directory = try TemporaryDirectory()
        let models = try await trainQuickModels(directory)
        let state = directory.file("state.json")
        let bus = try TestBus()
        let config = try writeConfig(#"""
            {
                "tickers": ["AAPL"],
                "signal_threshold": 0.4,
                "ensemble_method": "dynamic_ensemble",
                "simulator": { "trades_per_second": 30, "backfill_bars": 150 },
                "processor": { "bar_interval_seconds": 1, "late_tolerance_seconds": 0.1 },
                "models": { "directory": "\#(models)", "state_file": "\#(state)", "horizon": 3 },
                "signals": { "cooldown_seconds": 0.5 },
                "heartbeat": { "interval_seconds": 1 }
            }
            """#)
        let proxy = try await startProxy(bus)
        let tap = try RunningProcess("bus-tap", arguments: ["signal.", "--duration", "60"], environment: bus.environment)
        try await Task.sleep(for: .seconds(1.5))
        var generator = try RunningProcess("signal-generator", arguments: ["--config", config], environment: bus.environment)
        let ingestor = try RunningProcess("ingestor", arguments: ["--config", config], environment: bus.environment)
        let processor = try RunningProcess("processor", arguments: ["--config", config], environment: bus.environment)
        defer { tap.signal(SIGKILL) }

        let enough = await tap.waitForOutput(seconds: 40) { jsonLines($0).filter { $0["signal"] != nil }.count >= 12 }
        #expect(enough, "signals: \(jsonLines(tap.stdout).count)\n\(generator.stderr)\n\(processor.stderr)")
        #expect(await generator.stop() == 0, "\(generator.stderr)")
        let signals = jsonLines(tap.stdout).compactMap { $0["signal"] as? [String: Any] }
        let first = try #require(signals.first)
        #expect(first["symbol"] as? String == "AAPL")
        #expect((first["id"] as? String)?.hasPrefix("AAPL-") == true)
        #expect((first["schema_hash"] as? String)?.count == 16)
        #expect((first["votes"] as? [[String: Any]])?.count == 2)
        // Outcomes arrive 3 bars after each prediction: the live accuracies move.
        func accuracies(_ signal: [String: Any]) -> [Double] {
            (signal["votes"] as? [[String: Any]] ?? []).map { ($0["live_accuracy"] as? Double) ?? 0 }
        }
        #expect(Set(signals.map(accuracies).map { "\($0)" }).count > 1, "live accuracies never changed")
        for signal in signals where (signal["action"] as? String) != "ACTION_HOLD" {
            #expect((signal["stop_loss"] as? Double ?? 0) > 0 && (signal["shares"] as? Double ?? 0) > 0, "\(signal)")
        }
        // The state survives a restart: the saved accuracies are where the new process starts.
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: state))) as? [String: Any]
        let savedModels = saved?["models"] as? [String: [String: Any]] ?? [:]
        #expect((savedModels["rf"]?["outcomes"] as? Int ?? 0) > 0, "\(saved ?? [:])")
        let before = jsonLines(tap.stdout).count
        generator = try RunningProcess("signal-generator", arguments: ["--config", config], environment: bus.environment)
        #expect(await tap.waitForOutput(seconds: 20) { jsonLines($0).count > before }, "\(generator.stderr)")
        let restarted = try #require(jsonLines(tap.stdout).dropFirst(before).compactMap { $0["signal"] as? [String: Any] }.first)
        let savedRF = savedModels["rf"]?["outcomes"] as? Int ?? 0
        let votes = restarted["votes"] as? [[String: Any]] ?? []
        let rfAccuracy = votes.first { $0["model"] as? String == "rf" }?["live_accuracy"] as? Double
        #expect(rfAccuracy != nil && savedRF > 0, "restarted signal: \(restarted)")
        for process in [generator, processor, ingestor] { #expect(await process.stop() == 0, "\(process.name): \(process.stderr)") }
        await proxy.stop()
    }

    @Test("a model file trained on another feature schema is refused, naming both hashes")
    func wrongSchema() async throws {
        let directory = try TemporaryDirectory()
        let models = try await trainQuickModels(directory)
        let path = models + "/rf.json"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        let hash = try #require(text.range(of: #""schema_hash" : "[0-9a-f]{16}""#, options: .regularExpression))
        text.replaceSubrange(hash, with: #""schema_hash" : "0123456789abcdef""#)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try writeConfig(#"{"models": {"directory": "\#(models)"}}"#)
        let bus = try TestBus()
        let generator = try RunningProcess("signal-generator", arguments: ["--config", config], environment: bus.environment)
        let status = await generator.wait(seconds: 20)
        #expect(status != 0 && status != nil)
        #expect(generator.stderr.contains("0123456789abcdef"), "\(generator.stderr)")
        #expect(generator.stderr.contains("rf.json"), "\(generator.stderr)")
    }

    @Test("no signal outside the allowed session; SIGHUP reloads the models without a restart")
    func sessionsAndReload() async throws {
        let directory = try TemporaryDirectory()
        let models = try await trainQuickModels(directory)
        let bus = try TestBus()
        var environment = bus.environment
        environment["TICKWIRE_SESSION_DEFAULT"] = nil
        // About 13 s of regular session on the simulated clock, then after-hours (closed for
        // signals without extended hours). (5 s was too short to be sure of a signal: a fresh
        // run saw none in it.)
        let config = try writeConfig(#"""
            {
                "tickers": ["AAPL"],
                "signal_threshold": 0.4,
                "simulator": { "trades_per_second": 30, "backfill_bars": 150 },
                "processor": { "bar_interval_seconds": 1, "late_tolerance_seconds": 0.1 },
                "models": { "directory": "\#(models)", "state_file": "\#(directory.file("state.json"))", "horizon": 3 },
                "signals": { "cooldown_seconds": 0.2 },
                "ingestor": { "session_default": "closed" },
                "scheduler": { "simulated_start": "2025-03-14T15:59:47-04:00", "status_interval_seconds": 0.5 }
            }
            """#)
        let proxy = try await startProxy(bus)
        let tap = try RunningProcess("bus-tap", arguments: ["signal.", "market.session", "--duration", "24"], environment: environment)
        try await Task.sleep(for: .seconds(1.5))
        let scheduler = try RunningProcess("scheduler", arguments: ["--config", config], environment: environment)
        let generator = try RunningProcess("signal-generator", arguments: ["--config", config], environment: environment)
        let ingestor = try RunningProcess("ingestor", arguments: ["--config", config], environment: environment)
        let processor = try RunningProcess("processor", arguments: ["--config", config], environment: environment)
        try await Task.sleep(for: .seconds(8))
        generator.signal(SIGHUP)
        let reloaded = await generator.waitForOutput(seconds: 5) { $0.contains("reloaded 2 models (SIGHUP)") }
        #expect(reloaded, "\(generator.stderr)")
        _ = await tap.wait(seconds: 28)
        for process in [generator, processor, ingestor, scheduler] { #expect(await process.stop() == 0, "\(process.name): \(process.stderr)") }
        await proxy.stop()

        let lines = jsonLines(tap.stdout)
        let close = try #require(lines.first { line in
            (line["session"] as? [String: Any])?["phase"] as? String == "SESSION_PHASE_POST_MARKET"
                && (line["session"] as? [String: Any])?["changed"] as? Bool == true
        }?["publish_time_ns"] as? Int, "no close seen")
        let signalTimes = lines.filter { $0["signal"] != nil }.compactMap { $0["publish_time_ns"] as? Int }
        #expect(!signalTimes.isEmpty, "no signal during the session: \(generator.stderr)")
        // The close reaches the generator within a few milliseconds; allow a bar's processing.
        #expect(signalTimes.allSatisfy { $0 < close + 300_000_000 }, "signals after the close")
        #expect(generator.stderr.contains("signals off until the session allows them"))
    }

    @Test("tickwire history downloads Alpha Vantage bars with the ingestor's client, ready for train")
    func historyFromAlphaVantage() async throws {
        let server = try await startAlphaVantage(mode: .normal)
        let directory = try TemporaryDirectory()
        let output = directory.file("AAPL.csv")
        let history = try RunningProcess(
            "tickwire",
            arguments: ["history", "--provider", "alphavantage", "--symbol", "AAPL", "--interval", "1min", "--api-key", "K",
                        "--provider-url", "http://127.0.0.1:\(server.port)/query", "--output", output],
            environment: [:])
        let status = await history.wait(seconds: 30)
        await server.stop()
        #expect(status == 0, "\(history.stderr)")
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "timestamp,open,high,low,close,volume")
        #expect(lines.count == 101, "the fixture has 100 bars: \(lines.count - 1)")
        // The fixture's oldest bar: 2025-03-14 10:03 US/Eastern.
        #expect(lines[1].hasPrefix("2025-03-14T10:03:00-04:00,"), "\(lines[1])")
        let bad = try RunningProcess(
            "tickwire", arguments: ["history", "--provider", "alphavantage", "--symbol", "AAPL", "--interval", "2min"], environment: [:])
        #expect(await bad.wait(seconds: 20) != 0)
        #expect(bad.stderr.contains("1min, 5min, 15min, 30min or 60min"), "\(bad.stderr)")
    }
}

