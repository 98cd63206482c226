import Contracts
import Foundation

/// What the dashboard shows, built from bus messages and bounded in every direction: at most
/// ``maxTickers`` tickers (least recently updated evicted), ``maxServices`` services,
/// ``recentAlerts`` alerts (and ``recentDriftAlerts`` `model.drift` ones kept apart),
/// ``sparklinePoints`` prices per ticker, ``maxModels`` models, ``maxChannels`` notifier
/// channels per notifier, ``pendingPerTicker`` signals awaiting their outcome per ticker and
/// ``recentOutcomes`` resolved ones. Every number is checked for finiteness before it is kept
/// (a non-finite one is skipped), every text cut to a length.
///
/// Signal quality: a BUY or SELL signal is resolved `horizon_bars` bars after its own bar
/// (`bar_end_time_ns`), by that ticker's close then against the signal's `price`: a BUY hits
/// when the close is above it, a SELL when it is below (an unchanged close is a miss). HOLD
/// signals are not scored (the dead zone that makes a move "flat" is the models', not on the
/// bus), only counted. Bars are counted once per end time, in order; once a ticker has shown a
/// bar built by a processor (origin BUILT), only built bars count for it. The Brier score is
/// the mean of (confidence − hit)² over the last ``recentOutcomes`` resolved signals, hit 1 or 0:
/// 0 is perfect, a constant 0.5 scores 0.25.
public struct DashboardState: Sendable {
    public static let maxTickers = 256
    public static let maxServices = 64
    public static let recentAlerts = 20
    public static let recentDriftAlerts = 10
    public static let sparklinePoints = 60
    /// Models in the model table (least recently voting evicted).
    public static let maxModels = 32
    /// Channels shown per notifier (by name; the rest are counted, not shown).
    public static let maxChannels = 16
    /// Signals awaiting their outcome per ticker (the oldest dropped, counted as expired).
    public static let pendingPerTicker = 200
    /// Resolved signals the reliability curve and Brier score are computed over.
    public static let recentOutcomes = 1_000
    /// Counted bars remembered per ticker, for a signal that arrives after bars past its own.
    public static let barMemory = 64
    /// Horizons longer than this (in bars) are not scored.
    public static let maxHorizonBars = 1_000
    /// The reliability curve's bins: [0, 0.4), [0.4, 0.5), … [0.9, 1.0]. A BUY or SELL is
    /// decided above the signal threshold, so confidences below 1/3 are rare.
    public static let reliabilityEdges: [Double] = [0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    /// The signal generator's heartbeat counter: PSI of its predicted classes × 1000.
    public static let psiCounter = "models.prediction_psi_milli"
    /// The signal generator's heartbeat counter: the largest feature's PSI × 1000.
    public static let featurePsiCounter = "models.feature_psi_milli"
    static let textLimit = 200

    /// One ticker's row.
    public struct Ticker: Sendable, Codable, Equatable {
        public var symbol: String
        public var price: Double?
        public var priceTimeNs: Int64 = 0
        /// Recent prices, oldest first, one per trade or bar close (at most sparklinePoints).
        public var prices: [Double] = []
        public var bar: Bar?
        public var signal: Signal?
        var touched: UInt64 = 0
        /// Signals awaiting outcomes and the bars that resolve them (not sent to the page).
        var outcomes = OutcomeTracker()

        enum CodingKeys: String, CodingKey {
            case symbol, price, priceTimeNs, prices, bar, signal
        }
    }

    public struct Bar: Sendable, Codable, Equatable {
        public var endTimeNs: Int64
        public var open: Double, high: Double, low: Double, close: Double, volume: Double
    }

    public struct Vote: Sendable, Codable, Equatable {
        public var model: String
        public var action: String
        public var probability: Double
        public var weight: Double
        public var liveAccuracy: Double
    }

    public struct Signal: Sendable, Codable, Equatable {
        public var action: String
        public var confidence: Double
        public var price: Double
        public var timeNs: Int64
        public var ensemble: String
        public var votes: [Vote]
        public var horizonBars: Int = 0
    }

    /// A model's latest vote, from whichever signal carried it last.
    public struct Model: Sendable, Codable, Equatable {
        public var model: String
        /// Its weight in the ensemble.
        public var weight: Double
        /// Decayed accuracy on live outcomes as the signal generator reports it; 0: none yet.
        public var liveAccuracy: Double
        public var action: String
        public var probability: Double
        public var symbol: String
        public var timeNs: Int64
        var touched: UInt64 = 0

        enum CodingKeys: String, CodingKey {
            case model, weight, liveAccuracy, action, probability, symbol, timeNs
        }
    }

    /// A notifier's outbox and delivery counters, from its heartbeat.
    public struct Outbox: Sendable, Codable, Equatable {
        public struct Channel: Sendable, Codable, Equatable {
            public var name: String
            public var sent: UInt64
            public var failed: UInt64
        }
        /// Deliveries waiting in the outbox (all channels).
        public var pending: UInt64?
        public var queued: UInt64?
        public var throttled: UInt64?
        /// By name, at most ``DashboardState/maxChannels``.
        public var channels: [Channel] = []
        /// Channels named in the heartbeat beyond those shown.
        public var moreChannels: Int = 0
    }

    /// A service instance's last heartbeat.
    public struct Service: Sendable, Codable, Equatable {
        public var service: String
        public var instance: String
        public var state: String
        public var uptimeSeconds: Double
        public var messagesIn: UInt64
        public var messagesOut: UInt64
        public var errors: UInt64
        public var intervalSeconds: Double
        /// When its last heartbeat arrived, by the dashboard's clock (UTC nanoseconds).
        public var seenNs: Int64
        /// The signal generator's prediction PSI (its counter / 1000), when it reports one.
        public var psi: Double?
        /// The largest feature PSI against the training rows (its counter / 1000).
        public var featurePsi: Double?
        /// The notifier's outbox state.
        public var outbox: Outbox?
    }

    public struct Alert: Sendable, Codable, Equatable {
        public var severity: String
        public var category: String
        public var title: String
        public var message: String
        public var service: String
        public var timeNs: Int64
        public var symbol: String = ""
    }

    /// A resolved BUY or SELL signal.
    struct Outcome: Sendable, Equatable {
        var confidence: Double
        var hit: Bool
        var buy: Bool
    }

    /// One ticker's signals awaiting outcome and the bars counted for them.
    struct OutcomeTracker: Sendable, Equatable {
        struct CountedBar: Sendable, Equatable {
            var endNs: Int64
            var close: Double
        }
        struct Pending: Sendable, Equatable {
            var buy: Bool
            var confidence: Double
            var price: Double
            var barEndNs: Int64
            var horizon: Int
            /// Bars counted after its own.
            var seen = 0
        }
        enum Added: Equatable {
            case pending
            case resolved(Outcome)
            /// Its bar is not after the last signal's bar of this ticker (a repeat).
            case repeated
            /// Its outcome cannot be known: bars after it were already forgotten, or it has no
            /// usable horizon, confidence or price.
            case unscorable
        }

        var builtSeen = false
        var lastBarEndNs = Int64.min
        var lastSignalBarEndNs = Int64.min
        /// The last ``DashboardState/barMemory`` counted bars, oldest first, ends increasing.
        var bars: [CountedBar] = []
        var forgotBars = false
        var pending: [Pending] = []
        /// Pending signals dropped for room.
        var expired = 0

        /// Counts a bar (once per end time, in order; only built ones once one was seen) and
        /// returns the signals it resolves.
        mutating func count(endNs: Int64, close: Double, built: Bool) -> [Outcome] {
            if built {
                builtSeen = true
            } else if builtSeen {
                return []
            }
            guard endNs > lastBarEndNs else { return [] }
            lastBarEndNs = endNs
            bars.append(CountedBar(endNs: endNs, close: close))
            if bars.count > DashboardState.barMemory {
                bars.removeFirst(bars.count - DashboardState.barMemory)
                forgotBars = true
            }
            var resolved: [Outcome] = []
            var kept: [Pending] = []
            kept.reserveCapacity(pending.count)
            for var signal in pending {
                if signal.barEndNs < endNs { signal.seen += 1 }
                if signal.seen >= signal.horizon {
                    resolved.append(Self.outcome(signal, close: close))
                } else {
                    kept.append(signal)
                }
            }
            pending = kept
            return resolved
        }

        /// Takes a BUY or SELL signal: resolved at once when its horizon's bar was already
        /// counted, else kept (the oldest pending one dropped past the cap).
        mutating func add(_ signal: Pending) -> Added {
            guard signal.barEndNs > lastSignalBarEndNs else { return .repeated }
            lastSignalBarEndNs = signal.barEndNs
            if forgotBars, let oldest = bars.first, oldest.endNs > signal.barEndNs { return .unscorable }
            let after = bars.lazy.filter { $0.endNs > signal.barEndNs }
            var signal = signal
            signal.horizon = max(signal.horizon, 1)
            signal.seen = after.count
            if signal.seen >= signal.horizon, let bar = after.dropFirst(signal.horizon - 1).first {
                return .resolved(Self.outcome(signal, close: bar.close))
            }
            pending.append(signal)
            if pending.count > DashboardState.pendingPerTicker {
                expired += pending.count - DashboardState.pendingPerTicker
                pending.removeFirst(pending.count - DashboardState.pendingPerTicker)
            }
            return .pending
        }

        static func outcome(_ signal: Pending, close: Double) -> Outcome {
            Outcome(confidence: signal.confidence, hit: signal.buy ? close > signal.price : close < signal.price, buy: signal.buy)
        }
    }

    public private(set) var tickers: [String: Ticker] = [:]
    public private(set) var services: [String: Service] = [:]
    public private(set) var alerts: [Alert] = []
    /// The recent `model.drift` alerts, kept apart so other alerts do not push them out.
    public private(set) var driftAlerts: [Alert] = []
    public private(set) var models: [String: Model] = [:]
    public private(set) var session: String = ""
    /// Bumped on every change; the page is sent again only when it moved.
    public private(set) var version: UInt64 = 0

    /// The last ``recentOutcomes`` resolved signals, a ring from ``outcomeStart``.
    private(set) var outcomes: [Outcome] = []
    private var outcomeStart = 0
    /// Every signal resolved since start.
    public private(set) var resolvedTotal: UInt64 = 0
    /// HOLD signals seen (not scored).
    public private(set) var holdSignals: UInt64 = 0
    /// Signals not scored: no horizon, one beyond ``maxHorizonBars``, a confidence outside
    /// 0…1, no price, or bars after them already forgotten.
    public private(set) var unscoredSignals: UInt64 = 0

    public init() {}

    static func clip(_ text: String) -> String { text.count <= textLimit ? text : String(text.prefix(textLimit)) + "…" }

    /// Takes one accepted bus message, received at `nowNs`.
    public mutating func apply(_ delivery: Delivery, nowNs: Int64) {
        switch delivery.payload {
        case .trade(let trade):
            guard trade.price.isFinite, trade.price > 0 else { return }
            updateTicker(trade.symbol) { ticker in
                ticker.price = trade.price
                ticker.priceTimeNs = delivery.eventTimeNs
                Self.push(trade.price, into: &ticker.prices)
            }
        case .bar(let bar):
            let values = [bar.open, bar.high, bar.low, bar.close, bar.volume]
            guard values.allSatisfy(\.isFinite), bar.close > 0 else { return }
            var resolved: [Outcome] = []
            updateTicker(bar.symbol) { ticker in
                ticker.bar = Bar(
                    endTimeNs: bar.endTimeNs, open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume)
                if ticker.priceTimeNs <= bar.endTimeNs {
                    ticker.price = bar.close
                    ticker.priceTimeNs = bar.endTimeNs
                    if ticker.prices.isEmpty { Self.push(bar.close, into: &ticker.prices) }
                }
                resolved = ticker.outcomes.count(endNs: bar.endTimeNs, close: bar.close, built: bar.origin == .built)
            }
            for outcome in resolved { record(outcome) }
        case .signal(let signal):
            guard signal.confidence.isFinite, signal.price.isFinite else { return }
            let votes = signal.votes.prefix(16).map { vote in
                Vote(
                    model: Self.clip(vote.model), action: Self.action(vote.action),
                    probability: vote.probability.isFinite ? vote.probability : 0,
                    weight: vote.weight.isFinite ? vote.weight : 0,
                    liveAccuracy: vote.liveAccuracy.isFinite ? vote.liveAccuracy : 0)
            }
            let horizon = Int(signal.horizonBars)
            var added: OutcomeTracker.Added? = nil
            updateTicker(signal.symbol) { ticker in
                ticker.signal = Signal(
                    action: Self.action(signal.action), confidence: signal.confidence, price: signal.price,
                    timeNs: delivery.eventTimeNs, ensemble: Self.clip(signal.ensembleMethod), votes: Array(votes),
                    horizonBars: horizon)
                guard signal.action == .buy || signal.action == .sell else { return }
                guard (1...Self.maxHorizonBars).contains(horizon), (0...1).contains(signal.confidence), signal.price > 0 else {
                    added = .unscorable
                    return
                }
                added = ticker.outcomes.add(
                    OutcomeTracker.Pending(
                        buy: signal.action == .buy, confidence: signal.confidence, price: signal.price,
                        barEndNs: signal.barEndTimeNs > 0 ? signal.barEndTimeNs : delivery.eventTimeNs, horizon: horizon))
            }
            switch added {
            case .resolved(let outcome): record(outcome)
            case .unscorable: unscoredSignals &+= 1
            case .pending, .repeated: break
            case nil: if signal.action == .hold { holdSignals &+= 1 }
            }
            updateModels(signal, timeNs: delivery.eventTimeNs)
        case .status(let status):
            let key = Self.clip(status.service) + "/" + Self.clip(status.instance)
            if services[key] == nil, services.count >= Self.maxServices {
                // Forget the one heard from longest ago.
                if let oldest = services.min(by: { $0.value.seenNs < $1.value.seenNs })?.key { services[oldest] = nil }
            }
            var psi: Double? = nil
            var featurePsi: Double? = nil
            if status.service == "signal-generator" {
                psi = status.counters[Self.psiCounter].map { Double($0) / 1_000 }
                featurePsi = status.counters[Self.featurePsiCounter].map { Double($0) / 1_000 }
            }
            services[key] = Service(
                service: Self.clip(status.service), instance: Self.clip(status.instance), state: Self.state(status.state),
                uptimeSeconds: status.uptimeSeconds.isFinite ? status.uptimeSeconds : 0, messagesIn: status.messagesIn,
                messagesOut: status.messagesOut, errors: status.errors,
                intervalSeconds: status.intervalSeconds.isFinite ? min(max(status.intervalSeconds, 0), 3_600) : 5,
                seenNs: nowNs, psi: psi, featurePsi: featurePsi, outbox: status.service == "notifier" ? Self.outbox(status.counters) : nil)
        case .alert(let alert):
            let row = Alert(
                severity: Self.severity(alert.severity), category: Self.clip(alert.category), title: Self.clip(alert.title),
                message: Self.clip(alert.message), service: Self.clip(alert.service), timeNs: delivery.eventTimeNs,
                symbol: Self.clip(alert.symbol))
            alerts.insert(row, at: 0)
            if alerts.count > Self.recentAlerts { alerts.removeLast(alerts.count - Self.recentAlerts) }
            if alert.category == "model.drift" {
                driftAlerts.insert(row, at: 0)
                if driftAlerts.count > Self.recentDriftAlerts { driftAlerts.removeLast(driftAlerts.count - Self.recentDriftAlerts) }
            }
        case .session(let session):
            self.session = Self.clip("\(session.phase) \(session.tradingDay)")
        default:
            return
        }
        version &+= 1
    }

    mutating func updateTicker(_ rawSymbol: String, _ change: (inout Ticker) -> Void) {
        let symbol = Self.clip(rawSymbol)
        if tickers[symbol] == nil, tickers.count >= Self.maxTickers {
            if let oldest = tickers.min(by: { $0.value.touched < $1.value.touched })?.key { tickers[oldest] = nil }
        }
        var ticker = tickers[symbol] ?? Ticker(symbol: symbol)
        change(&ticker)
        ticker.touched = version &+ 1
        tickers[symbol] = ticker
    }

    /// Each vote with finite numbers becomes its model's row.
    mutating func updateModels(_ signal: Contracts.Signal, timeNs: Int64) {
        for vote in signal.votes.prefix(Self.maxModels) {
            guard vote.weight.isFinite, vote.probability.isFinite, vote.liveAccuracy.isFinite else { continue }
            let name = Self.clip(vote.model)
            if models[name] == nil, models.count >= Self.maxModels {
                if let oldest = models.min(by: { $0.value.touched < $1.value.touched })?.key { models[oldest] = nil }
            }
            models[name] = Model(
                model: name, weight: vote.weight, liveAccuracy: vote.liveAccuracy, action: Self.action(vote.action),
                probability: vote.probability, symbol: Self.clip(signal.symbol), timeNs: timeNs, touched: version &+ 1)
        }
    }

    mutating func record(_ outcome: Outcome) {
        resolvedTotal &+= 1
        if outcomes.count < Self.recentOutcomes {
            outcomes.append(outcome)
        } else {
            outcomes[outcomeStart] = outcome
            outcomeStart = (outcomeStart + 1) % Self.recentOutcomes
        }
    }

    static func outbox(_ counters: [String: UInt64]) -> Outbox {
        let sent = "notifications.sent.", failed = "notifications.failed."
        var names: Set<Substring> = []
        for key in counters.keys {
            let name = key.hasPrefix(sent) ? key.dropFirst(sent.count) : key.hasPrefix(failed) ? key.dropFirst(failed.count) : ""
            if !name.isEmpty { names.insert(name) }
        }
        let shown = names.sorted().prefix(maxChannels)
        return Outbox(
            pending: counters["outbox.pending"], queued: counters["notifications.queued"],
            throttled: counters["notifications.throttled"],
            channels: shown.map { name in
                Outbox.Channel(name: clip(String(name)), sent: counters[sent + name] ?? 0, failed: counters[failed + name] ?? 0)
            },
            moreChannels: names.count - shown.count)
    }

    static func push(_ price: Double, into prices: inout [Double]) {
        prices.append(price)
        if prices.count > sparklinePoints { prices.removeFirst(prices.count - sparklinePoints) }
    }

    static func action(_ action: Action) -> String {
        switch action {
        case .buy: "BUY"
        case .sell: "SELL"
        case .hold: "HOLD"
        default: "?"
        }
    }

    static func state(_ state: ServiceState) -> String {
        switch state {
        case .starting: "starting"
        case .running: "running"
        case .degraded: "degraded"
        case .stopping: "stopping"
        default: "unknown"
        }
    }

    static func severity(_ severity: Severity) -> String {
        switch severity {
        case .critical: "critical"
        case .error: "error"
        case .warning: "warning"
        default: "info"
        }
    }

    // MARK: Signal quality and drift

    /// The reliability curve and Brier score over the recent resolved signals.
    public struct Quality: Sendable, Codable, Equatable {
        public struct Bin: Sendable, Codable, Equatable {
            public var low: Double
            public var high: Double
            public var count: Int
            public var hits: Int
            /// Mean confidence of the signals in the bin; nil when empty.
            public var meanConfidence: Double?
            /// Observed hit rate; nil when empty.
            public var hitRate: Double?
        }
        public var bins: [Bin]
        /// Mean of (confidence − hit)² over ``resolved``; nil before the first outcome.
        public var brier: Double?
        /// Resolved signals the curve is made of (the last ``DashboardState/recentOutcomes``).
        public var resolved: Int
        public var hits: Int
        public var hitRate: Double?
        public var buyResolved: Int
        public var buyHits: Int
        public var sellResolved: Int
        public var sellHits: Int
        /// Signals awaiting their outcome, all tickers.
        public var pending: Int
        public var resolvedTotal: UInt64
        public var expired: Int
        public var holdSignals: UInt64
        public var unscored: UInt64
        public var window: Int
    }

    /// The bin of `confidence` in ``reliabilityEdges`` (1.0 in the last one); nil outside 0…1.
    static func bin(of confidence: Double) -> Int? {
        let edges = reliabilityEdges
        guard confidence.isFinite, let first = edges.first, let last = edges.last, confidence >= first, confidence <= last
        else { return nil }
        let upper = edges.firstIndex { confidence < $0 } ?? edges.count - 1
        return max(upper - 1, 0)
    }

    public func quality() -> Quality {
        let edges = Self.reliabilityEdges
        var counts = Array(repeating: 0, count: edges.count - 1)
        var hits = counts
        var sums = Array(repeating: 0.0, count: edges.count - 1)
        var squared = 0.0, scored = 0, totalHits = 0, buy = 0, buyHits = 0, sell = 0, sellHits = 0
        for outcome in outcomes {
            guard outcome.confidence.isFinite, let index = Self.bin(of: outcome.confidence) else { continue }
            let hit = outcome.hit ? 1.0 : 0.0
            counts[index] += 1
            sums[index] += outcome.confidence
            squared += (outcome.confidence - hit) * (outcome.confidence - hit)
            scored += 1
            if outcome.hit {
                hits[index] += 1
                totalHits += 1
            }
            if outcome.buy {
                buy += 1
                if outcome.hit { buyHits += 1 }
            } else {
                sell += 1
                if outcome.hit { sellHits += 1 }
            }
        }
        let bins = counts.indices.map { index in
            Quality.Bin(
                low: edges[index], high: edges[index + 1], count: counts[index], hits: hits[index],
                meanConfidence: counts[index] > 0 ? sums[index] / Double(counts[index]) : nil,
                hitRate: counts[index] > 0 ? Double(hits[index]) / Double(counts[index]) : nil)
        }
        var pending = 0, expired = 0
        for ticker in tickers.values {
            pending += ticker.outcomes.pending.count
            expired += ticker.outcomes.expired
        }
        return Quality(
            bins: bins, brier: scored > 0 ? squared / Double(scored) : nil, resolved: scored, hits: totalHits,
            hitRate: scored > 0 ? Double(totalHits) / Double(scored) : nil, buyResolved: buy, buyHits: buyHits,
            sellResolved: sell, sellHits: sellHits, pending: pending, resolvedTotal: resolvedTotal, expired: expired,
            holdSignals: holdSignals, unscored: unscoredSignals, window: Self.recentOutcomes)
    }

    /// stable below 0.1, watch up to 0.25, shifted above (the usual PSI reading).
    public static func psiLabel(_ psi: Double) -> String {
        guard psi.isFinite else { return "unknown" }
        return psi < 0.1 ? "stable" : psi <= 0.25 ? "watch" : "shifted"
    }

    /// A signal generator's prediction drift.
    public struct DriftRow: Sendable, Codable, Equatable {
        public var instance: String
        public var psi: Double
        public var label: String
        public var stale: Bool
        /// The largest feature PSI and its reading, when the heartbeat has one.
        public var featurePsi: Double?
        public var featureLabel: String?
    }

    /// A notifier's outbox.
    public struct OutboxRow: Sendable, Codable, Equatable {
        public var instance: String
        public var stale: Bool
        public var outbox: Outbox
    }

    func age(_ service: Service, nowNs: Int64) -> (seconds: Double, stale: Bool) {
        let age = Double(nowNs.subtractingReportingOverflow(service.seenNs).partialValue) / 1e9
        return (max(age, 0), age > 3 * max(service.intervalSeconds, 1))
    }

    func sortedServices() -> [Service] {
        services.values.sorted { ($0.service, $0.instance) < ($1.service, $1.instance) }
    }

    public func driftRows(nowNs: Int64) -> [DriftRow] {
        sortedServices().compactMap { service in
            guard let psi = service.psi else { return nil }
            return DriftRow(
                instance: service.instance, psi: psi, label: Self.psiLabel(psi), stale: age(service, nowNs: nowNs).stale,
                featurePsi: service.featurePsi, featureLabel: service.featurePsi.map { Self.psiLabel($0) })
        }
    }

    public func outboxRows(nowNs: Int64) -> [OutboxRow] {
        sortedServices().compactMap { service in
            guard let outbox = service.outbox else { return nil }
            return OutboxRow(instance: service.instance, stale: age(service, nowNs: nowNs).stale, outbox: outbox)
        }
    }

    /// Models by name.
    public func modelRows() -> [Model] { models.values.sorted { $0.model < $1.model } }

    /// The JSON the page renders: tickers by symbol, services by name with `stale` when a
    /// heartbeat is more than three intervals late at `nowNs`, the recent alerts, the models'
    /// latest votes, signal quality, prediction drift and the notifiers' outboxes.
    public func snapshot(nowNs: Int64) -> Data {
        struct ServiceRow: Encodable {
            var status: Service
            var stale: Bool
            var ageSeconds: Double
        }
        struct Drift: Encodable {
            var instances: [DriftRow]
            var alerts: [Alert]
        }
        struct Snapshot: Encodable {
            var version: UInt64
            var nowNs: Int64
            var session: String
            var tickers: [Ticker]
            var services: [ServiceRow]
            var alerts: [Alert]
            var models: [Model]
            var quality: Quality
            var drift: Drift
            var outboxes: [OutboxRow]
        }
        let rows = sortedServices().map { service in
            let (seconds, stale) = age(service, nowNs: nowNs)
            return ServiceRow(status: service, stale: stale, ageSeconds: seconds)
        }
        let snapshot = Snapshot(
            version: version, nowNs: nowNs, session: session, tickers: tickers.values.sorted { $0.symbol < $1.symbol },
            services: rows, alerts: alerts, models: modelRows(), quality: quality(),
            drift: Drift(instances: driftRows(nowNs: nowNs), alerts: driftAlerts), outboxes: outboxRows(nowNs: nowNs))
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return (try? encoder.encode(snapshot)) ?? Data("{}".utf8)
    }
}
