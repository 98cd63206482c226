import Contracts
import Foundation
import Indicators
import Signals
import Synchronization
import Testing
import Tickwire

/// Values shared between a test and the tasks it starts.
final class Box<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func update<Result: Sendable>(_ body: @Sendable (inout Value) -> Result) -> Result { value.withLock { body(&$0) } }
    var current: Value { value.withLock { $0 } }
}

/// Trades of a random walk on its own clock, 4 per symbol per simulated second, about 200
/// simulated seconds per real second, until cancelled; says when it started and ended.
struct EndlessWalk: MarketDataProvider {
    let name = "endless-walk"
    let runs = Box(0)
    let ended = Box(0)

    func run(symbols: [String], sink: MarketEventSink) async throws {
        runs.update { $0 += 1 }
        defer { ended.update { $0 += 1 } }
        var second = 0
        while true {
            for trade in walkTrades(symbols, seconds: 1, seed: UInt64(second)) {
                var shifted = trade
                shifted.time = trade.time.addingTimeInterval(Double(second))
                shifted.id = "\(second)-\(trade.id)"
                sink.emit(.trade(shifted))
            }
            second += 1
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// Features with `natr_14` set (everything else 0) for the sizing.
func features(close: Double, natr: Double = 0.01) -> Features {
    var values = [Double](repeating: 0, count: Features.names.count)
    if let index = Features.names.firstIndex(of: "natr_14") { values[index] = natr }
    return Features(symbol: "AAA", values: values, barEnd: sessionStart, close: close)
}

@Suite("Signals from decisions")
struct ThresholdTests {
    @Test("a rule's BUY or SELL below the threshold becomes HOLD; HOLD stays")
    func ruleThreshold() {
        let row = features(close: 100)
        let weak = Signal(decision: Decision(action: .buy, confidence: 0.6), features: row, threshold: 0.7)
        #expect(weak.action == .hold)
        #expect(abs(weak.confidence - 0.4) < 1e-12)
        #expect(weak.shares == 0 && weak.stopLoss == 0)
        let strong = Signal(decision: Decision(action: .buy, confidence: 0.8), features: row, threshold: 0.7)
        #expect(strong.action == .buy && strong.confidence == 0.8)
        // The service's sizing: a stop 2 ATRs (2 × 0.01 × 100) below, 1 % of 100,000 at risk, at most 25 %.
        #expect(abs(strong.stopLoss - 98) < 1e-9)
        #expect(abs(strong.shares - 250) < 1e-9)
        #expect(abs(strong.positionFraction - 0.25) < 1e-12)
        let sell = Signal(decision: Decision(action: .sell, confidence: 0.7), features: row, threshold: 0.7)
        #expect(sell.action == .sell && sell.stopLoss > 100)
        let hold = Signal(decision: .hold(confidence: 0.3), features: row, threshold: 0.1)
        #expect(hold.action == .hold && hold.confidence == 0.3)
        let nonsense = Signal(decision: Decision(action: .buy, confidence: .nan), features: row, threshold: 0.5)
        #expect(nonsense.action == .hold)
    }

    @Test("with probabilities, the signal service's policy decides, whatever the action says")
    func probabilities() {
        let row = features(close: 50)
        let leaning = Probabilities(down: 0.2, flat: 0.15, up: 0.65)
        for threshold in [0.3, 0.6, 0.65, 0.7, 0.9] {
            let signal = Signal(
                decision: Decision(action: .hold, confidence: 0, probabilities: leaning), features: row,
                threshold: threshold)
            let policy = SignalPolicy(
                threshold: threshold, capital: 100_000, riskPerTrade: 0.01, atrStopMultiple: 2, maxPositionFraction: 0.25)
            let direct = policy.decide(probabilities: [0.2, 0.15, 0.65], price: 50, atr: 0.5)
            #expect(signal.action.rawValue == (direct.action == .buy ? "BUY" : direct.action == .sell ? "SELL" : "HOLD"))
            #expect(signal.confidence == direct.confidence)
            #expect(signal.shares == direct.shares && signal.stopLoss == direct.stopLoss)
            #expect(signal.probabilities == leaning)
        }
        let hold = Signal(decision: Decision(action: .buy, confidence: 0.65, probabilities: leaning), features: row, threshold: 0.7)
        #expect(hold.action == .hold && abs(hold.confidence - 0.35) < 1e-12)
    }
}

@Suite("SignalGenerator", .timeLimit(.minutes(1)))
struct SignalGeneratorTests {
    func generator(
        _ provider: EndlessWalk, updateInterval: Duration = .zero, strategy: (any Strategy)? = nil
    ) throws -> SignalGenerator {
        let always = RuleStrategy(name: "always") { _, _ in Decision(action: .buy, confidence: 0.9) }
        return try SignalGenerator(
            dataFeed: DataFeed(provider: provider), streamProcessor: try StreamProcessor(barInterval: .seconds(1)),
            strategy: strategy ?? always, tickers: ["AAA", "BBB"], updateInterval: updateInterval, signalThreshold: 0.7)
    }

    @Test("signals reach the callback and the sequence; stop() ends the sequence and cancels the provider")
    func stopEndsEverything() async throws {
        let provider = EndlessWalk()
        let generator = try generator(provider)
        let called = Box(0)
        generator.registerSignalCallback { _ in called.update { $0 += 1 } }
        let signals = generator.signals
        try generator.start()
        var received: [Tickwire.Signal] = []
        let clock = ContinuousClock()
        var stoppedAt: ContinuousClock.Instant?
        for try await signal in signals {
            received.append(signal)
            if received.count == 6 {
                stoppedAt = clock.now
                generator.stop()
            }
        }
        let ended = clock.now
        #expect(received.count >= 6)
        // Loose: pool waits of ~9 s were seen on a loaded 2-core CI run.
        #expect(ended - (stoppedAt ?? ended) < .seconds(10), "the sequence ended promptly after stop()")
        let first = try #require(received.first)
        #expect(["AAA", "BBB"].contains(first.ticker))
        #expect(first.action == .buy && first.confidence == 0.9 && first.strategy == "always")
        #expect(first.price > 0 && first.stopLoss > 0 && first.stopLoss < first.price)
        try await generator.waitUntilStopped()
        #expect(provider.runs.current == 1)
        #expect(provider.ended.current == 1, "the provider's task ended")
        #expect(called.current >= 6)
        #expect(!generator.dataFeed.isConnected)
        // A reader that comes after the stop ends at once; a stopped generator does not start again.
        for try await _ in generator.signals { Issue.record("a signal after stop") }
        #expect(throws: ConfigurationError.self) { try generator.start() }
    }

    @Test("one signal per ticker per updateInterval of market time")
    func updateInterval() async throws {
        let sell = RuleStrategy(name: "sell") { _, _ in Decision(action: .sell, confidence: 0.8) }
        let generator = try generator(EndlessWalk(), updateInterval: .seconds(5), strategy: sell)
        let signals = generator.signals
        try generator.start()
        var times: [String: [Date]] = [:]
        var count = 0
        for try await signal in signals {
            #expect(signal.action == .sell)
            times[signal.ticker, default: []].append(signal.time)
            count += 1
            if count == 8 { generator.stop() }
        }
        for list in times.values {
            for (earlier, later) in zip(list, list.dropFirst()) {
                #expect(later.timeIntervalSince(earlier) >= 5 - 1e-6, "\(earlier) → \(later)")
            }
        }
        #expect(generator.statistics.signals >= 8)
        #expect(generator.statistics.bars > 3 * generator.statistics.signals)
    }

    @Test("run() in a task of your own: cancelling the task stops it and the provider")
    func structured() async throws {
        let provider = EndlessWalk()
        let generator = try generator(provider)
        let called = Box(0)
        generator.registerSignalCallback { _ in called.update { $0 += 1 } }
        let running = Task { try await generator.run() }
        let deadline = ContinuousClock.now + .seconds(20)
        while called.current < 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        running.cancel()
        try await running.value
        await generator.dataFeed.waitUntilDisconnected()
        #expect(called.current >= 2)
        #expect(provider.ended.current == provider.runs.current && provider.runs.current == 1)
        await #expect(throws: ConfigurationError.self) { try await generator.run() }
    }

    @Test("a strategy that throws is counted and skipped")
    func throwingStrategy() async throws {
        struct Refusing: Strategy {
            struct Refusal: Error {}
            func decide(features: Features, bar: Bar) throws -> Decision { throw Refusal() }
        }
        let generator = try generator(EndlessWalk(), strategy: Refusing())
        try generator.start()
        let deadline = ContinuousClock.now + .seconds(20)
        while generator.statistics.strategyErrors < 3 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        generator.stop()
        try await generator.waitUntilStopped()
        #expect(generator.statistics.strategyErrors >= 3)
        #expect(generator.statistics.signals == 0)
        #expect(generator.statistics.lastStrategyError?.contains("Refusal") == true)
        #expect(Refusing().name == "Refusing")
    }

    @Test("settings out of range are refused")
    func settings() throws {
        let feed = DataFeed(provider: EndlessWalk())
        let processor = try StreamProcessor()
        let rule = RuleStrategy { _, _ in .hold() }
        #expect(throws: ConfigurationError.self) {
            try SignalGenerator(dataFeed: feed, streamProcessor: processor, strategy: rule, tickers: [])
        }
        #expect(throws: ConfigurationError.self) {
            try SignalGenerator(dataFeed: feed, streamProcessor: processor, strategy: rule, tickers: ["AAA"], signalThreshold: 1.5)
        }
        #expect(throws: ConfigurationError.self) {
            try SignalGenerator(dataFeed: feed, streamProcessor: processor, strategy: rule, tickers: ["not a symbol"])
        }
        #expect(throws: ConfigurationError.self) {
            try SignalGenerator(
                dataFeed: feed, streamProcessor: processor, strategy: rule, tickers: ["AAA"],
                sizing: PositionSizing(capital: -1))
        }
    }
}
