import Bus
import Contracts
import Foundation
import Logging
import MarketCalendar
import SessionClient
import ServiceKit
import ServiceLifecycle
import Synchronization
import Timekeeping

/// Runs one ``MarketDataProvider`` for the ingestor and keeps it up: publishes its events
/// (without duplicates), turns its issues into alerts, reconnects with backoff and jitter,
/// opens a circuit after repeated failures, stops retrying on fatal issues, follows
/// `market.session`, and raises `provider.feed_silent` when an open market goes quiet.
public struct ProviderService: Service {
    let environment: ServiceEnvironment
    let provider: any MarketDataProvider
    let symbols: [String]
    let state: SharedState
    let calendar: MarketCalendar
    /// Sees every message published (after deduplication), e.g. the history endpoint's store.
    let observer: (@Sendable (Envelope.OneOf_Payload, _ eventTime: Int64) -> Void)?
    /// Symbols whose events are published; nil for any (``MarketDataProvider/acceptedSymbols(for:)``).
    let acceptedSymbols: Set<String>?
    /// How far ahead of the wall clock a live provider's event time may be, ns; nil for a
    /// provider with its own clock.
    let maximumFuture: Int64?
    /// Rate-limits the log lines about rejected messages.
    let rejectLog = LogThrottle()
    /// Per-symbol freshness on the scrape (`tickwire_feed_age_seconds`, `tickwire_feed_stale`).
    let freshnessMetrics: FreshnessMetrics

    /// State shared by the provider's sink, the session listener and the watchdog.
    final class SharedState: Sendable {
        struct Values {
            var dedup = EventDeduplicator()
            /// Bounded by `acceptedSymbols`, or by ``MarketLimits/maximumSymbols`` without it.
            var topics: [String: (tick: Topic, bar: Topic)] = [:]
            var session: SessionGate
            var sessionFromScheduler = false
            var lastEventAt: ContinuousClock.Instant
            var silentAlerted = false
            var connectedThisAttempt = false
            /// Each symbol's freshness against its own rate (stale is not quiet).
            var freshness: SymbolFreshness
            /// Set by the watchdog when stale symbols call for subscribing again.
            var resubscribeRequested = false
            var lastResubscribeAt: ContinuousClock.Instant?
            /// Per alert key (category and symbol, which may come from a provider's text):
            /// when one was last raised and how many were held back since.
            var alerts = RecencyMap<String, AlertMark>(capacity: ProviderService.alertKeyCapacity)
        }

        struct AlertMark: Sendable {
            var sentAt: ContinuousClock.Instant
            var suppressed: Int
        }

        let values: Mutex<Values>

        init(session: SessionGate, freshness: SymbolFreshness) {
            values = Mutex(Values(session: session, lastEventAt: .now, freshness: freshness))
        }
    }

    public init(
        environment: ServiceEnvironment, provider: any MarketDataProvider,
        observer: (@Sendable (Envelope.OneOf_Payload, _ eventTime: Int64) -> Void)? = nil
    ) throws(ConfigError) {
        self.environment = environment
        self.provider = provider
        self.observer = observer
        symbols = environment.config.tickers
        acceptedSymbols = provider.acceptedSymbols(for: symbols)
        maximumFuture =
            provider.eventTimesFollowWallClock
            ? Nanoseconds.clampingSeconds(environment.config.ingestor.maxFutureSeconds) : nil
        calendar = try MarketCalendar.configured(environment.config)
        let (phase, _) = SessionFollower.fallback(config: environment.config, calendar: calendar, now: WallClock.nanoseconds())
        let ingestor = environment.config.ingestor
        state = SharedState(
            session: phase == .closed ? .closed : .open(phase),
            freshness: SymbolFreshness(
                factor: ingestor.staleFactor, minimum: Nanoseconds.duration(seconds: ingestor.staleMinSeconds)))
        freshnessMetrics = FreshnessMetrics(service: environment.name, instance: environment.producer.instance)
    }

