import Contracts
import Foundation
import Logging
import MarketData
import ServiceKit
import Synchronization
import Timekeeping

/// A market-data source you write yourself: a type that delivers trades, quotes or bars for
/// the symbols it is asked for. Give it to ``DataFeed/init(provider:options:)``.
///
/// `run` connects, subscribes to `symbols` and hands every event to `sink` until the task is
/// cancelled (``DataFeed/disconnect()``) or the data ends:
/// - return normally when the data has ended (a file played to its end): the feed's events end;
/// - throw when the connection failed or dropped: the feed runs it again after a backoff (1 s,
///   doubling up to 30 s by default), or ends with the error when it is a fatal
///   ``DataFeedError`` (a bad key: retrying cannot help).
///
/// Never block the calling thread: wait with `await` (`Task.sleep`, async I/O).
public protocol MarketDataProvider: Sendable {
    /// A short name, e.g. `random-walk`, used in messages.
    var name: String { get }
    /// Delivers events for `symbols` to `sink` until cancelled or the data ends.
    func run(symbols: [String], sink: MarketEventSink) async throws
}

/// Where a ``MarketDataProvider`` delivers what it reads. Safe to use from any task or thread.
public struct MarketEventSink: Sendable {
    let onEvent: @Sendable (MarketEvent) -> Void
    let onConnected: @Sendable () -> Void

    /// A sink that hands events to `onEvent` (for testing a provider on its own).
    public init(onEvent: @escaping @Sendable (MarketEvent) -> Void, onConnected: @escaping @Sendable () -> Void = {}) {
        self.onEvent = onEvent
        self.onConnected = onConnected
    }

    /// Delivers one event. Events for symbols not subscribed to, out-of-range values and
    /// repeats (the same trade id, the same bar) are dropped and counted by the feed.
    public func emit(_ event: MarketEvent) { onEvent(event) }

    /// Says the provider is connected and subscribed: the reconnect backoff starts again from
    /// its first delay. (Delivering an event says so too.)
    public func connected() { onConnected() }
}

/// Why a data feed could not connect, or stopped.
public struct DataFeedError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, naming the provider.
    public var message: String
    /// Retrying cannot help (a bad key, a plan without streaming, a bad config): the feed ends.
    public var isFatal: Bool

    /// An error with `message`; fatal ones end the feed.
    public init(_ message: String, isFatal: Bool = false) {
        self.message = message
        self.isFatal = isFatal
    }

    public var description: String { message }
}

/// A live source of market events: one of Tickwire's providers by name (`simulated`,
/// `alphavantage`, `polygon`, `massive`, `alpaca`, `finnhub`, `websocket`, `replay`) or a
/// ``MarketDataProvider`` of your own, in this process, with no bus.
///
/// ```swift
/// let feed = DataFeed(providerName: "alphavantage", apiKey: key)
/// try feed.connect()
/// try feed.subscribe(["AAPL", "MSFT"])
/// for try await event in feed.events() { print(event) }
/// ```
///
/// The provider starts once the feed is connected, has tickers and someone reads
/// ``events(bufferSize:)``, so nothing it sends first (a backfill) is missed. It is kept up
/// as the ingestor keeps it: reconnects with backoff and jitter, repeats dropped, values out
/// of range dropped. ``disconnect()`` cancels it and ends every reader's sequence.
public final class DataFeed: Sendable {
    /// How a named provider is set up beyond its name and key. Unset values keep the
    /// provider's defaults (or `configFile`'s).
    public struct Options: Sendable {
        /// A Tickwire config file (JSON, as the services read) for anything else a provider
        /// takes: `providers.*`, `replay.files`, `rate_limit`, `market_hours`, …
        public var configFile: String?
        /// A provider's second credential (Alpaca's secret key).
        public var apiSecret: String?
        /// The provider's endpoint (a REST base URL or a WebSocket URL), e.g. a local server.
        public var url: String?
        /// How often a REST provider (Alpha Vantage) polls: the seed's `update_interval`.
        public var pollInterval: Duration?
        /// The length of the bars a provider sends as history (the simulator's backfill):
        /// give the ``StreamProcessor``'s bar interval.
        public var barInterval: Duration?
        /// The `simulated` provider's market.
        public var simulation = Simulation()
        /// The first wait before reconnecting; it doubles after each failed attempt.
        public var reconnectDelay: Duration?
        /// The longest wait before reconnecting.
        public var maximumReconnectDelay: Duration?
        /// Receives each problem the provider reports (a bad message, a dropped connection),
        /// as a line of text. By default they are only counted.
        public var onIssue: (@Sendable (String) -> Void)?

