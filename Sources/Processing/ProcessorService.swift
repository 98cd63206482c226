import Bars
import Bus
import Contracts
import Foundation
import Indicators
import Logging
import ServiceKit
import ServiceLifecycle
import Synchronization
import Timekeeping

/// The processor: for its ticker set, turns trades (or provider bars) into bars, indicators
/// and features, and publishes `bar.<SYMBOL>` and `features.<SYMBOL>`.
///
/// At start it subscribes first (so nothing is missed), then warms up from the history
/// endpoints, then processes the buffered and live messages. Bars close on time: a timer
/// closes each ticker's bars once the event clock passes their end plus the late tolerance,
/// so a silent ticker does not hold a bar open.
public struct ProcessorService: Service {
    let environment: ServiceEnvironment
    let settings: ProcessorSettings
    let state: State
    /// When the service (and its publisher, opened just before) started.
    let startedAt = ContinuousClock.now
    /// A new PUB connection drops what it sends until the proxy's subscriptions reach it
    /// (ZeroMQ's slow joiner, ~2 ms on loopback): the warm-up's features wait this long
    /// after start so they are not lost.
    static let publisherSettle = Duration.milliseconds(300)

    final class State: Sendable {
        struct Values {
            /// One per ticker of this instance, made at start; never grows with what arrives.
            var pipelines: [String: TickerPipeline]
            var clock: EventClock
            /// Keyed by a fixed category and one of our tickers (or ""): bounded by construction.
            var alertedAt: [String: ContinuousClock.Instant] = [:]
            /// Elastic: the other elastic processors heard from.
            var membership: ShardMembership
            /// The tickers served now, in order: the pipelines' keys.
            var owned: [String]
        }
        let values: Mutex<Values>
        /// Rate-limits the log lines about dropped messages.
        let rejectionLog = LogThrottle()
        init(pipelines: [String: TickerPipeline], clock: EventClock, own: String) {
            values = Mutex(
                Values(
                    pipelines: pipelines, clock: clock, membership: ShardMembership(own: own),
                    owned: pipelines.keys.sorted()))
        }
    }

    /// - Parameter reference: the clock event times are checked against (`max_event_lead_seconds`):
    ///   the wall clock live; a replay or backtest passes the data's own clock.
    public init(environment: ServiceEnvironment, settings: ProcessorSettings, reference: ReferenceClock = .wall) {
        self.environment = environment
        self.settings = settings
        var pipelines: [String: TickerPipeline] = [:]
        // Elastic: pipelines are made as tickers are won (``rebalance(_:)``).
        if !settings.elastic {
            for symbol in settings.tickers { pipelines[symbol] = TickerPipeline(symbol: symbol, settings: settings) }
        }
        state = State(
            pipelines: pipelines, clock: EventClock(maxLeadNs: settings.maxEventLeadNs, reference: reference),
            own: settings.instance)
        // The first heartbeat already says this instance is elastic, before it takes anything.
        if settings.elastic { environment.counters.set("shard.elastic", 1) }
    }

    /// The patterns of one ticker's input; elastic processors also hear others' features of
    /// the tickers they own, to count a ticker served twice.
    func inputPatterns(_ symbol: String) throws -> [TopicPattern] {
        let kind = settings.barSource == .trades ? Topic.tickKind : Topic.barKind
        var patterns = [TopicPattern(exact: try Topic(kind: kind, key: symbol))]
        if settings.elastic { patterns.append(TopicPattern(exact: try Topic.features(symbol))) }
        return patterns
    }

