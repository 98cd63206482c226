// A strategy of your own next to the trained models: mean reversion on the RSI and the
// distance to the 20-bar average (features by name), checked against the ensemble when
// `--models DIR` is given: a rule's BUY or SELL stands only when the models do not lean the
// other way, and the signal carries their votes. On the simulated provider, 1 s bars; stops
// after `--signals N` signals (8) or `--seconds T` seconds (20).
//
//     swift run example-custom-strategy [--models DIR] [--signals N] [--seconds T]
import Foundation
import Synchronization
import Tickwire

/// Buys oversold (RSI low, below its 20-bar average), sells overbought; holds in between.
struct MeanReversion: Strategy {
    var oversold = 0.45
    var overbought = 0.55

    func decide(features: Features, bar: Bar) -> Decision {
        guard let rsi = features["rsi_14"], let distance = features["close_sma_20"] else { return .hold() }
        if rsi < oversold && distance < 0 {
            return Decision(action: .buy, confidence: min(1, 0.6 + (oversold - rsi) * 4))
        }
        if rsi > overbought && distance > 0 {
            return Decision(action: .sell, confidence: min(1, 0.6 + (rsi - overbought) * 4))
        }
        return .hold(confidence: 0.5)
    }
}

/// The rules, vetoed by the models: an actor, to count the vetoes it made.
actor RulesCheckedByModels: Strategy {
    nonisolated let name = "mean-reversion+models"
    let rules: MeanReversion
    let models: EnsembleStrategy?
    private(set) var vetoes = 0

    init(rules: MeanReversion, models: EnsembleStrategy?) {
        self.rules = rules
        self.models = models
    }

    func decide(features: Features, bar: Bar) throws -> Decision {
        var decision = rules.decide(features: features, bar: bar)
        guard let models else { return decision }
        let opinion = try models.decide(features: features, bar: bar)
        decision.votes = opinion.votes
        let against = (decision.action == .buy && opinion.action == .sell) || (decision.action == .sell && opinion.action == .buy)
        if against {
            vetoes += 1
            return Decision(action: .hold, confidence: opinion.confidence, votes: opinion.votes)
        }
        return decision
    }
}

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
    let limit = option("--signals").flatMap(Int.init) ?? 8
    let seconds = option("--seconds").flatMap(Double.init) ?? 20
    let tickers = ["AAPL", "MSFT"]

    var options = DataFeed.Options()
    options.barInterval = .seconds(1)
    options.simulation = DataFeed.Simulation(seed: 11, tradesPerSecond: 20, backfillBars: 300)
    let feed = DataFeed(providerName: "simulated", options: options)
    let models = try option("--models").map { try EnsembleStrategy(modelDirectory: $0) }
    let strategy = RulesCheckedByModels(rules: MeanReversion(), models: models)
    print("strategy: \(strategy.name)\(models.map { " with \($0.models.count) models" } ?? " (no --models: rules alone)")")

    let generator = try SignalGenerator(
        dataFeed: feed, streamProcessor: try StreamProcessor(barInterval: .seconds(1), lateTolerance: .milliseconds(200)),
        strategy: strategy, tickers: tickers, updateInterval: .seconds(1), signalThreshold: 0.6)
    let received = Counter()
    generator.registerSignalCallback { signal in
        let votes = signal.votes.map { "\($0.model)=\($0.action)" }.joined(separator: " ")
        print(
            "signal: \(signal.ticker) \(signal.action) confidence \(String(format: "%.3f", signal.confidence)) "
                + "price \(String(format: "%.2f", signal.price))\(votes.isEmpty ? "" : " votes \(votes)")")
        if received.increment() >= limit { generator.stop() }
    }
    try generator.start()
    let deadline = Task {
        try await Task.sleep(for: .seconds(seconds))
        generator.stop()
    }
    try await generator.waitUntilStopped()
    deadline.cancel()
    print("stopped after \(received.count) signals; the models vetoed \(await strategy.vetoes) rule signals")
}

do {
    try await main()
} catch {
    FileHandle.standardError.write(Data("example-custom-strategy: \(error)\n".utf8))
    exit(1)
}
