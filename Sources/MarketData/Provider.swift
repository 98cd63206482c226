import Contracts
import Logging
import ServiceKit
import Synchronization

/// One piece of market data as a provider read it, before it goes on the bus.
public enum MarketEvent: Sendable, Equatable {
    /// A trade; `time` is the exchange time in UTC nanoseconds.
    case trade(Trade, time: Int64)
    /// A top-of-book quote; `time` is the exchange time in UTC nanoseconds.
    case quote(Quote, time: Int64)
    /// A bar; its `origin` says live or backfill, its `end_time_ns` is the event time.
    case bar(Bar)

    public var symbol: String {
        switch self {
        case .trade(let trade, _): trade.symbol
        case .quote(let quote, _): quote.symbol
        case .bar(let bar): bar.symbol
        }
    }

    /// Fills in what a feed's wire format leaves out: the provider's name, and quote sizes in
    /// shares for feeds that send round lots (`quoteSizeMultiplier` 100).
    public func stamped(provider: String, quoteSizeMultiplier: Double = 1) -> MarketEvent {
        switch self {
        case .trade(var trade, let time):
            trade.provider = provider
            return .trade(trade, time: time)
        case .quote(var quote, let time):
            quote.provider = provider
            quote.bidSize *= quoteSizeMultiplier
            quote.askSize *= quoteSizeMultiplier
            return .quote(quote, time: time)
        case .bar(var bar):
            bar.provider = provider
            return .bar(bar)
        }
    }
}

/// Something wrong with a provider: an alert for the operator, and for fatal kinds the
/// end of reconnecting (hammering a provider that refuses us helps nobody).
public struct ProviderIssue: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case authFailed = "auth_failed"
        case notAuthenticated = "not_authenticated"
        case planWithoutStreaming = "plan_without_streaming"
        case insufficientSubscription = "insufficient_subscription"
        case connectionLimit = "connection_limit"
        case symbolLimit = "symbol_limit"
        case slowConsumer = "slow_consumer"
        case rateLimited = "rate_limited"
        case dailyLimit = "daily_limit"
        case premiumOnly = "premium_only"
        case unknownSymbol = "unknown_symbol"
        case invalidRequest = "invalid_request"
        case malformedPayload = "malformed_payload"
        case httpStatus = "http_status"
        case timeout = "timeout"
        case disconnected = "disconnected"
        case unreachable = "unreachable"
        case budget = "budget"
    }

    public var kind: Kind
    /// What happened, naming the provider, the endpoint or message and the symbol.
    public var message: String
    public var symbol: String
    /// Stop reconnecting: retrying cannot help (bad key, plan, limits).
    public var isFatal: Bool
    /// Provider-specific code, e.g. Alpaca's 402 or an HTTP status.
    public var code: Int?

    public init(_ kind: Kind, _ message: String, symbol: String = "", isFatal: Bool = false, code: Int? = nil) {
        self.kind = kind
        self.message = message
        self.symbol = symbol
        self.isFatal = isFatal
        self.code = code
    }

    /// The alert category, e.g. `provider.auth_failed`.
    public var category: String { "provider.\(kind.rawValue)" }

    /// How loud the alert is.
    public var severity: Severity {
        if isFatal { return .critical }
        switch kind {
        case .malformedPayload, .unknownSymbol, .disconnected, .timeout, .budget: return .warning
        default: return .error
        }
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}

/// What a provider may know about the market session, from `market.session` or config.
public enum SessionGate: Sendable, Equatable {
    case open(SessionPhase)
    case closed
}

/// Where a provider delivers what it reads. Safe to use from any task or thread.
public struct ProviderSink: Sendable {
    let onEvent: @Sendable (MarketEvent) -> Void
    let onIssue: @Sendable (ProviderIssue) -> Void
    let onCount: @Sendable (String, UInt64) -> Void
    let onReject: @Sendable (ProviderRejectReason, UInt64) -> Void
    let onConnected: @Sendable () -> Void
    let session: @Sendable () -> SessionGate
    public let logger: Logger

