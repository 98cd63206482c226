import Contracts
import Foundation
import Logging
import ServiceKit
import Synchronization

/// The `alphavantage` provider: polls Alpha Vantage's REST API within a request budget.
///
/// ## What it does
/// - At start (`ingestor.backfill`): `TIME_SERIES_INTRADAY` 1min compact per symbol → `.bar`
///   events with origin `.backfill`, whatever the session (history is wanted before the open).
/// - Then, while `sink.currentSession` is `.open` (re-checked every
///   `min(update_interval, 15 s)` while closed, and before every request), a cycle every
///   `update_interval`, as ``PollPlan`` describes: `GLOBAL_QUOTE` per symbol → a `.trade`,
///   plus the budget's spare slots as intraday polls → `.bar` origin `.live` for bars newer
///   than the last one emitted. Every request first waits for the ``RequestBudget``.
///
/// ## Events
/// - Trade from `GLOBAL_QUOTE`: price = `05. price`, size 0 (Alpha Vantage gives none),
///   conditions `["global_quote"]`, exchange "", provider `alphavantage`. **Event time = the
///   time the request was sent** (wall clock): Alpha Vantage gives no quote timestamp, only
///   the trading day. Emitted only when price or volume differ from the last emitted quote of
///   that symbol (remembered across retries of `run`).
/// - Bars: the series' US/Eastern (meta `Time Zone`) wall-clock labels converted to UTC
///   nanoseconds, DST-aware; a bar covers [label, label + 1 min). Only bars that have ended by
///   the request time are emitted (the current minute's bar is still forming). The first
///   successful intraday response of a symbol is its backfill (all its bars, origin
///   `.backfill`); later ones emit the bars after the last emitted one, origin `.live`. With
///   backfill off, the first response yields only its newest bar (`.live`).
///
/// ## Problems (see ``AlphaVantage`` for how bodies are classified)
/// - Fatal, thrown: a refused or `demo` API key (`.authFailed`); a URL libcurl rejects
///   (`.invalidRequest`); no function/symbol left to poll (every function premium-only →
///   `.premiumOnly`, every symbol unknown → `.unknownSymbol`).
/// - Reported (`sink.report`) and carried on:
///   - `.rateLimited` (the `Note` per-minute throttle, the 1/s burst `Information`): no
///     request for 60 s (``RequestBudget/backOff(_:)`` `.minute`);
///   - `.dailyLimit`: no request until the oldest request of the last 24 h leaves the window;
///   - `.premiumOnly`: that function is not called again by this provider (with
///     `GLOBAL_QUOTE` gated, live bars are polled for every symbol instead);
///   - `.unknownSymbol` (empty `Global Quote`, or `Error Message` "Invalid API call"): that
///     symbol is not requested with that function again;
///   - `.httpStatus`, `.malformedPayload`, `.timeout`, `.unreachable`, `.disconnected`: the
///     request is skipped. When **every** request of a cycle (or of the backfill round) fails
///     like this, `run` throws a non-fatal ``ProviderIssue`` so that the ingestor's retry
///     backoff and circuit breaker take over.
/// - A response that does not parse never emits anything.
/// - `.budget` (a warning): once per provider instance, at the first `run`, when the plan
///   does not fit the budget (``PollPlan/warning``).
///
/// Counters (`sink.count`): `requests`, `responses` (any HTTP response), `issues.<kind>`,
/// `trades`, `bars`. `sink.connected()` follows the first response of a run with data in it.
/// The API key is never logged and never appears in an issue: URLs are redacted
/// (``URLRedaction``) and Alpha Vantage's texts scrubbed (``AlphaVantage/redact(_:apiKey:)``).
/// Cancelling the task ends `run` normally, aborting a request in flight.
public final class AlphaVantageProvider<C: Clock>: MarketDataProvider where C.Duration == Duration, C.Instant: Sendable {
    /// The provider's settings, from ``TickwireConfig``.
    public struct Settings: Sendable, Equatable {
        /// `provider_url` when set, else `providers.alphavantage.base_url`.
        public var baseURL: String
        /// `providers.alphavantage.entitlement` (`realtime`, `delayed` or empty).
        public var entitlement: String
        public var updateInterval: Duration
        public var requestTimeout: Duration
        public var backfill: Bool
        public var requestsPerMinute: Double
        public var requestsPerDay: Double
        /// How often a closed session is checked again.
        public var closedRecheck: Duration
    }

