// The seed's "Using the API in Custom Scripts", in Swift: a data feed, a stream processor, a
// strategy and a signal generator with a callback, in this process (no bus, no services).
//
// It runs on the simulated provider (no key, no network) with 1 s bars and stops after
// `--signals N` signals (6) or `--seconds T` seconds (20), whichever comes first. With
// `--models DIR` (from `tickwire train --out DIR`) the strategy is the trained ensemble;
// without, a rule on the RSI. For a real feed: `DataFeed(providerName: "alphavantage", apiKey: key)`.
//
//     swift run example-custom-script [--models DIR] [--signals N] [--seconds T]
import Foundation
import Synchronization
import Tickwire

/// Counts signals from the callback (which runs on the generator's task).
final class Counter: Sendable {
    private let value = Mutex(0)
    func increment() -> Int { value.withLock { $0 += 1; return $0 } }
    var count: Int { value.withLock { $0 } }
}

func option(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

func main() async throws {
    let modelDirectory = option("--models")
    let limit = option("--signals").flatMap(Int.init) ?? 6
    let seconds = option("--seconds").flatMap(Double.init) ?? 20
    let tickers = ["AAPL", "MSFT", "GOOGL"]

    // Initialize the data feed: Tickwire's simulated market, 300 bars of history first so the
    // indicators are ready at once.
    var options = DataFeed.Options()
    options.barInterval = .seconds(1)
    options.simulation = DataFeed.Simulation(seed: 7, tradesPerSecond: 20, backfillBars: 300)
    let dataFeed = DataFeed(providerName: "simulated", options: options)
    try dataFeed.connect()
    try dataFeed.subscribe(tickers)

    // Initialize the stream processor: 1 s bars, 100 of them kept per ticker.
    let streamProcessor = try StreamProcessor(windowSize: 100, barInterval: .seconds(1), lateTolerance: .milliseconds(200))

    // Initialize the trading strategy: the trained models, or a rule when none are given.
    let strategy: any Strategy
    if let modelDirectory {
        let ensemble = try EnsembleStrategy(modelDirectory: modelDirectory)
        print("strategy: \(ensemble.method) of \(ensemble.models.joined(separator: ", "))")
        strategy = ensemble
    } else {
        strategy = RuleStrategy(name: "rsi") { features, _ in
            guard let rsi = features["rsi_14"] else { return .hold() }
            if rsi < 0.45 { return Decision(action: .buy, confidence: min(1, 0.5 + (0.45 - rsi) * 4)) }
            if rsi > 0.55 { return Decision(action: .sell, confidence: min(1, 0.5 + (rsi - 0.55) * 4)) }
            return .hold(confidence: 0.5)
        }
        print("strategy: rsi rule (no --models given)")
    }

    // Initialize the signal generator.
    let signalService = try SignalGenerator(
        dataFeed: dataFeed, streamProcessor: streamProcessor, strategy: strategy, tickers: tickers,
        updateInterval: .seconds(1), signalThreshold: 0.7)

    // Register a callback for signals.
    let received = Counter()
    signalService.registerSignalCallback { signal in
        print("Received signal: \(signal.ticker) - \(signal.action)")
        print("Confidence: \(String(format: "%.4f", signal.confidence))")
        print("Price: $\(String(format: "%.2f", signal.price))")
        if received.increment() >= limit { signalService.stop() }
    }

    // Start the signal generator; stop it after `seconds` at the latest.
    try signalService.start()
    let deadline = Task {
        try await Task.sleep(for: .seconds(seconds))
        signalService.stop()
    }
    try await signalService.waitUntilStopped()
    deadline.cancel()

    let feed = dataFeed.statistics
    print("stopped after \(received.count) signals (\(feed.events) market events, \(signalService.statistics.bars) bars)")
}

do {
    try await main()
} catch {
    FileHandle.standardError.write(Data("example-custom-script: \(error)\n".utf8))
    exit(1)
}