    public init(
        logger: Logger,
        onEvent: @escaping @Sendable (MarketEvent) -> Void,
        onIssue: @escaping @Sendable (ProviderIssue) -> Void = { _ in },
        onCount: @escaping @Sendable (String, UInt64) -> Void = { _, _ in },
        onReject: @escaping @Sendable (ProviderRejectReason, UInt64) -> Void = { _, _ in },
        onConnected: @escaping @Sendable () -> Void = {},
        session: @escaping @Sendable () -> SessionGate = { .open(.regular) }
    ) {
        self.logger = logger
        self.onEvent = onEvent
        self.onIssue = onIssue
        self.onCount = onCount
        self.onReject = onReject
        self.onConnected = onConnected
        self.session = session
    }

    /// Publishes a trade, quote or bar (duplicates after a reconnect are dropped downstream).
    public func emit(_ event: MarketEvent) { onEvent(event) }

    /// Reports a problem that does not end the session (a bad frame, an unknown symbol):
    /// it becomes an alert and a counter.
    public func report(_ issue: ProviderIssue) { onIssue(issue) }

    /// Adds to a provider counter shown in the heartbeat, e.g. `frames` or `requests`.
    public func count(_ name: String, _ amount: UInt64 = 1) { onCount(name, amount) }

    /// Counts messages the provider dropped as unusable (`rejected.<reason>` on the ingestor's
    /// counters, with a rate-limited log line); report the details with ``report(_:)``.
    public func reject(_ reason: ProviderRejectReason, count: UInt64 = 1) { onReject(reason, count) }

    /// Says the provider is connected and subscribed: resets the reconnect backoff.
    public func connected() { onConnected() }

    /// The current session, so REST providers poll only while it is open.
    public var currentSession: SessionGate { session() }
}

/// A market-data source. Adding a provider means writing one type that conforms to this
/// and adding it to ``ProviderRegistry``; docs/providers.md walks through an example.
///
/// `run` connects, subscribes to `symbols` and hands every trade, quote and bar to `sink`
/// until the task is cancelled (shutdown) or the connection ends:
/// - return normally when the stream ended (server closed, network dropped): the ingestor
///   reconnects with backoff and jitter;
/// - throw a ``ProviderIssue`` with `isFatal` for what retrying cannot fix (bad key, plan
///   without streaming, limits): the ingestor raises a critical alert and stops retrying;
/// - throw anything else for a failed attempt: an alert, then a retry with backoff, and a
///   circuit breaker after repeated failures.
/// Never block the calling thread: do I/O asynchronously or on a thread of your own.
public protocol MarketDataProvider: Sendable {
    /// The config name, e.g. `polygon`.
    var name: String { get }
    func run(symbols: [String], sink: ProviderSink) async throws
    /// The longest normal wait between two events for `symbols`, when the provider knows one
    /// (a polling provider's schedule); the silence alert never fires below twice this.
    func expectedEventInterval(symbols: [String]) -> Duration?
    /// The symbols whose events may be published when running for `symbols`; events of
    /// others are dropped and counted (`rejected.unsubscribed_symbol`). `nil` accepts any
    /// symbol (a replay of whatever its files hold), up to ``MarketLimits/maximumSymbols``.
    /// By default exactly `symbols`: a feed that sends what nobody subscribed to is not trusted.
    func acceptedSymbols(for symbols: [String]) -> Set<String>?
    /// Whether event times follow the wall clock (a live feed), so that a time far ahead of
    /// it is an error (`rejected.time_future`); false for a replay or simulation with a clock
    /// of its own. True by default.
    var eventTimesFollowWallClock: Bool { get }
}

extension MarketDataProvider {
    public func expectedEventInterval(symbols: [String]) -> Duration? { nil }
    public func acceptedSymbols(for symbols: [String]) -> Set<String>? { Set(symbols) }
    public var eventTimesFollowWallClock: Bool { true }
}
