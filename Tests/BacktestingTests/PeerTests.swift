import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `tickwire backtest` against backtesting.py (PyPI `backtesting==0.6.6`,
/// Tests/python/backtesting_peer.py): the peer replays our decisions.csv with its own broker,
/// the same fill (next open or close), commission (0.1 % a side), sizing (90 % of equity in
/// whole shares at the fill, commission included), no slippage and no stops.
///
/// Tolerance (stated in the script, where it is justified): the same trade count, and final
/// equity within 1e-6 relative. Measured when this was written: exact trade counts and at
/// most 2e-14 relative on both files, both fills, long-short and long-only.
@Suite("backtesting.py as a peer: the same signals, fills and commission give the same trades and final equity")
struct PeerTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `TICKWIRE_BIN_DIR` (set by `make test`) or `.build/debug`.
    static var tickwire: String {
        let directory = ProcessInfo.processInfo.environment["TICKWIRE_BIN_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? packageRoot.appendingPathComponent(".build/debug").path
        return (directory as NSString).appendingPathComponent("tickwire")
    }

    /// `TICKWIRE_PYTHON` (set by `make test`) or `<package root>/.venv/bin/python`.
    static var python: String {
        if let python = ProcessInfo.processInfo.environment["TICKWIRE_PYTHON"], !python.isEmpty { return python }
        return packageRoot.appendingPathComponent(".venv/bin/python").path
    }

    static func fixture(_ name: String) -> String {
        packageRoot.appendingPathComponent("Tests/IndicatorsTests/Fixtures/\(name)").path
    }

    static let commission = 0.001
    static let positionSize = 0.9
    /// Low enough that the logreg model trades tens of times on either file.
    static let threshold = 0.36

    /// One backtest compared with the peer.
    struct Run: Sendable, CustomStringConvertible {
        var symbol: String
        var fill: String
        var longOnly: Bool
        var description: String { "\(symbol) \(fill)\(longOnly ? " long-only" : " long-short")" }
    }

    @Test(
        "NVDA and ORCL daily bars (real), next_open and close fills, long-short and long-only: trade count equal, final equity within 1e-6",
        .timeLimit(.minutes(5)))
    func agreesWithBacktestingPy() async throws {
        let tickwire = Self.tickwire, python = Self.python
        try #require(
            FileManager.default.isExecutableFile(atPath: tickwire),
            "\(tickwire) is missing: run 'swift build --product tickwire' (or make test) first")
        try #require(
            FileManager.default.isExecutableFile(atPath: python),
            "\(python) is missing: run 'make deps' (the .venv with Tests/python/requirements.txt, backtesting==0.6.6)")
        let script = Self.packageRoot.appendingPathComponent("Tests/python/backtesting_peer.py").path
        let work = NSTemporaryDirectory() + "tickwire-peer-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        // The ticker is the file name.
        for (symbol, name) in [("NVDA", "nvda-daily.csv"), ("ORCL", "orcl-daily.csv")] {
            try FileManager.default.copyItem(atPath: Self.fixture(name), toPath: "\(work)/\(symbol).csv")
        }
        // The peer must import: a missing package fails here with pip's name for it.
        _ = try await Self.run(
            python, ["-c", "import backtesting, pandas; assert backtesting.__version__ == '0.6.6', backtesting.__version__"],
            timeout: 60, in: work, what: "the backtesting==0.6.6 import (make deps installs Tests/python/requirements.txt)")

        let models = "\(work)/models"
        _ = try await Self.run(
            tickwire, ["train", "--data", "\(work)/NVDA.csv", "--out", models, "--models", "logreg", "--folds", "2"],
            timeout: 180, in: work)

        // NVDA's long-short runs stay solvent; ORCL's goes to zero (a short through a rally),
        // which the peer must see at the same bar after the same trades.
        let runs = [
            Run(symbol: "NVDA", fill: "next_open", longOnly: false), Run(symbol: "NVDA", fill: "close", longOnly: false),
            Run(symbol: "NVDA", fill: "next_open", longOnly: true), Run(symbol: "ORCL", fill: "next_open", longOnly: true),
            Run(symbol: "ORCL", fill: "close", longOnly: true), Run(symbol: "ORCL", fill: "next_open", longOnly: false),
        ]
        // Two at a time (the test machine has two cores).
        var reports: [(Run, [String: Any])] = []
        for pair in stride(from: 0, to: runs.count, by: 2).map({ Array(runs[$0..<min($0 + 2, runs.count)]) }) {
            let done = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for (index, run) in pair.enumerated() {
                    group.addTask { (index, try await Self.compare(run, work: work, models: models, script: script)) }
                }
                var outputs = [String](repeating: "", count: pair.count)
                for try await (index, output) in group { outputs[index] = output }
                return outputs
            }
            for (run, output) in zip(pair, done) {
                let line = output.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? ""
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    Issue.record("\(run): the peer printed no JSON line: \(output)")
                    continue
                }
                reports.append((run, object))
            }
        }
        #expect(reports.count == runs.count)

        var solvent: Set<String> = []
        for (run, report) in reports {
            let trades = report["trades"] as? [String: Any] ?? [:]
            let equity = report["final_equity"] as? [String: Any] ?? [:]
            let ruined = report["ruined"] as? [String: Any] ?? [:]
            let ours = trades["ours"] as? Int ?? -1, peer = trades["peer"] as? Int ?? -1
            print(
                "peer \(run): trades \(ours) vs \(peer); final equity \(equity["ours"] ?? "?") vs \(equity["peer"] ?? "?") "
                    + "(relative \(equity["relative_difference"] ?? "?")); ruined \(ruined["ours"] ?? "?") / \(ruined["peer"] ?? "?")")
            // The script exits 1 outside its tolerance (compare() fails then); check its verdict anyway.
            #expect(report["agree"] as? Bool == true, "\(run): \(report)")
            #expect(ours == peer, "\(run): \(ours) trades, backtesting.py \(peer)")
            #expect(ours >= 10, "\(run): only \(ours) trades; too few for the comparison to mean much (lower the threshold)")
            if ruined["ours"] is NSNull, ruined["peer"] is NSNull {
                solvent.insert(run.symbol)
                let relative = equity["relative_difference"] as? Double ?? .infinity
                #expect(relative <= 1e-6, "\(run): final equity differs by \(relative) relative")
            }
        }
        // Final equity itself is compared on both files.
        #expect(solvent == ["NVDA", "ORCL"], "final equity compared on \(solvent.sorted()) only")
    }

    @Test("`tickwire backtest --retrain-every` from the command line: a row per window in summary.json and the report, models in OUT/windows", .timeLimit(.minutes(5)))
    func walkForwardCommand() async throws {
        let tickwire = Self.tickwire
        try #require(FileManager.default.isExecutableFile(atPath: tickwire), "\(tickwire) is missing: run 'swift build --product tickwire' first")
        let work = NSTemporaryDirectory() + "tickwire-walkforward-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.copyItem(atPath: Self.fixture("nvda-daily.csv"), toPath: "\(work)/NVDA.csv")
        let models = "\(work)/models", out = "\(work)/out"
        _ = try await Self.run(
            tickwire, ["train", "--data", "\(work)/NVDA.csv", "--out", models, "--models", "logreg", "--folds", "2"], timeout: 180, in: work)
        _ = try await Self.run(
            tickwire,
            ["backtest", "--data", "\(work)/NVDA.csv", "--models", models, "--out", out, "--retrain-every", "1500",
             "--retrain-folds", "2", "--from", "2004-01-02", "--bootstrap", "100"],
            timeout: 240, in: work)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/summary.json"))) as? [String: Any]
        let windows = summary?["windows"] as? [[String: Any]] ?? []
        // 2004-01-02 to 2014-12-31 is about 2,770 bars: two windows.
        #expect(windows.count == 2, "\(windows)")
        #expect(windows.first?["from"] as? String == "2004-01-02")
        #expect(windows.first?["trained_through"] as? String == "2003-12-31")
        #expect(summary?["in_sample_decisions"] as? Int == 0, "walk-forward decisions are all out of sample")
        for index in 1...2 {
            #expect(FileManager.default.fileExists(atPath: String(format: "%@/windows/window-%03d/logreg.json", out, index)))
        }
        let report = try String(contentsOfFile: "\(out)/report.html", encoding: .utf8)
        #expect(report.contains("table-windows"))
    }

    /// Backtests `run` and checks it with the peer; returns the peer's output.
    static func compare(_ run: Run, work: String, models: String, script: String) async throws -> String {
        let bars = "\(work)/\(run.symbol).csv"
        let out = "\(work)/\(run.symbol)-\(run.fill)-\(run.longOnly ? "long" : "both")"
        let shared = ["--commission", "\(commission)", "--position-size", "\(positionSize)", "--fill", run.fill]
            + (run.longOnly ? ["--long-only"] : [])
        _ = try await Self.run(
            tickwire,
            ["backtest", "--data", bars, "--models", models, "--out", out, "--threshold", "\(threshold)", "--whole-shares",
             "--no-stops", "--slippage", "0", "--bootstrap", "100"] + shared,
            timeout: 120, in: work)
        return try await Self.run(python, [script, "--bars", bars, "--out", out] + shared, timeout: 120, in: work)
    }

    // MARK: Processes (posix_spawn and waitpid, as TestSupport's ThrowawayPostgres does)

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs `executable` (its output files in `directory`) with standard output and error captured, killing its
    /// process group after `timeout` seconds; returns standard output, throws on a failure
    /// with both outputs.
    static func run(
        _ executable: String, _ arguments: [String], timeout: Double, in directory: String, what: String? = nil
    ) async throws -> String {
        let base = (directory as NSString).appendingPathComponent("run-\(UUID().uuidString)")
        let outPath = base + ".out", errPath = base + ".err"
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let name = (executable as NSString).lastPathComponent
        let command = [executable] + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let started = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard started == 0 else {
            throw Failure("cannot start \(executable) (\(what ?? name)): \(String(cString: strerror(started)))")
        }

        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(timeout))
        var interval = Duration.milliseconds(5)
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped == -1, errno != EINTR { throw Failure("waitpid for \(name) failed: errno \(errno)") }
            if clock.now >= deadline {
                kill(-pid, SIGTERM)
                await pause(.milliseconds(500))
                kill(-pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw Failure("\(name) \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
            }
            await pause(interval)
            interval = min(interval * 2, .milliseconds(100))
        }
        let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        // `waitpid`'s status: the low 7 bits are the signal (0 when it exited), the next 8 the exit code.
        let signal = status & 0x7f
        let exitCode = (status >> 8) & 0xff
        guard signal == 0, exitCode == 0 else {
            let how = signal == 0 ? "status \(exitCode)" : "signal \(signal)"
            throw Failure(
                "\(what ?? name) failed (\(how)): \(executable) \(arguments.joined(separator: " "))\n\(output)\n\(errors.suffix(4_000))")
        }
        return output
    }

    /// Waits `duration` even in a cancelled task (`Task.sleep` would return at once).
    static func pause(_ duration: Duration) async {
        let nanoseconds = Int(duration.components.seconds) * 1_000_000_000 + Int(duration.components.attoseconds / 1_000_000_000)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { continuation.resume() }
        }
    }
}
