import Contracts
import Foundation
import ServiceKit
import Signals
import Synchronization
import Timekeeping

/// A trading signal for one ticker, made after a bar closed.
public struct Signal: Sendable, Hashable {
    /// The ticker it is for.
    public var ticker: String
    /// BUY, SELL or HOLD, after the threshold.
    public var action: Action
    /// 0...1: for BUY and SELL the probability (or the strategy's confidence) of that move;
    /// for HOLD that of no move beyond the threshold.
    public var confidence: Double
    /// The close of the bar.
    public var price: Double
    /// The end of the bar whose features produced it.
    public var time: Date
    /// The strategy that decided.
    public var strategy: String
    /// Each model's vote, when the strategy is an ensemble.
    public var votes: [Vote]
    /// The strategy's whole distribution, when it has one.
    public var probabilities: Probabilities?
    /// A suggested stop price: below `price` for BUY, above for SELL, 0 for HOLD (or without
    /// an ATR).
    public var stopLoss: Double
    /// A suggested quantity (fractional shares allowed), 0 for HOLD.
    public var shares: Double
    /// That position as a fraction of the capital.
    public var positionFraction: Double

    /// The signal a ``SignalGenerator`` makes from `decision`, with the signal service's
    /// policy: with probabilities, BUY when P(up) reaches `threshold` (and is not below
    /// P(down)), SELL when P(down) does, else HOLD with confidence 1 − max(P(up), P(down)).
    /// Without, a BUY or SELL whose confidence is below `threshold` becomes HOLD with
    /// confidence 1 − confidence; a HOLD stays as it is. Stops and sizes follow `sizing`
    /// and the features' ATR (`natr_14`).
    public init(
        decision: Decision, features: Features, threshold: Double, sizing: PositionSizing = PositionSizing(),
        strategy: String = ""
    ) {
        ticker = features.symbol
        price = features.close
        time = features.barEnd
        self.strategy = strategy
        votes = decision.votes
        probabilities = decision.probabilities
        let distribution: [Double]
        if let probabilities = decision.probabilities {
            distribution = probabilities.values
        } else {
            let confidence = decision.confidence.isFinite ? min(max(decision.confidence, 0), 1) : 0
            switch decision.action {
            case .buy: distribution = [0, 1 - confidence, confidence]
            case .sell: distribution = [confidence, 1 - confidence, 0]
            case .hold: distribution = []
            }
        }
        guard !distribution.isEmpty else {
            action = .hold
            confidence = decision.confidence
            stopLoss = 0
            shares = 0
            positionFraction = 0
            return
        }
        let policy = SignalPolicy(
            threshold: threshold, capital: sizing.capital, riskPerTrade: sizing.riskPerTrade,
            atrStopMultiple: sizing.atrStopMultiple, maxPositionFraction: sizing.maxPositionFraction)
        let decided = policy.decide(probabilities: distribution, features: features.vector)
        action = Action(decided.action)
        confidence = decided.confidence
        stopLoss = decided.stopLoss
        shares = decided.shares
        positionFraction = decided.positionFraction
    }
}

/// How signals size a position: a stop some ATRs away, risking a fraction of the capital
/// there, capped at a fraction of the capital (the config's `signals` section).
public struct PositionSizing: Sendable, Hashable {
    /// The account size.
    public var capital: Double
    /// The fraction of capital at risk if the stop is hit.
    public var riskPerTrade: Double
    /// The stop distance, in ATRs.
    public var atrStopMultiple: Double
    /// The largest position, as a fraction of capital.
    public var maxPositionFraction: Double

    /// The signal generator's defaults: 100,000 of capital, 1 % at risk, 2 ATRs, at most 25 %.
    public init(
        capital: Double = TickwireConfig().signals.capital, riskPerTrade: Double = TickwireConfig().signals.riskPerTrade,
        atrStopMultiple: Double = TickwireConfig().signals.atrStopMultiple,
        maxPositionFraction: Double = TickwireConfig().signals.maxPositionFraction
    ) {
        self.capital = capital
        self.riskPerTrade = riskPerTrade
        self.atrStopMultiple = atrStopMultiple
        self.maxPositionFraction = maxPositionFraction
    }
}

/// Market data in, signals out, in this process: a ``DataFeed``'s events through a
/// ``StreamProcessor`` into a ``Strategy`` after every closed bar, each decision turned into a
/// ``Signal`` with the signal service's threshold and sizing.
///
/// ```swift
/// let generator = try SignalGenerator(
///     dataFeed: feed, streamProcessor: try StreamProcessor(windowSize: 100),
///     strategy: try EnsembleStrategy(modelDirectory: "models"), tickers: ["AAPL", "MSFT"],
///     updateInterval: .seconds(60), signalThreshold: 0.7)
/// generator.registerSignalCallback { signal in print(signal.ticker, signal.action, signal.confidence) }
/// try generator.start()
/// // … later
/// generator.stop()
/// ```
///
/// Every decision is a signal, HOLD included (filter on ``Signal/action``). Bars from history
/// (a provider's backfill) warm the indicators up but make no signal. Unlike the signal
/// service, it follows no market session: it decides whenever bars close.
public final class SignalGenerator: Sendable {
    /// What the generator has done so far.
    public struct Statistics: Sendable, Equatable {
        /// Bars closed for its tickers.
        public var bars = 0
        /// Signals made (every decision, HOLD included).
        public var signals = 0
        /// Bars skipped because the strategy threw.
        public var strategyErrors = 0
        /// The last error the strategy threw.
        public var lastStrategyError: String?
    }

