import Backtesting
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The report in a real browser: `Tests/python/report_check.py` opens it in Debian's
/// chromium-headless-shell through playwright, with every request but the file itself blocked
/// and recorded, and checks the charts, the markers and the console.
///
/// Set `TICKWIRE_REPORT_ARTIFACTS` to a directory to keep the report and its screenshot there.
@Suite("Backtest report in a browser")
struct ReportBrowserTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var python: String {
        if let python = ProcessInfo.processInfo.environment["TICKWIRE_PYTHON"], !python.isEmpty { return python }
        return packageRoot.appendingPathComponent(".venv/bin/python").path
    }

    @Test("the report opens in chromium without a request or a console error; charts visible, BUY and SELL marked")
    func report() async throws {
        guard Chromium.executable != nil else {
            Issue.record("""
                no chromium-headless-shell (looked in /usr/lib/chromium and /usr/bin, or TICKWIRE_CHROMIUM): \
                run `make deps` (as root: apt-get install -y chromium-headless-shell)
                """)
            return
        }
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            Issue.record("no Python at \(Self.python): set TICKWIRE_PYTHON or run `make deps` (it installs playwright into .venv)")
            return
        }
        let directory = try TemporaryDirectory("tickwire-report")
        let keep = ProcessInfo.processInfo.environment["TICKWIRE_REPORT_ARTIFACTS"].flatMap { $0.isEmpty ? nil : $0 }
        let base = keep ?? directory.path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let reportPath = (base as NSString).appendingPathComponent("report.html")
        let screenshotPath = (base as NSString).appendingPathComponent("report.png")
        var result = SyntheticResult.make(bars: 1_500, symbols: ["AAPL", "A<B&\"C\""])
        result.files.append("data/<odd> & 'name'.csv")
        try Data(BacktestReport.html(result).utf8).write(to: URL(fileURLWithPath: reportPath))

        let script = Self.packageRoot.appendingPathComponent("Tests/python/report_check.py").path
        let run = try await Self.run([Self.python, script, reportPath, screenshotPath], timeout: 120)
        let json = run.output.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? ""
        #expect(run.status == 0, "report_check.py \(run.how): \(run.output)")
        guard run.status == 0 else { return }
        let found = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(found?["ok"] as? Bool == true, "report_check.py: \(json)")
        let charts = found?["charts"] as? [String: Any] ?? [:]
        for id in ["chart-price-AAPL", "chart-price-A_B__C_", "chart-equity", "chart-reliability", "chart-accuracy"] {
            #expect(charts[id] != nil, "the browser did not see \(id): \(json)")
        }
        #expect(FileManager.default.fileExists(atPath: screenshotPath))
    }

    /// The script's exit status (-1 when killed by a signal) and its stdout and stderr.
    struct Run {
        var status: Int32
        var how: String
        var output: String
    }

    /// Runs `command` with stdout and stderr in a file and waits at most `timeout` seconds
    /// (then kills its process group, which holds the browser too). Spawned with `posix_spawn`
    /// and reaped with `waitpid`, through a shell that first closes every inherited descriptor
    /// above 2, so neither this test nor another test's concurrently spawned child is kept
    /// "running" by a descriptor the other inherited (see ThrowawayPostgres.run).
    static func run(_ command: [String], timeout: Double) async throws -> Run {
        let outputPath = NSTemporaryDirectory() + "/tickwire-report-check-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let closeInheritedThenExec = """
            for path in /proc/$$/fd/*; do fd=${path##*/}; if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi; done 2>/dev/null
            exec "$@"
            """
        let argv = ["/bin/bash", "-c", closeInheritedThenExec, "bash"] + command
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, environ)
        guard spawned == 0 else { throw TimeoutError(seconds: 0, what: "starting \(argv[0]) (error \(spawned))") }

        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(timeout))
        var status: Int32 = 0
        var interval = Duration.milliseconds(5)
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped == -1, errno != EINTR {
                return Run(status: -1, how: "waitpid failed: errno \(errno)", output: "")
            }
            // A cancelled test stops waiting too (Task.sleep returns at once when cancelled).
            if clock.now >= deadline || Task.isCancelled {
                kill(-pid, SIGTERM)
                usleep(500_000)
                kill(-pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
                throw TimeoutError(seconds: timeout, what: "report_check.py (output so far: \(output))")
            }
            try? await Task.sleep(for: interval)
            interval = min(interval * 2, .milliseconds(100))
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // `waitpid`'s status: the low 7 bits are the signal (0 when it exited), the next 8 the exit code.
        let signal = status & 0x7f
        let exitCode = (status >> 8) & 0xff
        return signal == 0
            ? Run(status: exitCode, how: "exited \(exitCode)", output: output)
            : Run(status: -1, how: "killed by signal \(signal)", output: output)
    }
}
