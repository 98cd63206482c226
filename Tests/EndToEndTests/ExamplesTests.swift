import Foundation
import TestSupport
import Testing

/// Small models trained once for the suite (`tickwire history` on the simulator, then
/// `tickwire train`), for the examples' `--models`.
actor ExampleModels {
    static let shared = ExampleModels()
    private var directory: TemporaryDirectory?
    private var training: Task<String, any Error>?

    func path() async throws -> String {
        if let training { return try await training.value }
        let directory = try TemporaryDirectory("tickwire-examples")
        self.directory = directory
        let root = directory.path
        let task = Task<String, any Error> {
            let bars = root + "/AAPL.csv"
            let history = try RunningProcess(
                "tickwire",
                arguments: ["history", "--provider", "simulated", "--symbol", "AAPL", "--interval", "1s", "--bars", "1200",
                            "--output", bars],
                environment: [:])
            guard await history.wait(seconds: 60) == 0 else { throw HarnessError("tickwire history: \(history.stderr)") }
            let models = root + "/models"
            let train = try RunningProcess(
                "tickwire",
                arguments: ["train", "--data", bars, "--out", models, "--models", "rf,logreg", "--trees", "10",
                            "--folds", "2", "--horizon", "3"],
                environment: [:])
            guard await train.wait(seconds: 120) == 0 else { throw HarnessError("tickwire train: \(train.stderr)") }
            return models
        }
        training = task
        return try await task.value
    }
}

/// The custom scripts in `Examples/`, run as processes: each ends by itself, exits 0 and prints
/// its signals, with and without trained models.
@Suite("Examples (the Tickwire library)", .serialized, .timeLimit(.minutes(4)))
struct ExamplesTests {
    /// Runs `name` with `arguments`; returns its output after checking it exited 0 within `seconds`.
    func run(_ name: String, _ arguments: [String] = [], seconds: Double = 60) async throws -> String {
        let started = ContinuousClock.now
        let process = try RunningProcess(name, arguments: arguments, environment: [:])
        let status = await process.wait(seconds: seconds)
        if status == nil { process.signal(SIGKILL) }
        #expect(status == 0, "\(name) \(arguments): status \(String(describing: status))\n\(process.stdout)\n\(process.stderr)")
        #expect(ContinuousClock.now - started < .seconds(seconds))
        return process.stdout
    }

    /// Lines of `text` starting with `prefix`.
    func lines(_ text: String, _ prefix: String) -> [Substring] {
        text.split(separator: "\n").filter { $0.hasPrefix(prefix) }
    }

    @Test("the seed's custom script: signals from the callback, then a clean stop")
    func customScript() async throws {
        let output = try await run("example-custom-script", ["--signals", "6", "--seconds", "40"])
        #expect(output.contains("strategy: rsi rule"))
        let signals = lines(output, "Received signal: ")
        #expect(signals.count == 6, "\(output)")
        for signal in signals {
            let parts = signal.dropFirst("Received signal: ".count).split(separator: " - ")
            #expect(parts.count == 2 && ["AAPL", "MSFT", "GOOGL"].contains(String(parts[0])), "\(signal)")
            #expect(["BUY", "SELL", "HOLD"].contains(String(parts.last ?? "")), "\(signal)")
        }
        #expect(lines(output, "Confidence: ").count == 6 && lines(output, "Price: $").count == 6)
        #expect(output.contains("stopped after 6 signals"))
    }

    @Test("the custom script with trained models: the ensemble decides")
    func customScriptWithModels() async throws {
        let models = try await ExampleModels.shared.path()
        let output = try await run("example-custom-script", ["--models", models, "--signals", "4", "--seconds", "40"])
        #expect(output.contains("strategy: dynamic_ensemble of "), "\(output)")
        #expect(output.contains("rf@") && output.contains("logreg@"))
        #expect(lines(output, "Received signal: ").count == 4, "\(output)")
        #expect(output.contains("stopped after 4 signals"))
    }

    @Test("a provider of your own: its random walk through the same pipeline")
    func customProvider() async throws {
        let output = try await run("example-custom-provider", ["--signals", "12", "--seconds", "40"])
        #expect(output.contains("provider: random-walk, strategy: momentum"))
        let signals = lines(output, "signal ")
        #expect(signals.map { String($0.split(separator: ":")[0]) } == (1...12).map { "signal \($0)" }, "\(output)")
        for signal in signals {
            #expect(signal.contains("WALK") || signal.contains("DRIFT"))
            // The walk's own clock: a Monday's open in 2025, a bar per second after the warm-up.
            #expect(signal.contains(" at 2025-01-06T14:3"), "\(signal)")
        }
        #expect(output.contains("stopped after 12 signals"))
    }

    @Test("a strategy of your own, alone and checked by the models")
    func customStrategy() async throws {
        let alone = try await run("example-custom-strategy", ["--signals", "4", "--seconds", "40"])
        #expect(alone.contains("(no --models: rules alone)"))
        #expect(lines(alone, "signal: ").count == 4, "\(alone)")
        #expect(alone.contains("stopped after 4 signals"))

        let models = try await ExampleModels.shared.path()
        let checked = try await run("example-custom-strategy", ["--models", models, "--signals", "4", "--seconds", "40"])
        #expect(checked.contains("with 2 models"), "\(checked)")
        let signals = lines(checked, "signal: ")
        #expect(signals.count == 4)
        #expect(signals.allSatisfy { $0.contains(" votes ") && $0.contains("rf=") && $0.contains("logreg=") }, "\(checked)")
        #expect(checked.contains("stopped after 4 signals; the models vetoed"))
    }
}