    /// The tickers it signals for.
    public let tickers: [String]
    /// The least market time between two signals of one ticker (bar ends): 0 for one per bar.
    public let updateInterval: Duration
    /// Below it, BUY and SELL become HOLD.
    public let signalThreshold: Double
    /// How stops and positions are sized.
    public let sizing: PositionSizing
    /// Where events come from.
    public let dataFeed: DataFeed
    /// What decides after each closed bar.
    public let strategy: any Strategy
    private let tickerSet: Set<String>
    private let closePeriod: Duration
    private let processor: Mutex<StreamProcessor>

    private enum Phase { case idle, running, stopped }

    private struct State {
        var phase = Phase.idle
        var task: Task<Void, any Error>?
        var callbacks: [@Sendable (Signal) -> Void] = []
        var readers: [UInt64: AsyncThrowingStream<Signal, any Error>.Continuation] = [:]
        var nextReader: UInt64 = 0
        /// The bar end of each ticker's last signal, ns.
        var lastSignal: [String: Int64] = [:]
        var statistics = Statistics()
    }

    private let state = Mutex(State())

    /// - Parameters:
    ///   - dataFeed: where events come from; connected and subscribed to `tickers` at start
    ///     if it is not yet, and disconnected at stop.
    ///   - streamProcessor: bars and features per ticker; the generator works on its own copy.
    ///   - strategy: decides after each closed bar.
    ///   - tickers: the tickers to signal for (the feed's others are ignored).
    ///   - updateInterval: the least market time between two signals of one ticker (the
    ///     seed's `update_interval`): one per bar when it is at most the bar interval.
    ///   - signalThreshold: below it, BUY and SELL become HOLD (0...1).
    ///   - sizing: stops and position sizes.
    public init(
        dataFeed: DataFeed, streamProcessor: StreamProcessor, strategy: any Strategy, tickers: [String],
        updateInterval: Duration = .seconds(60), signalThreshold: Double = 0.7, sizing: PositionSizing = PositionSizing()
    ) throws(ConfigurationError) {
        guard !tickers.isEmpty else { throw ConfigurationError("tickers: at least one is needed") }
        for ticker in tickers {
            do {
                try Topic.validate(key: ticker)
            } catch {
                throw ConfigurationError("tickers: '\(ticker)' is not a valid symbol: \(error)")
            }
        }
        guard signalThreshold.isFinite, (0...1).contains(signalThreshold) else {
            throw ConfigurationError("signalThreshold must be between 0 and 1")
        }
        guard updateInterval >= .zero else { throw ConfigurationError("updateInterval must not be negative") }
        for (name, value) in [
            ("capital", sizing.capital), ("riskPerTrade", sizing.riskPerTrade),
            ("atrStopMultiple", sizing.atrStopMultiple), ("maxPositionFraction", sizing.maxPositionFraction),
        ] where !(value.isFinite && value > 0) {
            throw ConfigurationError("sizing.\(name) must be a positive number")
        }
        var unique: [String] = []
        for ticker in tickers where !unique.contains(ticker) { unique.append(ticker) }
        self.tickers = unique
        tickerSet = Set(unique)
        self.dataFeed = dataFeed
        self.strategy = strategy
        self.updateInterval = updateInterval
        self.signalThreshold = signalThreshold
        self.sizing = sizing
        let quarter = Nanoseconds.of(streamProcessor.barInterval) / 4
        closePeriod = .nanoseconds(min(250_000_000, max(10_000_000, quarter)))
        processor = Mutex(streamProcessor)
    }

    /// Calls `callback` with every signal, in order, on the generator's task: return quickly
    /// (hand long work to a task of your own). Register before ``start()`` to miss none.
    public func registerSignalCallback(_ callback: @escaping @Sendable (Signal) -> Void) {
        state.withLock { $0.callbacks.append(callback) }
    }