        /// The providers' defaults.
        public init() {}
    }

    /// The `simulated` provider's settings: a seeded random market, no key, no network.
    public struct Simulation: Sendable {
        /// The same seed gives the same market.
        public var seed: UInt64?
        /// Simulated seconds per real second.
        public var speed: Double?
        /// Average trades per second per ticker.
        public var tradesPerSecond: Double?
        /// Bars of simulated history (of ``Options/barInterval``) sent first, so the
        /// indicators are ready at once.
        public var backfillBars: Int?
        /// Starting prices by symbol.
        public var startPrices: [String: Double]?

        /// Settings; those left nil keep the simulator's defaults.
        public init(
            seed: UInt64? = nil, speed: Double? = nil, tradesPerSecond: Double? = nil, backfillBars: Int? = nil,
            startPrices: [String: Double]? = nil
        ) {
            self.seed = seed
            self.speed = speed
            self.tradesPerSecond = tradesPerSecond
            self.backfillBars = backfillBars
            self.startPrices = startPrices
        }
    }

    /// What the feed has seen so far.
    public struct Statistics: Sendable, Equatable {
        /// Events handed to readers.
        public var events = 0
        /// Repeats dropped (a reconnect that sends recent data again).
        public var duplicates = 0
        /// Events dropped as unusable: a symbol not subscribed to, a value out of range, a
        /// time far in the future.
        public var rejected = 0
        /// Events a reader was too slow for (its buffer was full; the oldest went).
        public var dropped = 0
        /// Times the provider was run again after its connection failed or dropped.
        public var reconnects = 0
        /// Problems the provider reported.
        public var issues = 0
    }

    private enum Source: Sendable {
        case named(String, apiKey: String?)
        case custom(any MarketDataProvider)
    }

    /// A provider ready to run: Tickwire's own (adapted) or the user's.
    struct Connection: Sendable {
        let name: String
        let run: @Sendable ([String], Delivery) async throws -> Void
        /// Symbols whose events are kept; nil for any.
        let acceptedSymbols: @Sendable ([String]) -> Set<String>?
        /// How far ahead of the wall clock an event may be, ns; nil for a provider with its own clock.
        let maximumFutureNs: Int64?
        let backoff: RetryPolicy
    }

    /// What one run of the provider delivers to.
    struct Delivery: Sendable {
        let contract: @Sendable (MarketData.MarketEvent) -> Void
        let event: @Sendable (MarketEvent) -> Void
        let connected: @Sendable () -> Void
        let issue: @Sendable (String) -> Void
    }

    private struct State {
        var connection: Connection?
        var symbols: [String] = []
        var consumers: [UInt64: AsyncThrowingStream<MarketEvent, any Error>.Continuation] = [:]
        var nextConsumer: UInt64 = 0
        /// Bumped at every (re)start and disconnect: events of an older run are ignored.
        var generation: UInt64 = 0
        var task: Task<Void, Never>?
        /// Cancelled runs that may not have returned yet.
        var retired: [Task<Void, Never>] = []
        var accepted: Set<String>?
        var dedup = EventDeduplicator()
        var statistics = Statistics()
        /// How the data ended (finite source or fatal error); new readers end at once.
        var ended: Result<Void, any Error>?
    }

    private let source: Source
    private let options: Options
    private let state = Mutex(State())

    /// A feed from one of Tickwire's providers, e.g. `simulated` (no key, no network) or
    /// `alphavantage` with its key. Nothing is checked until ``connect()``.
    public init(providerName: String, apiKey: String? = nil, options: Options = Options()) {
        source = .named(providerName, apiKey: apiKey)
        self.options = options
    }

    /// A feed from a provider of your own.
    public init(provider: any MarketDataProvider, options: Options = Options()) {
        source = .custom(provider)
        self.options = options
    }

    /// The provider's name.
    public var providerName: String {
        switch source {
        case .named(let name, _): name
        case .custom(let provider): provider.name
        }
    }

    /// True between ``connect()`` and ``disconnect()``.
    public var isConnected: Bool { state.withLock { $0.connection != nil } }

