// A market-data provider of your own through Tickwire's pipeline: a seeded random walk of
// trades (the same seed, the same market), on its own clock from a fixed start, 120 simulated
// seconds per real second. Bars, features and signals come exactly as for Tickwire's
// providers. Stops after `--signals N` signals (20) or `--seconds T` seconds (20).
//
//     swift run example-custom-provider [--models DIR] [--signals N] [--seconds T]
import Foundation
import Synchronization
import Tickwire

/// Trades for each symbol from a geometric random walk, 10 per simulated second, deterministic.
struct RandomWalkProvider: MarketDataProvider {
    let name = "random-walk"
    var seed: UInt64 = 2024
    /// Where the walk's clock starts: 2025-01-06 14:30 UTC, a Monday's open in New York.
    var start = Date(timeIntervalSince1970: 1_736_173_800)
    /// Simulated seconds per real second.
    var speed = 120.0

    func run(symbols: [String], sink: MarketEventSink) async throws {
        var random = SplitMix(seed: seed)
        var prices = Dictionary(uniqueKeysWithValues: symbols.enumerated().map { ($1, 100.0 + 50 * Double($0)) })
        var tradeID = 0
        sink.connected()
        for second in 0... {
            for tick in 0..<10 {
                let time = start.addingTimeInterval(Double(second) + Double(tick) / 10)
                for symbol in symbols {
                    // A 2 % daily volatility spread over a 6.5 h session, plus a slow drift.
                    let step = 0.02 / (23_400.0 / 0.1).squareRoot() * random.normal() + 0.000_002
                    prices[symbol, default: 100] *= exp(step * 5)
                    tradeID += 1
                    let price = ((prices[symbol] ?? 100) * 100).rounded() / 100
                    sink.emit(.trade(Trade(symbol: symbol, price: price, size: Double(100 * (1 + Int(random.next() % 5))),
                                           time: time, id: String(tradeID))))
                }
            }
            // One simulated second every 1/speed of a real one (throws when cancelled).
            try await Task.sleep(for: .seconds(1 / speed))
        }
    }
}

/// SplitMix64 with a Box–Muller normal.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func normal() -> Double {
        (-2 * log(max(unit(), .leastNonzeroMagnitude))).squareRoot() * cos(2 * .pi * unit())
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
    let limit = option("--signals").flatMap(Int.init) ?? 20
    let seconds = option("--seconds").flatMap(Double.init) ?? 20
    let tickers = ["WALK", "DRIFT"]

    let feed = DataFeed(provider: RandomWalkProvider())
    let processor = try StreamProcessor(windowSize: 100, barInterval: .seconds(1), lateTolerance: .milliseconds(500))
    let strategy: any Strategy
    if let directory = option("--models") {
        strategy = try EnsembleStrategy(modelDirectory: directory)
    } else {
        // Momentum: follow the last five bars' return, the more surely the larger it is against
        // the recent volatility (`realized_vol_20` sums 20 bars of squared returns).
        strategy = RuleStrategy(name: "momentum") { features, _ in
            guard let move = features["ret_5"], let volatility = features["realized_vol_20"], volatility > 0 else {
                return .hold()
            }
            let surprise = abs(move) / (volatility * (5.0 / 20).squareRoot())
            return Decision(action: move > 0 ? .buy : .sell, confidence: 0.5 + min(0.5, surprise / 5))
        }
    }
    print("provider: \(feed.providerName), strategy: \(strategy.name)")

    let generator = try SignalGenerator(
        dataFeed: feed, streamProcessor: processor, strategy: strategy, tickers: tickers,
        updateInterval: .seconds(1), signalThreshold: 0.6)
    let received = Counter()
    generator.registerSignalCallback { signal in
        let number = received.increment()
        print(
            "signal \(number): \(signal.ticker) \(signal.action) confidence \(String(format: "%.3f", signal.confidence)) "
                + "price \(String(format: "%.2f", signal.price)) at \(signal.time.formatted(.iso8601))")
        if number >= limit { generator.stop() }
    }
    try generator.start()
    let deadline = Task {
        try await Task.sleep(for: .seconds(seconds))
        generator.stop()
    }
    try await generator.waitUntilStopped()
    deadline.cancel()
    let statistics = feed.statistics
    print("stopped after \(received.count) signals; \(statistics.events) trades from \(feed.providerName), \(generator.statistics.bars) bars")
}

do {
    try await main()
} catch {
    FileHandle.standardError.write(Data("example-custom-provider: \(error)\n".utf8))
    exit(1)
}