    /// Every signal from now on, for one reader (each use is a new reader). It ends at
    /// ``stop()`` and throws the error that stopped the generator (a fatal ``DataFeedError``).
    /// A reader that falls 10,000 signals behind loses the oldest.
    public var signals: AsyncThrowingStream<Signal, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: Signal.self, throwing: (any Error).self, bufferingPolicy: .bufferingNewest(10_000))
        let open = state.withLock { state -> Bool in
            guard state.phase != .stopped else { return false }
            let id = state.nextReader
            state.nextReader &+= 1
            state.readers[id] = continuation
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLock { $0.readers.removeValue(forKey: id) }
            }
            return true
        }
        if !open { continuation.finish() }
        return stream
    }

    /// What the generator has done so far.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Starts in the background: connects the feed and subscribes it to the tickers (a bad
    /// provider setting throws here), then processes until ``stop()``. Starting a running
    /// generator does nothing; a stopped one cannot start again.
    public func start() throws {
        let phase = state.withLock { $0.phase }
        switch phase {
        case .running: return
        case .stopped: throw ConfigurationError("this generator was stopped: make a new one")
        case .idle: break
        }
        try dataFeed.connect()
        try dataFeed.subscribe(tickers)
        state.withLock { state in
            guard state.phase == .idle else { return }
            state.phase = .running
            state.task = Task { [self] in try await process() }
        }
    }

    /// Stops at once: the processing tasks are cancelled, the feed disconnected (its provider
    /// cancelled) and every ``signals`` reader ends. Safe from a callback.
    public func stop() {
        let task = state.withLock { state -> Task<Void, any Error>? in
            state.phase = .stopped
            return state.task
        }
        task?.cancel()
        dataFeed.disconnect()
        finishReaders(with: nil)
    }

    /// Waits until the generator has stopped and its provider has returned; throws what
    /// stopped it when that was an error (a fatal ``DataFeedError``), not ``stop()``.
    public func waitUntilStopped() async throws {
        let task = state.withLock { $0.task }
        do {
            try await task?.value
        } catch is CancellationError {
        }
        await dataFeed.waitUntilDisconnected()
    }

    /// Runs in the calling task until it is cancelled, ``stop()`` or the feed ends (then it
    /// throws the feed's error, if any). An alternative to ``start()`` for structured code.
    public func run() async throws {
        let phase = state.withLock { state -> Phase in
            defer { if state.phase == .idle { state.phase = .running } }
            return state.phase
        }
        guard phase == .idle else {
            throw ConfigurationError("this generator is \(phase == .running ? "running" : "stopped") already")
        }
        do {
            try dataFeed.connect()
            try dataFeed.subscribe(tickers)
        } catch {
            finishReaders(with: error)
            throw error
        }
        try await process()
    }

    // MARK: Processing

    /// Events into bars, a timer that closes bars on time, and the decisions, until the feed
    /// ends or the task is cancelled; then the feed is disconnected and the readers end.
    private func process() async throws {
        let events = dataFeed.events()
        let (bars, barSink) = AsyncStream.makeStream(of: ClosedBar.self)
        let eventsEnded = Flag()
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { [self] in
                    defer {
                        eventsEnded.set()
                        barSink.finish()
                    }
                    for try await event in events where tickerSet.contains(event.symbol) {
                        for bar in processor.withLock({ $0.process(event) }) { barSink.yield(bar) }
                    }
                }
                group.addTask { [self] in
                    while !Task.isCancelled && !eventsEnded.isSet {
                        try? await Task.sleep(for: closePeriod)
                        for bar in processor.withLock({ $0.closeDueBars() }) { barSink.yield(bar) }
                    }
                }
                group.addTask { [self] in
                    for await bar in bars {
                        if Task.isCancelled { break }
                        await decide(bar)
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            dataFeed.disconnect()
            finishReaders(with: error is CancellationError ? nil : error)
            throw error
        }
        dataFeed.disconnect()
        finishReaders(with: nil)
    }

    /// A signal from one closed bar, when it has live features for one of the tickers and
    /// the ticker's last signal is at least `updateInterval` older.
    private func decide(_ closed: ClosedBar) async {
        guard tickerSet.contains(closed.bar.symbol) else { return }
        let interval = Nanoseconds.of(updateInterval)
        let due = state.withLock { state -> Bool in
            state.statistics.bars += 1
            guard let features = closed.features, !features.isFromHistory else { return false }
            let end = features.vector.barEndTimeNs
            if let last = state.lastSignal[features.symbol], Nanoseconds.subtracting(end, last) < interval {
                return false
            }
            state.lastSignal[features.symbol] = end
            return true
        }
        guard due, let features = closed.features else { return }
        let decision: Decision
        do {
            decision = try await strategy.decide(features: features, bar: closed.bar)
        } catch {
            if Task.isCancelled { return }
            state.withLock {
                $0.statistics.strategyErrors += 1
                $0.statistics.lastStrategyError = "\(error)"
            }
            return
        }
        guard !Task.isCancelled else { return }
        let signal = Signal(
            decision: decision, features: features, threshold: signalThreshold, sizing: sizing, strategy: strategy.name)
        let (callbacks, readers) = state.withLock { state in
            state.statistics.signals += 1
            return (state.callbacks, Array(state.readers.values))
        }
        for callback in callbacks { callback(signal) }
        for reader in readers { reader.yield(signal) }
    }

    private func finishReaders(with error: (any Error)?) {
        let readers = state.withLock { state in
            state.phase = .stopped
            defer { state.readers = [:] }
            return Array(state.readers.values)
        }
        for reader in readers {
            if let error { reader.finish(throwing: error) } else { reader.finish() }
        }
    }
}