    /// The tickers subscribed to, in order.
    public var tickers: [String] { state.withLock { $0.symbols } }

    /// What the feed has seen so far.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Makes the provider, checking its settings (a missing key, an unknown name, a bad
    /// option throw a fatal ``DataFeedError``). Connecting again while connected does nothing.
    public func connect() throws {
        guard !isConnected else { return }
        let connection = try makeConnection()
        let start = state.withLock { state -> Bool in
            guard state.connection == nil else { return false }
            state.connection = connection
            state.ended = nil
            return true
        }
        if start { startIfReady() }
    }

    /// Adds `tickers` (valid symbols: 1–32 of `A–Z a–z 0–9 . - _ / : ^ = +`). A running
    /// provider is restarted for the whole set.
    public func subscribe(_ tickers: [String]) throws {
        for ticker in tickers {
            do {
                try Topic.validate(key: ticker)
            } catch {
                throw DataFeedError("'\(ticker)' is not a valid symbol: \(error)", isFatal: true)
            }
        }
        let restart = state.withLock { state -> Task<Void, Never>? in
            var added = false
            for ticker in tickers where !state.symbols.contains(ticker) {
                state.symbols.append(ticker)
                added = true
            }
            guard added, let task = state.task else { return nil }
            state.task = nil
            state.retired.append(task)
            state.generation &+= 1
            return task
        }
        restart?.cancel()
        startIfReady()
    }