    public func run() async throws {
        let logger = environment.logger
        logger.info("provider \(provider.name) for \(symbols.joined(separator: ","))")
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await listenForSessions() }
            group.addTask { await watchForSilence() }
            await superviseProvider()
            group.cancelAll()
        }
    }

    // MARK: The provider loop

    func superviseProvider() async {
        let settings = environment.config.ingestor
        let backoff = RetryPolicy(
            maxRetries: .max, initialDelay: Nanoseconds.duration(seconds: settings.reconnectInitialSeconds),
            multiplier: 2, maximumDelay: Nanoseconds.duration(seconds: settings.reconnectMaxSeconds), jitter: 0.25)
        var breaker = CircuitBreaker<ContinuousClock>(
            failureThreshold: settings.circuitFailureThreshold,
            openDuration: Nanoseconds.duration(seconds: settings.circuitOpenSeconds))
        var attempt = 0
        let sink = makeSink()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if case .reject(let retryAfter) = breaker.decide(at: .now) {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: retryAfter) }
                continue
            }
            state.values.withLock { $0.connectedThisAttempt = false }
            guard let outcome = await runProviderUntilResubscribe(sink: sink) else {
                environment.counters.add("provider.resubscribes")
                freshnessMetrics.resubscribes.increment()
                continue  // stale symbols: subscribe again at once
            }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            let connected = state.values.withLock { $0.connectedThisAttempt }
            if connected {
                attempt = 0
                breaker.recordSuccess()
            }
            switch outcome {
            case .success:
                environment.logger.notice("\(provider.name): stream ended; reconnecting")
            case .failure(let issue as ProviderIssue) where issue.isFatal:
                alert(issue)
                environment.counters.setState(.degraded)
                environment.logger.critical(
                    "\(provider.name): \(issue.message) — not retrying (fix the cause and restart the ingestor)")
                try? await gracefulShutdown()
                return
            case .failure(let error):
                let issue = (error as? ProviderIssue) ?? ProviderIssue(.unreachable, "\(provider.name): \(error)")
                alert(issue)
                if !connected && breaker.recordFailure(at: .now) {
                    environment.counters.setState(.degraded)
                    let failures = settings.circuitFailureThreshold
                    let openFor = Nanoseconds.clamping(settings.circuitOpenSeconds)
                    alert(
                        ProviderIssue(
                            .unreachable,
                            "\(provider.name): circuit open after \(failures) consecutive failures; "
                                + "next try in \(openFor) s"),
                        category: "provider.circuit_open")
                    continue
                }
            }
            attempt = min(attempt + 1, 64)  // the backoff reaches its maximum long before
            environment.counters.add("provider.reconnects")
            let delay = backoff.delay(beforeRetry: attempt, unit: Double.random(in: 0..<1))
            environment.logger.info("\(provider.name): reconnecting in \(String(format: "%.1f", delay.inSeconds)) s")
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
        }
    }

    /// Runs the provider once: its outcome, or nil when the watchdog asked to subscribe again
    /// (``watchForSilence()``), which ends the run first.
    func runProviderUntilResubscribe(sink: ProviderSink) async -> Result<Void, any Error>? {
        let state = self.state
        return await withTaskGroup(of: Result<Void, any Error>?.self) { group in
            group.addTask {
                do {
                    try await cancelWhenGracefulShutdown { try await provider.run(symbols: symbols, sink: sink) }
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    let requested = state.values.withLock { values in
                        defer { values.resubscribeRequested = false }
                        return values.resubscribeRequested
                    }
                    if requested { return nil }
                    try? await Task.sleep(for: .milliseconds(200))
                }
                return .success(())  // cancelled: the provider's run ended first
            }
            let first = await group.next() ?? .success(())
            group.cancelAll()
            guard let outcome = first else {
                await group.waitForAll()
                return nil
            }
            return outcome
        }
    }

    func makeSink() -> ProviderSink {
        let environment = self.environment
        let state = self.state
        let service = self
        let includeExtended = environment.config.marketHours.includeExtendedHours
        return ProviderSink(
            logger: environment.logger,
            onEvent: { event in service.publish(event) },
            onIssue: { issue in service.alert(issue) },
            onCount: { [name = provider.name] counter, amount in
                environment.counters.add("provider.\(name).\(counter)", amount)
            },
            onReject: { reason, count in service.reject(reason, count: count) },
            onConnected: {
                let first = state.values.withLock { values -> Bool in
                    defer { values.connectedThisAttempt = true }
                    return !values.connectedThisAttempt
                }
                if first {
                    environment.counters.setState(.running)
                    environment.logger.info("connected and subscribed")
                }
            },
            session: {
                let gate = state.values.withLock { $0.session }
                if case .open(let phase) = gate, !includeExtended, phase == .preMarket || phase == .postMarket {
                    return .closed
                }
                return gate
            }
        )
    }

    /// The most alert keys (category and symbol) whose throttling is remembered.
    static let alertKeyCapacity = 1_024
    /// Alert messages are cut to this many characters (they may quote a provider's text).
    static let alertTextLimit = 1_000

    /// What `publish` decided about one event.
    private enum Admission {
        case publish(topics: (tick: Topic, bar: Topic), resumed: Bool, freshAgain: Bool)
        case duplicate
        case rejected(ProviderRejectReason)
    }

    /// Publishes one event unless it was published already, or is not one to publish: a
    /// symbol not subscribed to, a value out of range (``MarketLimits``), a live event time
    /// more than `ingestor.max_future_seconds` ahead. Those are counted
    /// (`rejected.<reason>`) and logged (rate-limited).
    func publish(_ event: MarketEvent) {
        if let reason = MarketLimits.rejection(of: event) {
            reject(reason, event: event)
            return
        }
        if let maximumFuture {
            let time: Int64
            switch event {
            case .trade(_, let eventTime), .quote(_, let eventTime): time = eventTime
            case .bar(let bar): time = bar.endTimeNs
            }
            if time > Nanoseconds.adding(WallClock.nanoseconds(), maximumFuture) {
                reject(.timeFuture, event: event)
                return
            }
        }
        let symbol = event.symbol
        let acceptedSymbols = self.acceptedSymbols
        let admission = state.values.withLock { values -> Admission in
            if let acceptedSymbols, !acceptedSymbols.contains(symbol) { return .rejected(.unsubscribedSymbol) }
            let topics: (tick: Topic, bar: Topic)
            if let known = values.topics[symbol] {
                topics = known
            } else {
                guard values.topics.count < MarketLimits.maximumSymbols else { return .rejected(.symbolLimit) }
                guard let tick = try? Topic.tick(symbol), let bar = try? Topic.bar(symbol) else {
                    return .rejected(.invalidSymbol)
                }
                topics = (tick, bar)
            }
            guard values.dedup.isNew(event) else { return .duplicate }
            values.topics[symbol] = topics
            let now = ContinuousClock.now
            values.lastEventAt = now
            let freshAgain = values.freshness.record(symbol, at: now)
            let resumed = values.silentAlerted
            values.silentAlerted = false
            return .publish(topics: topics, resumed: resumed, freshAgain: freshAgain)
        }
        let topics: (tick: Topic, bar: Topic)
        switch admission {
        case .duplicate:
            environment.counters.add("provider.duplicates")
            return
        case .rejected(let reason):
            reject(reason, event: event)
            return
        case .publish(let admitted, let resumed, let freshAgain):
            if resumed { environment.logger.notice("data flowing again") }
            if freshAgain {
                environment.counters.add("provider.stale_recovered")
                environment.logger.notice("\(symbol.prefix(40)): data flowing again (was stale)")
            }
            topics = admitted
        }
        environment.counters.addIn()
        switch event {
        case .trade(let trade, let time):
            environment.publish(.trade(trade), on: topics.tick, eventTime: time)
            environment.counters.add("provider.trades")
            observer?(.trade(trade), time)
        case .quote(let quote, let time):
            environment.publish(.quote(quote), on: topics.tick, eventTime: time)
            environment.counters.add("provider.quotes")
        case .bar(let bar):
            environment.publish(.bar(bar), on: topics.bar, eventTime: bar.endTimeNs)
            environment.counters.add(bar.origin == .backfill ? "provider.backfill_bars" : "provider.bars")
            observer?(.bar(bar), bar.endTimeNs)
        }
    }

    /// Counts `count` messages dropped for `reason` and logs it, rate-limited.
    func reject(_ reason: ProviderRejectReason, count: UInt64 = 1, event: MarketEvent? = nil) {
        guard count > 0 else { return }
        environment.counters.add(reason.counterName, count)
        guard rejectLog.shouldReport() else { return }
        let what = event.map { " (\(Self.describe($0)))" } ?? ""
        environment.logger.warning("\(provider.name): dropped \(count) message(s): \(reason.rawValue)\(what)")
    }

    /// A short description of an event for log lines (the symbol cut to 40 characters).
    static func describe(_ event: MarketEvent) -> String {
        switch event {
        case .trade(let trade, let time):
            "trade \(trade.symbol.prefix(40)) price \(trade.price) size \(trade.size) time \(time)"
        case .quote(let quote, let time):
            "quote \(quote.symbol.prefix(40)) bid \(quote.bidPrice) ask \(quote.askPrice) time \(time)"
        case .bar(let bar):
            "bar \(bar.symbol.prefix(40)) \(bar.startTimeNs)..\(bar.endTimeNs) low \(bar.low) high \(bar.high) "
                + "volume \(bar.volume)"
        }
    }

    /// Raises an alert for `issue`, at most once a minute per category and symbol (the rest
    /// are counted and reported with the next one). The keys remembered are capped
    /// (``alertKeyCapacity``; the least recently seen go first, counted in
    /// `provider.alert_keys_evicted`).
    func alert(_ issue: ProviderIssue, category: String? = nil) {
        let category = category ?? issue.category
        environment.counters.add("provider.issues.\(issue.kind.rawValue)")
        environment.counters.addError()
        let key = "\(category)|\(issue.symbol.prefix(64))"
        let (suppressed, evicted) = state.values.withLock { values -> (Int?, Int) in
            let now = ContinuousClock.now
            if var mark = values.alerts.value(for: key), now - mark.sentAt < .seconds(60), !issue.isFatal {
                mark.suppressed += 1
                values.alerts.set(mark, for: key)
                return (nil, 0)
            }
            let suppressed = values.alerts.value(for: key)?.suppressed ?? 0
            let before = values.alerts.evictions
            values.alerts.set(SharedState.AlertMark(sentAt: now, suppressed: 0), for: key)
            return (suppressed, Int(values.alerts.evictions - before))
        }
        if evicted > 0 { environment.counters.add("provider.alert_keys_evicted", UInt64(evicted)) }
        guard let suppressed else { return }
        var details = ["provider": provider.name, "kind": issue.kind.rawValue, "fatal": String(issue.isFatal)]
        if let code = issue.code { details["code"] = String(code) }
        if suppressed > 0 { details["suppressed_since_last"] = String(suppressed) }
        environment.raiseAlert(
            issue.severity, category: category, title: "\(provider.name): \(issue.kind.rawValue.replacingOccurrences(of: "_", with: " "))",
            message: String(issue.message.prefix(Self.alertTextLimit)), symbol: String(issue.symbol.prefix(64)),
            details: details)
    }

    // MARK: Session and silence

    /// Follows `market.session` from the scheduler, with `ingestor.session_default` as the
    /// fallback while none is heard (``SessionFollower``).
    func listenForSessions() async {
        let state = self.state
        let follower = SessionFollower(environment: environment, calendar: calendar) { phase, source in
            let gate: SessionGate = phase == .closed || phase == .unspecified ? .closed : .open(phase)
            state.values.withLock { values in
                values.session = gate
                values.sessionFromScheduler = source == .scheduler
            }
        }
        await follower.run()
    }

    /// Raises `provider.feed_silent` once when no data arrived for `feed_silence_seconds`
    /// while the market is open; marks symbols stale against their own rate
    /// (``SymbolFreshness``), raises `provider.symbol_stale` and asks for a new subscription
    /// (``runProviderUntilResubscribe(sink:)``), at most once per ``resubscribeInterval``.
    func watchForSilence() async {
        let settings = environment.config.ingestor
        let configured = Nanoseconds.duration(seconds: settings.feedSilenceSeconds)
        let expected = provider.expectedEventInterval(symbols: symbols) ?? .zero
        let limit = max(configured, expected * 2)
        if limit > configured {
            environment.logger.info(
                "feed silence alert after \(Int(limit.inSeconds)) s: \(provider.name) delivers at most every \(Int(expected.inSeconds)) s")
        }
        let staleMinimum = Nanoseconds.duration(seconds: settings.staleMinSeconds)
        let period = max(min(limit / 4, staleMinimum / 4, .seconds(5)), .milliseconds(50))
        let resubscribeInterval = max(Self.resubscribeInterval, staleMinimum)
        let includeExtended = environment.config.marketHours.includeExtendedHours
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: period) }
            let now = ContinuousClock.now
            let (silentFor, newlyStale, resubscribe) = state.values.withLock {
                values -> (Duration?, [(symbol: String, silentFor: Duration)], Bool) in
                var open = false
                if case .open(let phase) = values.session {
                    open = includeExtended || phase == .regular
                }
                guard open else {
                    values.lastEventAt = now  // silence only counts while open
                    values.freshness.pause(at: now)
                    return (nil, [], false)
                }
                let newlyStale = values.freshness.check(at: now)
                var resubscribe = false
                if settings.resubscribeStale, !newlyStale.isEmpty, values.connectedThisAttempt,
                    values.lastResubscribeAt.map({ now - $0 >= resubscribeInterval }) ?? true
                {
                    values.lastResubscribeAt = now
                    values.resubscribeRequested = true
                    resubscribe = true
                }
                let silence = now - values.lastEventAt
                guard silence >= limit, !values.silentAlerted else { return (nil, newlyStale, resubscribe) }
                values.silentAlerted = true
                return (silence, newlyStale, resubscribe)
            }
            publishFreshness(at: now)
            if let silentFor {
                let seconds = Int(silentFor.inSeconds)
                environment.counters.add("provider.silences")
                environment.raiseAlert(
                    .warning, category: "provider.feed_silent", title: "\(provider.name): feed silent",
                    message: "no market data from \(provider.name) for \(seconds) s while the market is open",
                    details: ["provider": provider.name, "seconds": String(seconds)])
            }
            if !newlyStale.isEmpty { reportStale(newlyStale, resubscribing: resubscribe) }
        }
    }

    /// The shortest time between two new subscriptions for stale symbols.
    static let resubscribeInterval = Duration.seconds(60)
    /// Stale symbols named in one alert; the rest are counted.
    static let staleSymbolsNamed = 20

    /// One `provider.symbol_stale` warning for the symbols that just went stale.
    func reportStale(_ stale: [(symbol: String, silentFor: Duration)], resubscribing: Bool) {
        environment.counters.add("provider.stale_symbols", UInt64(stale.count))
        let named = stale.prefix(Self.staleSymbolsNamed).map { "\($0.symbol.prefix(40)) (\(Int($0.silentFor.inSeconds)) s)" }
        let more = stale.count > named.count ? " and \(stale.count - named.count) more" : ""
        let action = resubscribing ? "; subscribing again" : ""
        environment.raiseAlert(
            .warning, category: "provider.symbol_stale",
            title: "\(provider.name): \(stale.count) symbol(s) stale",
            message: "no data for \(named.joined(separator: ", "))\(more), far longer than each one's usual interval "
                + "while the feed is connected\(action)",
            symbol: stale.count == 1 ? String(stale[0].symbol.prefix(64)) : "",
            details: ["provider": provider.name, "symbols": String(stale.count), "resubscribing": String(resubscribing)])
    }

    /// Sets the per-symbol freshness gauges.
    func publishFreshness(at now: ContinuousClock.Instant) {
        let ages = state.values.withLock { $0.freshness.ages(at: now) }
        var staleCount = 0
        for entry in ages {
            freshnessMetrics.age.set(entry.symbol, entry.age)
            freshnessMetrics.stale.set(entry.symbol, entry.stale ? 1 : 0)
            if entry.stale { staleCount += 1 }
        }
        environment.counters.set("provider.stale_symbols_now", UInt64(staleCount))
    }
}

/// The ingestor's per-symbol freshness series.
struct FreshnessMetrics: Sendable {
    let age: KeyedGauge
    let stale: KeyedGauge
    let resubscribes: FixedCounter

    init(service: String, instance: String) {
        let labels = [("service", service), ("instance", instance)]
        age = KeyedGauge(
            metric: "feed_age", unit: "seconds", labels: labels, keyLabel: "symbol",
            help: "Seconds since the symbol's last event from the provider (symbols capped; the rest are other).")
        stale = KeyedGauge(
            metric: "feed_stale", labels: labels, keyLabel: "symbol",
            help: "1 while the symbol is stale: silent far longer than its own usual interval, the market open.")
        resubscribes = FixedCounter(
            metric: "feed_resubscribes", labels: labels, help: "New subscriptions made because symbols went stale.")
    }
}