    public func run() async throws {
        let logger = environment.logger
        let patterns =
            settings.elastic
            ? [TopicPattern(exact: try Topic.status("processor"))]
            : try settings.tickers.flatMap { try inputPatterns($0) }
        let subscription = try await environment.subscribe(patterns)
        if settings.elastic {
            logger.info(
                "elastic processor \(settings.instance): shares \(settings.tickers.count) tickers with the other elastic processors; \(Int(settings.barIntervalNs / 1_000_000_000)) s bars from \(settings.barSource.rawValue)")
        } else {
            logger.info(
                "processor \(settings.instance) for \(settings.tickers.joined(separator: ",")): \(Int(settings.barIntervalNs / 1_000_000_000)) s bars from \(settings.barSource.rawValue)")
        }
        if let speed = settings.simulatorSpeed {
            let lead = Nanoseconds.seconds(settings.maxEventLeadNs)
            logger.warning(
                """
                simulator.speed \(speed) runs the market ahead of the wall clock by \(speed - 1) s every second; \
                trades more than processor.max_event_lead_seconds (\(lead) s) ahead are dropped \
                (rejected.future_time): raise it to at least (speed - 1) x the run's length in seconds
                """)
        }
        let missing = settings.elastic ? [] : await warmUp(symbols: settings.tickers)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await retryWarmUp(missing) }
            if settings.elastic {
                group.addTask { await rebalance(subscription) }
            }
            if settings.barSource == .trades {
                group.addTask { await closeBarsOnTime() }
            }
            group.addTask {
                for try await delivery in subscription.cancelOnGracefulShutdown() { handle(delivery) }
            }
            // The consumer ends on shutdown (or fails); then stop the timer and retries.
            while let _ = try await group.next() {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
            }
            group.cancelAll()
        }
        await subscription.close()
    }

    // MARK: Warm-up

    /// Fetches recent bars for tickers whose features are not ready yet, warms them up and
    /// publishes each one's newest features, so consumers have them at once. Returns the
    /// tickers still not ready (an endpoint was down, or the ingestor had nothing yet).
    @discardableResult
    func warmUp(symbols: [String]) async -> [String] {
        guard !settings.historyEndpoints.isEmpty, !symbols.isEmpty else { return [] }
        let options: SocketOptions
        do {
            // The history endpoint is the ingestor's: its key is the server's.
            options = try environment.clientOptions(server: "ingestor")
        } catch {
            environment.logger.error("cannot ask for history: \(error)")
            return symbols
        }
        let client = HistoryClient(
            context: environment.context, endpoints: settings.historyEndpoints, timeout: settings.historyTimeout,
            requester: "processor/\(settings.instance)", options: options)
        let started = ContinuousClock.now
        let result = await client.fetch(
            symbols: symbols, intervalNs: settings.barIntervalNs,
            maxBars: max(settings.windowSize, Self.warmUpBars), source: settings.barSource.rawValue)
        for problem in result.problems {
            environment.logger.warning("history: \(problem)")
            environment.counters.add("history.failures")
        }
        for (counter, count) in result.rejected.sorted(by: { $0.key < $1.key }) {
            environment.counters.add(counter, count)
            environment.logger.warning("history: dropped \(count) bar(s) from the replies (\(counter))")
        }
        var (notReady, latest, fed) = feed(result.bars, symbols: symbols)
        // The ingestor restarted too (kill -9 loses its history): the journal has the bars
        // this processor published before.
        if !notReady.isEmpty {
            let journaled = await journalBars(symbols: notReady)
            if !journaled.isEmpty {
                let more = feed(journaled, symbols: notReady)
                environment.counters.add("history.journal_bars", UInt64(more.fed))
                environment.logger.info(
                    "warm-up: \(more.fed) bars from the journal for \(notReady.count - more.notReady.count) of \(notReady.count) tickers the history endpoints did not cover")
                notReady = more.notReady
                latest += more.latest
                fed += more.fed
            }
        }
        if !latest.isEmpty { try? await Task.sleep(until: startedAt + Self.publisherSettle, clock: .continuous) }
        for features in latest { publishFeatures(features) }
        environment.counters.add("history.bars", UInt64(fed))
        environment.logger.info(
            "warm-up: \(fed) bars from history, \(latest.count) of \(symbols.count) tickers ready in \(ContinuousClock.now - started)")
        return notReady
    }

    /// Feeds `bars` (per symbol, oldest first) to the pipelines of `symbols` that are not
    /// ready yet. Returns the symbols still not ready, the newest features of those that
    /// became ready, and how many bars were fed.
    func feed(_ bars: [String: [Bar]], symbols: [String]) -> (notReady: [String], latest: [FeatureVector], fed: Int) {
        var latest: [FeatureVector] = []
        var fed = 0
        var future: UInt64 = 0
        let notReady = state.values.withLock { values -> [String] in
            var notReady: [String] = []
            for symbol in symbols {
                guard values.pipelines[symbol]?.isReady == false else { continue }
                let clock = values.clock
                let bars = bars[symbol]?.filter { bar in
                    guard clock.accepts(bar.startTimeNs) else {
                        future += 1
                        return false
                    }
                    return true
                }
                if let bars, !bars.isEmpty,
                    let output = values.pipelines[symbol]?.warmUp(from: bars)
                {
                    fed += bars.count
                    if let features = output.features { latest.append(features) }
                    if let end = bars.last?.endTimeNs { values.clock.observe(eventTime: end) }
                }
                if values.pipelines[symbol]?.isReady == false { notReady.append(symbol) }
            }
            return notReady
        }
        if future > 0 { environment.counters.add("history.rejected.future_time", future) }
        return (notReady, latest, fed)
    }

    /// The last ``warmUpBars`` bars of each of `symbols` from the journal's record of
    /// `bar.<SYMBOL>`: bars of this processor's interval with no problem, this processor's own
    /// first where another producer's cover the same period. Empty when there is no journal.
    func journalBars(symbols: [String]) async -> [String: [Bar]] {
        let client: JournalClient?
        do { client = try JournalClient(environment: environment) } catch {
            environment.logger.error("cannot ask the journal for bars: \(error)")
            return [:]
        }
        guard let client else { return [:] }
        let interval = settings.barIntervalNs
        let span = Nanoseconds.multiplying(interval, Int64(Self.warmUpBars + 5))
        let from = Nanoseconds.subtracting(WallClock.nanoseconds(), span)
        let patterns = symbols.compactMap { symbol in (try? Topic.bar(symbol)).map { TopicPattern(exact: $0) } }
        var bySymbol: [String: [Int64: Bar]] = [:]
        do {
            _ = try await client.messages(.patterns(patterns, fromNs: from), maxMessages: symbols.count * Self.warmUpBars * 4) {
                delivery in
                guard case .bar(let bar) = delivery.payload, bar.symbol == delivery.topic.key, bar.problem == nil,
                    Nanoseconds.checkedSubtracting(bar.endTimeNs, bar.startTimeNs) == interval
                else { return }
                if delivery.producer.service == "processor" || bySymbol[bar.symbol]?[bar.startTimeNs] == nil {
                    bySymbol[bar.symbol, default: [:]][bar.startTimeNs] = bar
                }
            }
        } catch {
            environment.logger.warning("warm-up from the journal failed: \(error)")
            return [:]
        }
        return bySymbol.mapValues { bars in
            Array(bars.values.sorted { $0.startTimeNs < $1.startTimeNs }.suffix(Self.warmUpBars))
        }
    }

    /// Asks again, after 1, 2, 4 and 8 s, for tickers that are not ready yet (the ingestor
    /// may have started at the same moment). Live bars that arrived meanwhile are kept and
    /// replayed after the history, so nothing is lost by waiting.
    func retryWarmUp(_ missing: [String]) async {
        var missing = missing
        for delay in [1, 2, 4, 8] where !missing.isEmpty {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(delay)) }
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            missing = await warmUp(symbols: missing)
        }
        if !missing.isEmpty {
            alertOncePerMinute(
                "processor.history_unavailable", symbol: "",
                title: "no history for warm-up",
                message: "not enough history from \(settings.historyEndpoints.joined(separator: ", ")) for \(missing.joined(separator: ",")) after 5 attempts; they warm up from live bars (features after ~50 bars)")
        }
    }

    /// Bars asked for at start: enough for every feature (50) and the longest indicator (200).
    static let warmUpBars = 300

    // MARK: Elastic sharing

    /// Elastic: every 200 ms, expires members not heard from and serves exactly the tickers
    /// rendezvous hashing gives this instance among the live members. A ticker given up is
    /// dropped at once; one won is subscribed first, then warmed up from history (its bars so
    /// far), so it serves within a history round trip. Nothing is taken during the first
    /// 1.5 heartbeat intervals, while the members already running make themselves heard: a
    /// joining processor never takes a ticker another still serves. A member that dies
    /// without saying so (kill -9, a cut link) leaves its tickers unserved until it misses 3
    /// heartbeats; that time is counted (`shard.orphan_ms`, `shard.last_orphan_ms`). The
    /// shares are computed again only when the members changed.
    func rebalance(_ subscription: MessageSubscription) async {
        let discoveryEnds = startedAt + settings.heartbeatInterval * 1.5
        var lastMembers = -1
        var plannedVersion: Int?
        // Warm-up retries for tickers won before their history existed (inherit shutdown).
        var retries: [Task<Void, Never>] = []
        defer { for retry in retries { retry.cancel() } }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(200)) }
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            let now = ContinuousClock.now
            let plan = state.values.withLock { values -> (won: [String], lost: [String], gone: [(String, ContinuousClock.Instant)], members: Int)? in
                let gone = values.membership.expire(at: now)
                guard now >= discoveryEnds, values.membership.version != plannedVersion else { return nil }
                plannedVersion = values.membership.version
                let members = values.membership.live
                var won: [String] = [], lost: [String] = []
                var owned: [String] = []
                owned.reserveCapacity(values.owned.count)
                for ticker in settings.tickers {
                    let mine = ShardAssignment.owner(of: ticker, members: members) == settings.instance
                    let serving = values.pipelines[ticker] != nil
                    if mine {
                        owned.append(ticker)
                        if !serving {
                            values.pipelines[ticker] = TickerPipeline(symbol: ticker, settings: settings)
                            won.append(ticker)
                        }
                    } else if serving {
                        values.pipelines[ticker] = nil
                        lost.append(ticker)
                    }
                }
                values.owned = owned
                return (won, lost, gone.map { ($0.instance, $0.lastSeen) }, members.count)
            }
            guard let plan else { continue }
            for (instance, lastSeen) in plan.gone {
                environment.logger.warning(
                    "elastic: \(Self.short(instance)) missed 3 heartbeats (last heard \(now - lastSeen) ago); its tickers move")
            }
            for ticker in plan.lost {
                for pattern in (try? inputPatterns(ticker)) ?? [] { subscription.unsubscribe(pattern) }
            }
            for ticker in plan.won {
                for pattern in (try? inputPatterns(ticker)) ?? [] { subscription.subscribe(pattern) }
            }
            environment.counters.set("shard.owned", UInt64(state.values.withLock { $0.owned.count }))
            environment.counters.set("shard.members", UInt64(plan.members))
            if !plan.lost.isEmpty {
                environment.counters.add("shard.released", UInt64(plan.lost.count))
                environment.logger.info("elastic: gave up \(plan.lost.count) ticker(s): \(Self.list(plan.lost))")
            }
            if !plan.won.isEmpty {
                environment.counters.add("shard.acquired", UInt64(plan.won.count))
                // Tickers of a member that died were unserved since its last heartbeat.
                if let oldest = plan.gone.map(\.1).min() {
                    let orphanMs = UInt64(max(0, (now - oldest).inSeconds * 1000))
                    environment.counters.add("shard.orphan_ms", orphanMs)
                    environment.counters.set("shard.last_orphan_ms", orphanMs)
                }
                environment.logger.info("elastic: took \(plan.won.count) ticker(s): \(Self.list(plan.won))")
                let missing = await warmUp(symbols: plan.won)
                if !missing.isEmpty {
                    // The ingestor may have started at the same moment (or after): ask again
                    // after 1, 2, 4 and 8 s, beside the rebalancing, as a fixed set does at start.
                    environment.logger.info("elastic: no history yet for \(missing.count) ticker(s): \(Self.list(missing)); asking again")
                    retries.append(Task { await retryWarmUp(missing) })
                }
            }
            if plan.members != lastMembers {
                lastMembers = plan.members
                environment.logger.info(
                    "elastic: \(plan.members) member(s); this one serves \(state.values.withLock { $0.owned.count }) of \(settings.tickers.count) tickers")
            }
        }
    }

    /// The first 20 of `tickers`, and how many more.
    static func list(_ tickers: [String]) -> String {
        let shown = tickers.prefix(20).joined(separator: ",")
        return tickers.count > 20 ? "\(shown) and \(tickers.count - 20) more" : shown
    }

    // MARK: Live

    /// What became of one trade.
    enum TradeResult {
        case pipeline(TickerPipeline.TradeOutcome)
        /// Further ahead of the reference clock than `max_event_lead_seconds`.
        case future
        case unknownTicker
    }

    /// What became of one provider bar.
    enum BarResult {
        case fed(TickerPipeline.Output?)
        case future
        case unknownTicker
    }

    func handle(_ delivery: Delivery) {
        environment.counters.addIn()
        let symbol = delivery.topic.key
        switch delivery.payload {
        case .trade(let trade):
            guard trade.symbol == symbol else {
                return reject("symbol_mismatch", delivery, "the trade's symbol is not its topic's")
            }
            let time = delivery.eventTimeNs
            let result = state.values.withLock { values -> TradeResult in
                guard values.pipelines[symbol] != nil else { return .unknownTicker }
                guard values.clock.accepts(time) else { return .future }
                guard let outcome = values.pipelines[symbol]?.add(trade, time: time) else { return .unknownTicker }
                // Only a trade that could be real moves the clock.
                if outcome != .invalid && outcome != .outOfRange { values.clock.observe(eventTime: time) }
                return .pipeline(outcome)
            }
            switch result {
            case .pipeline(.accepted): break
            case .pipeline(.late): environment.counters.add("trades.late")
            case .pipeline(.duplicate): environment.counters.add("trades.duplicate")
            case .pipeline(.invalid):
                environment.counters.add("trades.invalid")
                environment.counters.addError()
                alertOncePerMinute(
                    "processor.invalid_trade", symbol: symbol,
                    title: "invalid trade dropped",
                    message: """
                        \(Self.short(delivery.producer.displayName)) sent a trade for \(symbol) with price \
                        \(trade.price), size \(trade.size) and an id of \(trade.tradeID.utf8.count) bytes; \
                        it was dropped (counter trades.invalid)
                        """)
            case .pipeline(.outOfRange):
                reject("time_range", delivery, "its time lies outside \(BarTime.rangeDescription)")
            case .future:
                rejectFuture(delivery, what: "a trade")
            case .unknownTicker:
                reject("unknown_ticker", delivery, "this processor does not serve \(symbol)")
            }
        case .quote:
            break  // not used for bars
        case .status(let status) where settings.elastic:
            let change = state.values.withLock { $0.membership.observe(status, at: .now) }
            if change != .none {
                environment.logger.info(
                    "elastic: \(Self.short(status.instance)) \(change == .joined ? "joined" : "left"); rebalancing")
            }
        case .features where settings.elastic:
            // Another processor's features of a ticker this one owns: served twice.
            guard delivery.producer.instance != settings.instance, delivery.producer.service == "processor" else { return }
            let owned = state.values.withLock { $0.pipelines[symbol] != nil }
            guard owned else { return }
            environment.counters.add("shard.conflicts")
            alertOncePerMinute(
                "processor.shard_conflict", symbol: symbol, title: "ticker served twice",
                message: "\(Self.short(delivery.producer.displayName)) also publishes features.\(symbol), which \(settings.instance) owns: the elastic processors disagree on the members (a partition, or heartbeats lost); counter shard.conflicts")
        case .bar(let bar):
            // Provider bars only; bars built by processors (ours included) are outputs.
            guard settings.barSource == .provider, bar.origin != .built else { return }
            guard bar.symbol == symbol else {
                return reject("symbol_mismatch", delivery, "the bar's symbol is not its topic's")
            }
            if let problem = bar.problem {
                return reject(problem.rawValue, delivery, "the bar is not valid (\(problem.rawValue))")
            }
            let result = state.values.withLock { values -> BarResult in
                guard values.pipelines[symbol] != nil else { return .unknownTicker }
                // A bar may end ahead of the clock (today's daily bar); it may not start ahead.
                guard values.clock.observe(eventTime: bar.startTimeNs) else { return .future }
                return .fed(values.pipelines[symbol]?.feed(bar))
            }
            switch result {
            case .fed(let output?):
                if let features = output.features { publishFeatures(features) }
                else { environment.counters.add("features.not_ready") }
            case .fed(nil):
                environment.counters.add("bars.stale")
            case .future:
                rejectFuture(delivery, what: "a bar")
            case .unknownTicker:
                reject("unknown_ticker", delivery, "this processor does not serve \(symbol)")
            }
        default:
            environment.counters.add("skipped.unexpected_payload")
        }
    }

    /// Counts `rejected.<reason>` and logs it, rate-limited.
    func reject(_ reason: String, _ delivery: Delivery, _ why: String) {
        environment.counters.add("rejected." + reason)
        if state.rejectionLog.shouldReport() {
            let producer = Self.short(delivery.producer.displayName)
            environment.logger.warning(
                "dropped a message on \(delivery.topic) from \(producer): \(why) (counter rejected.\(reason))")
        }
    }

    /// Counts `rejected.future_time`, logs it (rate-limited) and raises a warning at most once a minute.
    func rejectFuture(_ delivery: Delivery, what: String) {
        let lead = Nanoseconds.seconds(settings.maxEventLeadNs)
        reject("future_time", delivery, "its time \(delivery.eventTimeNs) ns is more than \(lead) s ahead of the clock")
        var hint = "a provider's or publisher's clock is wrong, or the data is not live"
        if let speed = settings.simulatorSpeed {
            hint = "simulator.speed \(speed) runs ahead of the wall clock: raise processor.max_event_lead_seconds"
        }
        alertOncePerMinute(
            "processor.future_time", symbol: "",
            title: "events from the future dropped",
            message: """
                \(what) on \(delivery.topic) from \(Self.short(delivery.producer.displayName)) lies more than \
                processor.max_event_lead_seconds (\(lead) s) ahead of the clock and was dropped \
                (counter rejected.future_time); \(hint)
                """)
    }

    /// Text from outside, cut for a log line or an alert.
    static func short(_ text: String) -> String {
        text.utf8.count <= 64 ? text : String(decoding: Array(text.utf8.prefix(64)), as: UTF8.self) + "…"
    }

    /// Closes due bars about four times per bar interval (at least every 250 ms).
    func closeBarsOnTime() async {
        let period = Duration.nanoseconds(min(250_000_000, max(10_000_000, settings.barIntervalNs / 4)))
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: period)
            closeDueBars()
        }
    }

    /// Closes the bars the event clock has passed and publishes them and their features.
    /// Returns how many bars closed.
    @discardableResult
    func closeDueBars() -> Int {
        let outputs = state.values.withLock { values -> [TickerPipeline.Output] in
            let watermark = values.clock.watermark()
            var outputs: [TickerPipeline.Output] = []
            for symbol in values.owned {
                outputs += values.pipelines[symbol]?.close(asOf: watermark) ?? []
            }
            return outputs
        }
        for output in outputs {
            publishBar(output.bar)
            if let features = output.features { publishFeatures(features) }
            else { environment.counters.add("features.not_ready") }
        }
        return outputs.count
    }

    /// Raises a warning alert, at most once a minute per category and symbol.
    func alertOncePerMinute(_ category: String, symbol: String, title: String, message: String) {
        let key = category + "/" + symbol
        let due = state.values.withLock { values -> Bool in
            let now = ContinuousClock.now
            if let last = values.alertedAt[key], now - last < .seconds(60) { return false }
            values.alertedAt[key] = now
            return true
        }
        if due { environment.raiseAlert(.warning, category: category, title: title, message: message, symbol: symbol) }
    }

    func publishBar(_ bar: Bar) {
        guard let topic = try? Topic.bar(bar.symbol) else { return }
        environment.publish(.bar(bar), on: topic, eventTime: bar.endTimeNs)
        environment.counters.add("bars.published")
    }

    func publishFeatures(_ features: FeatureVector) {
        guard let topic = try? Topic.features(features.symbol) else { return }
        environment.publish(.features(features), on: topic, eventTime: features.barEndTimeNs)
        environment.counters.add("features.published")
    }
}