    /// The feed's events for one reader, from now on; call it once per reader. It ends after
    /// ``disconnect()`` or when the data ends, and throws the error that ended the feed (a
    /// fatal ``DataFeedError``). When the reader falls `bufferSize` events behind, the oldest
    /// are dropped and counted (``Statistics/dropped``).
    public func events(bufferSize: Int = 65_536) -> AsyncThrowingStream<MarketEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: MarketEvent.self, throwing: (any Error).self, bufferingPolicy: .bufferingNewest(max(1, bufferSize)))
        let ended = state.withLock { state -> Result<Void, any Error>? in
            if let ended = state.ended { return ended }
            let id = state.nextConsumer
            state.nextConsumer &+= 1
            state.consumers[id] = continuation
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLock { $0.consumers.removeValue(forKey: id) }
            }
            return nil
        }
        switch ended {
        case .failure(let error): continuation.finish(throwing: error)
        case .success: continuation.finish()
        case nil: startIfReady()
        }
        return stream
    }

    /// Stops the provider (its task is cancelled) and ends every reader's sequence. The feed
    /// can connect again afterwards.
    public func disconnect() {
        let (task, consumers) = state.withLock { state in
            let task = state.task
            if let task { state.retired.append(task) }
            state.task = nil
            state.connection = nil
            state.generation &+= 1
            let consumers = state.consumers
            state.consumers = [:]
            return (task, consumers)
        }
        task?.cancel()
        for consumer in consumers.values { consumer.finish() }
    }

    /// Waits until every provider run cancelled by ``disconnect()`` (or a resubscription)
    /// has returned.
    public func waitUntilDisconnected() async {
        let retired = state.withLock { state in
            defer { state.retired = [] }
            return state.retired
        }
        for task in retired { await task.value }
    }

    // MARK: Running the provider

    /// Starts the provider when the feed is connected, has tickers and a reader, and it is not running.
    private func startIfReady() {
        state.withLock { state in
            guard state.task == nil, state.ended == nil, let connection = state.connection, !state.symbols.isEmpty,
                !state.consumers.isEmpty
            else { return }
            state.generation &+= 1
            let generation = state.generation
            let symbols = state.symbols
            state.accepted = connection.acceptedSymbols(symbols)
            state.task = Task { [self] in await supervise(connection, symbols: symbols, generation: generation) }
        }
    }

    /// Runs the provider until cancelled, the data ends or a fatal error; reconnects with
    /// backoff and jitter in between.
    private func supervise(_ connection: Connection, symbols: [String], generation: UInt64) async {
        var attempt = 0
        while !Task.isCancelled {
            let progress = Flag()
            let delivery = makeDelivery(connection, generation: generation) { progress.set() }
            do {
                try await connection.run(symbols, delivery)
                if Task.isCancelled { return }
                end(generation: generation, with: .success(()))
                return
            } catch {
                if Task.isCancelled { return }
                if let error = error as? DataFeedError, error.isFatal {
                    delivery.issue("\(connection.name): \(error.message)")
                    end(generation: generation, with: .failure(error))
                    return
                }
                attempt = progress.isSet ? 1 : min(attempt + 1, 64)
                let delay = connection.backoff.delay(beforeRetry: attempt, unit: Double.random(in: 0..<1))
                let current = state.withLock { state -> Bool in
                    guard state.generation == generation else { return false }
                    state.statistics.reconnects += 1
                    return true
                }
                guard current else { return }
                delivery.issue(
                    "\(connection.name): \(error); reconnecting in \(String(format: "%.1f", delay.inSeconds)) s")
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// Ends every reader's sequence: the data ended, or a fatal error.
    private func end(generation: UInt64, with result: Result<Void, any Error>) {
        let consumers = state.withLock { state -> [AsyncThrowingStream<MarketEvent, any Error>.Continuation] in
            guard state.generation == generation else { return [] }
            state.ended = result
            state.task = nil
            defer { state.consumers = [:] }
            return Array(state.consumers.values)
        }
        for consumer in consumers {
            switch result {
            case .success: consumer.finish()
            case .failure(let error): consumer.finish(throwing: error)
            }
        }
    }

    private func makeDelivery(
        _ connection: Connection, generation: UInt64, progress: @escaping @Sendable () -> Void
    ) -> Delivery {
        let onIssue = options.onIssue
        let name = connection.name
        let maximumFutureNs = connection.maximumFutureNs
        return Delivery(
            contract: { [weak self] event in
                progress()
                self?.admit(event, converted: nil, generation: generation, maximumFutureNs: maximumFutureNs)
            },
            event: { [weak self] event in
                progress()
                self?.admit(
                    event.contract(provider: name), converted: event, generation: generation,
                    maximumFutureNs: maximumFutureNs)
            },
            connected: progress,
            issue: { [weak self] text in
                self?.state.withLock { $0.statistics.issues += 1 }
                onIssue?(text)
            })
    }

    /// Hands `event` to every reader unless it is a repeat, out of range, too far ahead, or
    /// for a symbol not subscribed to (those are counted).
    private func admit(
        _ event: MarketData.MarketEvent, converted: MarketEvent?, generation: UInt64, maximumFutureNs: Int64?
    ) {
        var usable = MarketLimits.rejection(of: event) == nil
        if usable, let maximumFutureNs {
            let time: Int64
            switch event {
            case .trade(_, let eventTime), .quote(_, let eventTime): time = eventTime
            case .bar(let bar): time = bar.endTimeNs
            }
            usable = time <= Nanoseconds.adding(WallClock.nanoseconds(), maximumFutureNs)
        }
        let symbol = event.symbol
        let consumers = state.withLock { state -> [AsyncThrowingStream<MarketEvent, any Error>.Continuation] in
            guard state.generation == generation else { return [] }
            guard usable, state.accepted.map({ $0.contains(symbol) }) ?? true else {
                state.statistics.rejected += 1
                return []
            }
            guard state.dedup.isNew(event) else {
                state.statistics.duplicates += 1
                return []
            }
            state.statistics.events += 1
            return Array(state.consumers.values)
        }
        guard !consumers.isEmpty else { return }
        let delivered = converted ?? MarketEvent(event)
        var dropped = 0
        for consumer in consumers {
            if case .dropped = consumer.yield(delivered) { dropped += 1 }
        }
        if dropped > 0 { state.withLock { $0.statistics.dropped += dropped } }
    }

    // MARK: Making the provider

    private func makeConnection() throws -> Connection {
        let defaults = TickwireConfig().ingestor
        switch source {
        case .custom(let provider):
            let backoff = try Self.backoff(
                options, initialSeconds: defaults.reconnectInitialSeconds, maximumSeconds: 30)
            return Connection(
                name: provider.name,
                run: { symbols, delivery in
                    try await provider.run(
                        symbols: symbols, sink: MarketEventSink(onEvent: delivery.event, onConnected: delivery.connected))
                },
                acceptedSymbols: { Set($0) }, maximumFutureNs: nil, backoff: backoff)
        case .named(let name, let apiKey):
            let config = try Self.config(provider: name, apiKey: apiKey, options: options)
            let provider: any MarketData.MarketDataProvider
            do {
                provider = try ProviderRegistry.makeProvider(config: config)
            } catch {
                throw DataFeedError("provider \(name): \(error)", isFatal: true)
            }
            let backoff = try Self.backoff(
                options, initialSeconds: config.ingestor.reconnectInitialSeconds,
                maximumSeconds: config.ingestor.reconnectMaxSeconds)
            let logger = Logger(label: "tickwire.feed.\(name)", factory: { _ in SwiftLogNoOpLogHandler() })
            return Connection(
                name: name,
                run: { symbols, delivery in
                    let sink = ProviderSink(
                        logger: logger, onEvent: delivery.contract,
                        onIssue: { issue in delivery.issue("\(name): \(issue)") },
                        onConnected: delivery.connected)
                    do {
                        try await provider.run(symbols: symbols, sink: sink)
                    } catch let issue as ProviderIssue where issue.isFatal {
                        throw DataFeedError(issue.message, isFatal: true)
                    }
                    // Tickwire's providers return when the stream ended: run them again.
                    throw DataFeedError("the stream ended")
                },
                acceptedSymbols: { provider.acceptedSymbols(for: $0) },
                maximumFutureNs: provider.eventTimesFollowWallClock
                    ? Nanoseconds.clampingSeconds(config.ingestor.maxFutureSeconds) : nil,
                backoff: backoff)
        }
    }

    /// The config a named provider is made from: `configFile` (with the environment's
    /// `${VAR}`s), the name and key, then the options.
    static func config(provider: String, apiKey: String?, options: Options) throws -> TickwireConfig {
        var overrides = ConfigOverrides()
        overrides.provider = provider
        overrides.apiKey = apiKey
        overrides.providerUrl = options.url
        var config: TickwireConfig
        do {
            config = try ConfigLoader().load(file: options.configFile, overrides: overrides).config
        } catch {
            throw DataFeedError("\(error)", isFatal: true)
        }
        func check(_ name: String, _ value: Double?, _ range: ClosedRange<Double>, above: Bool = false) throws {
            guard let value else { return }
            guard value.isFinite, range.contains(value), !above || value > range.lowerBound else {
                let low = above ? "more than \(range.lowerBound)" : "at least \(range.lowerBound)"
                throw DataFeedError("\(name) must be \(low) and at most \(range.upperBound)", isFatal: true)
            }
        }
        if let secret = options.apiSecret { config.apiSecret = Secret(secret) }
        if let poll = options.pollInterval {
            try check("pollInterval (seconds)", poll.inSeconds, 0...86_400, above: true)
            config.updateInterval = poll.inSeconds
        }
        if let bar = options.barInterval {
            try check("barInterval (seconds)", bar.inSeconds, 1...86_400)
            config.processor.barIntervalSeconds = bar.inSeconds
        }
        let simulation = options.simulation
        try check("simulation.speed", simulation.speed, 0...100_000, above: true)
        try check("simulation.tradesPerSecond", simulation.tradesPerSecond, 0.001...10_000)
        try check("simulation.backfillBars", simulation.backfillBars.map(Double.init), 0...100_000)
        for (symbol, price) in simulation.startPrices ?? [:] {
            try check("simulation.startPrices[\(symbol)]", price, 0...100_000_000, above: true)
        }
        if let seed = simulation.seed { config.simulator.seed = seed }
        if let speed = simulation.speed { config.simulator.speed = speed }
        if let rate = simulation.tradesPerSecond { config.simulator.tradesPerSecond = rate }
        if let bars = simulation.backfillBars { config.simulator.backfillBars = bars }
        if let prices = simulation.startPrices { config.simulator.startPrices = prices }
        return config
    }

    /// The reconnect backoff: `options` over the given defaults.
    static func backoff(_ options: Options, initialSeconds: Double, maximumSeconds: Double) throws -> RetryPolicy {
        let initial = options.reconnectDelay ?? Nanoseconds.duration(seconds: initialSeconds)
        let maximum = options.maximumReconnectDelay ?? max(initial, Nanoseconds.duration(seconds: maximumSeconds))
        guard initial > .zero, maximum >= initial else {
            throw DataFeedError("reconnectDelay must be more than 0 and at most maximumReconnectDelay", isFatal: true)
        }
        return RetryPolicy(maxRetries: .max, initialDelay: initial, multiplier: 2, maximumDelay: maximum, jitter: 0.25)
    }
}

/// A flag one task sets and another reads.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