    public let name = AlphaVantage.providerName
    public let settings: Settings
    /// Shared by every `run` of this provider, so a retry never resets the spending.
    public let budget: RequestBudget<C>
    let apiKey: Secret
    let http: any HTTPClient
    let clock: C
    let wallClock: @Sendable () -> Int64
    private let state = Mutex(State())

    private struct QuoteMark: Equatable {
        var price: Double
        var volume: Double
    }

    private struct Pair: Hashable {
        var function: AlphaVantage.Function
        var symbol: String
    }

    /// What the provider remembers across runs.
    private struct State {
        var lastQuote: [String: QuoteMark] = [:]
        /// Start of the newest bar emitted, per symbol.
        var lastBarStart: [String: Int64] = [:]
        var disabledFunctions: Set<AlphaVantage.Function> = []
        var disabledPairs: Set<Pair> = []
        var intradayCursor = 0
        var budgetWarned = false
    }

    /// Per-run bookkeeping.
    private struct RunContext {
        var connected = false
    }

    /// Reads and checks the settings.
    /// - Parameters:
    ///   - clock: paces requests and cycles (a manual clock in tests).
    ///   - http: the HTTP client; a ``CurlHTTPClient`` when nil.
    ///   - wallClock: UTC nanoseconds now, the event time of quotes and the cut-off for bars.
    public init(
        config: TickwireConfig, clock: C, http: (any HTTPClient)? = nil,
        wallClock: @escaping @Sendable () -> Int64 = WallClock.nanoseconds
    ) throws(ConfigError) {
        guard let key = config.apiKey, !key.value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ConfigError(
                path: "api_key",
                message: "the alphavantage provider needs an API key: set api_key (e.g. \"${ALPHAVANTAGE_API_KEY}\") or TICKWIRE_API_KEY")
        }
        let (urlPath, baseURL) =
            config.providerUrl.isEmpty
            ? ("providers.alphavantage.base_url", config.providers.alphavantage.baseUrl)
            : ("provider_url", config.providerUrl)
        let lowered = baseURL.lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://"), baseURL.count > "http://".count else {
            throw ConfigError(
                path: urlPath, message: "must be an http:// or https:// URL, got '\(URLRedaction.redact(baseURL))'")
        }
        let entitlement = config.providers.alphavantage.entitlement
        guard ["", "realtime", "delayed"].contains(entitlement) else {
            throw ConfigError(
                path: "providers.alphavantage.entitlement",
                message: "must be 'realtime', 'delayed' or empty, got '\(entitlement)'")
        }
        guard config.updateInterval.isFinite, config.updateInterval > 0 else {
            throw ConfigError(path: "update_interval", message: "must be more than 0 seconds")
        }
        let timeout = config.ingestor.requestTimeoutSeconds
        guard timeout.isFinite, timeout > 0 else {
            throw ConfigError(path: "ingestor.request_timeout_seconds", message: "must be more than 0 seconds")
        }
        let rates = config.rateLimit
        guard rates.requestsPerMinute.isFinite, rates.requestsPerMinute > 0 else {
            throw ConfigError(path: "rate_limit.requests_per_minute", message: "must be more than 0")
        }
        guard rates.requestsPerDay.isFinite, rates.requestsPerDay > 0 else {
            throw ConfigError(path: "rate_limit.requests_per_day", message: "must be more than 0")
        }
        settings = Settings(
            baseURL: baseURL, entitlement: entitlement, updateInterval: .seconds(config.updateInterval),
            requestTimeout: .seconds(timeout), backfill: config.ingestor.backfill,
            requestsPerMinute: rates.requestsPerMinute, requestsPerDay: rates.requestsPerDay,
            closedRecheck: .seconds(min(config.updateInterval, 15)))
        budget = RequestBudget(
            requestsPerMinute: rates.requestsPerMinute, requestsPerDay: rates.requestsPerDay, clock: clock)
        apiKey = key
        self.clock = clock
        self.wallClock = wallClock
        self.http = http ?? CurlHTTPClient()
    }

    /// The schedule for `symbols` symbols and whether it fits the budget.
    public func plan(symbols: Int) -> PollPlan {
        PollPlan(
            symbols: symbols, updateInterval: settings.updateInterval.inSeconds,
            requestsPerMinute: settings.requestsPerMinute, requestsPerDay: settings.requestsPerDay,
            backfill: settings.backfill)
    }

    /// Quotes come once per effective interval at best (the budget may stretch it).
    public func expectedEventInterval(symbols: [String]) -> Duration? {
        .seconds(plan(symbols: Set(symbols).count).effectiveQuoteInterval)
    }

    public func run(symbols requested: [String], sink: ProviderSink) async throws {
        var seen = Set<String>()
        let symbols = requested.filter { seen.insert($0).inserted }
        guard !symbols.isEmpty else {
            throw ProviderIssue(.invalidRequest, "alphavantage: no symbols to poll", isFatal: true)
        }
        let plan = plan(symbols: symbols.count)
        sink.logger.info("alphavantage plan: \(plan)")
        let warnNow = state.withLock { state in
            defer { state.budgetWarned = true }
            return !state.budgetWarned
        }
        if warnNow, let warning = plan.warning {
            report(ProviderIssue(.budget, warning), sink)
        }
        var run = RunContext()
        do {
            if settings.backfill {
                try await backfill(symbols, sink: sink, run: &run)
            }
            while true {
                try await waitForOpenSession(sink)
                let cycleStart = clock.now
                try await cycle(symbols, plan: plan, sink: sink, run: &run)
                try await clock.sleep(until: cycleStart.advanced(by: settings.updateInterval), tolerance: nil)
            }
        } catch is CancellationError {
            return
        }
    }

    // MARK: Rounds

    /// One intraday request per symbol not backfilled yet.
    private func backfill(_ symbols: [String], sink: ProviderSink, run: inout RunContext) async throws {
        var tally = Tally()
        for symbol in symbols {
            let needed = state.withLock { state in
                state.lastBarStart[symbol] == nil && Self.enabled(state, .intraday, symbol)
            }
            guard needed else { continue }
            let (result, requestTime) = try await fetch(.intraday, symbol, sink: sink, run: &run) {
                AlphaVantage.parseSeries($0, symbol: symbol, apiKey: self.apiKey.value)
            }
            tally.add(result)
            if case .success(let series) = result {
                emitBars(series, requestTime: requestTime, sink: sink)
            }
        }
        try tally.check("backfill")
    }

    /// One cycle: quotes, then the intraday polls the plan gives room for.
    private func cycle(_ symbols: [String], plan: PollPlan, sink: ProviderSink, run: inout RunContext) async throws {
        let (quoteSymbols, intradaySymbols) = try targets(symbols, plan: plan)
        var tally = Tally()
        for symbol in quoteSymbols {
            guard isOpen(sink) else { break }
            guard state.withLock({ Self.enabled($0, .globalQuote, symbol) }) else { continue }
            let (result, requestTime) = try await fetch(.globalQuote, symbol, sink: sink, run: &run) {
                AlphaVantage.parseQuote($0, symbol: symbol, apiKey: self.apiKey.value)
            }
            tally.add(result)
            if case .success(let quote) = result {
                emitQuote(quote, requestTime: requestTime, sink: sink)
            }
        }
        for symbol in intradaySymbols {
            guard isOpen(sink) else { break }
            guard state.withLock({ Self.enabled($0, .intraday, symbol) }) else { continue }
            let (result, requestTime) = try await fetch(.intraday, symbol, sink: sink, run: &run) {
                AlphaVantage.parseSeries($0, symbol: symbol, apiKey: self.apiKey.value)
            }
            tally.add(result)
            if case .success(let series) = result {
                emitBars(series, requestTime: requestTime, sink: sink)
            }
        }
        try tally.check("cycle")
    }

    /// The symbols to quote and to poll for bars this cycle; throws when nothing is left.
    private func targets(_ symbols: [String], plan: PollPlan) throws -> ([String], [String]) {
        try state.withLock { state throws -> ([String], [String]) in
            let quotes = symbols.filter { Self.enabled(state, .globalQuote, $0) }
            let candidates = symbols.filter { Self.enabled(state, .intraday, $0) }
            if quotes.isEmpty && candidates.isEmpty {
                if state.disabledFunctions.contains(.globalQuote) && state.disabledFunctions.contains(.intraday) {
                    throw ProviderIssue(
                        .premiumOnly, "alphavantage: GLOBAL_QUOTE and TIME_SERIES_INTRADAY both need a premium plan for this key",
                        isFatal: true)
                }
                throw ProviderIssue(
                    .unknownSymbol,
                    "alphavantage: nothing left to poll: \(symbols.joined(separator: ", ")) unknown or not available",
                    isFatal: true)
            }
            // With quotes gated, live bars take their place for every symbol.
            let count = quotes.isEmpty ? candidates.count : min(plan.intradayPerCycle, candidates.count)
            guard count > 0 else { return (quotes, []) }
            let start = state.intradayCursor % candidates.count
            let picked = (0..<count).map { candidates[(start + $0) % candidates.count] }
            state.intradayCursor = (start + count) % candidates.count
            return (quotes, picked)
        }
    }

    /// Whether every request of a round failed in a way retrying later might fix.
    private struct Tally {
        var attempted = 0
        var failed = 0
        var last: ProviderIssue?

        mutating func add<T>(_ result: Result<T, ProviderIssue>) {
            attempted += 1
            if case .failure(let issue) = result, Self.isServiceFailure(issue.kind) {
                failed += 1
                last = issue
            }
        }

        static func isServiceFailure(_ kind: ProviderIssue.Kind) -> Bool {
            switch kind {
            case .timeout, .unreachable, .disconnected, .httpStatus, .malformedPayload: true
            default: false
            }
        }

        func check(_ round: String) throws {
            guard attempted > 0, failed == attempted, let last else { return }
            let requests = attempted == 1 ? "the only request" : "all \(attempted) requests"
            throw ProviderIssue(
                last.kind, "alphavantage: \(requests) of the \(round) failed; last: \(last.message)",
                symbol: attempted == 1 ? last.symbol : "", isFatal: false, code: last.code)
        }
    }

    // MARK: One request

    /// Waits for the budget, sends the request and classifies the answer. Reports non-fatal
    /// issues (and acts on them); throws fatal ones and `CancellationError`.
    private func fetch<T>(
        _ function: AlphaVantage.Function, _ symbol: String, sink: ProviderSink, run: inout RunContext,
        parse: (HTTPResponse) -> Result<T, ProviderIssue>
    ) async throws -> (Result<T, ProviderIssue>, requestTime: Int64) {
        try await budget.acquire()
        let url = AlphaVantage.url(
            base: settings.baseURL, function: function, symbol: symbol, apiKey: apiKey.value,
            entitlement: settings.entitlement)
        let requestTime = wallClock()
        sink.count("requests")
        let result: Result<T, ProviderIssue>
        do {
            let response = try await http.get(url, timeout: settings.requestTimeout)
            sink.count("responses")
            result = parse(response)
        } catch {
            result = .failure(try issue(for: error, function, symbol))
        }
        switch result {
        case .success:
            if !run.connected {
                run.connected = true
                sink.connected()
            }
        case .failure(let issue):
            if issue.isFatal {
                sink.count("issues.\(issue.kind.rawValue)")
                throw issue
            }
            act(on: issue, function, symbol, sink: sink)
            if issue.kind == .malformedPayload { sink.reject(.malformed) }
            report(issue, sink)
        }
        return (result, requestTime)
    }

    /// An HTTP failure as an issue; cancellation as `CancellationError`.
    private func issue(for error: HTTPError, _ function: AlphaVantage.Function, _ symbol: String) throws -> ProviderIssue {
        let context = "alphavantage \(function.rawValue) \(symbol)"
        let detail = AlphaVantage.redact(error.description, apiKey: apiKey.value)
        switch error.kind {
        case .cancelled:
            throw CancellationError()
        case .timeout:
            return ProviderIssue(
                .timeout, "\(context): no response within \(PollPlan.format(settings.requestTimeout.inSeconds)) s: \(detail)",
                symbol: symbol)
        case .unreachable:
            return ProviderIssue(.unreachable, "\(context): cannot connect: \(detail)", symbol: symbol)
        case .invalidRequest:
            return ProviderIssue(.invalidRequest, "\(context): the request was refused locally: \(detail)", isFatal: true)
        case .tooLarge, .transport:
            return ProviderIssue(.disconnected, "\(context): \(detail)", symbol: symbol)
        }
    }

    /// What a non-fatal issue changes: back-off, or a function/symbol dropped.
    private func act(on issue: ProviderIssue, _ function: AlphaVantage.Function, _ symbol: String, sink: ProviderSink) {
        switch issue.kind {
        case .rateLimited:
            budget.backOff(.minute)
        case .dailyLimit:
            budget.backOff(.day)
        case .premiumOnly:
            state.withLock { _ = $0.disabledFunctions.insert(function) }
            sink.logger.warning("alphavantage: \(function.rawValue) needs a premium plan; not calling it again")
        case .unknownSymbol:
            state.withLock { _ = $0.disabledPairs.insert(Pair(function: function, symbol: symbol)) }
            sink.logger.warning("alphavantage: \(symbol) unknown to \(function.rawValue); not requesting it again")
        default:
            break
        }
    }

    private func report(_ issue: ProviderIssue, _ sink: ProviderSink) {
        sink.count("issues.\(issue.kind.rawValue)")
        sink.report(issue)
    }

    private static func enabled(_ state: State, _ function: AlphaVantage.Function, _ symbol: String) -> Bool {
        !state.disabledFunctions.contains(function) && !state.disabledPairs.contains(Pair(function: function, symbol: symbol))
    }

    // MARK: Events

    private func emitQuote(_ quote: AlphaVantage.Quote, requestTime: Int64, sink: ProviderSink) {
        let mark = QuoteMark(price: quote.price, volume: quote.volume)
        let changed = state.withLock { state in
            guard state.lastQuote[quote.symbol] != mark else { return false }
            state.lastQuote[quote.symbol] = mark
            return true
        }
        guard changed else { return }
        var trade = Trade()
        trade.symbol = quote.symbol
        trade.price = quote.price
        trade.size = 0
        trade.exchange = ""
        trade.conditions = ["global_quote"]
        trade.provider = AlphaVantage.providerName
        sink.emit(.trade(trade, time: requestTime))
        sink.count("trades")
    }

    private func emitBars(_ series: AlphaVantage.Series, requestTime: Int64, sink: ProviderSink) {
        let complete = series.bars.filter { $0.endNs <= requestTime }
        let backfill = settings.backfill
        let (origin, fresh) = state.withLock { state -> (BarOrigin, [AlphaVantage.Bar]) in
            let fresh: [AlphaVantage.Bar]
            let origin: BarOrigin
            if let mark = state.lastBarStart[series.symbol] {
                (origin, fresh) = (.live, complete.filter { $0.startNs > mark })
            } else if backfill {
                (origin, fresh) = (.backfill, complete)
            } else {
                (origin, fresh) = (.live, Array(complete.suffix(1)))
            }
            if let newest = fresh.last { state.lastBarStart[series.symbol] = newest.startNs }
            return (origin, fresh)
        }
        for source in fresh {
            var bar = Bar()
            bar.symbol = series.symbol
            bar.startTimeNs = source.startNs
            bar.endTimeNs = source.endNs
            bar.open = source.open
            bar.high = source.high
            bar.low = source.low
            bar.close = source.close
            bar.volume = source.volume
            bar.origin = origin
            bar.provider = AlphaVantage.providerName
            sink.emit(.bar(bar))
        }
        if !fresh.isEmpty { sink.count("bars", UInt64(fresh.count)) }
    }

    // MARK: Session

    private func isOpen(_ sink: ProviderSink) -> Bool {
        if case .open = sink.currentSession { return true }
        return false
    }

    private func waitForOpenSession(_ sink: ProviderSink) async throws {
        while !isOpen(sink) {
            try await clock.sleep(for: settings.closedRecheck)
        }
    }
}

extension AlphaVantageProvider where C == ContinuousClock {
    /// The provider as the ingestor runs it: real clock, libcurl client.
    public convenience init(config: TickwireConfig) throws(ConfigError) {
        try self.init(config: config, clock: ContinuousClock())
    }
}
