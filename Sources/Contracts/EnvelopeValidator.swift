import FeatureContract
import Timekeeping

/// Why a received message was refused. Each reason is counted as `rejected.<rawValue>` in the
/// receiving service's `status.<service>` counters.
public enum RejectReason: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Not the bus's two frames.
    case frames
    /// The topic frame breaks the grammar.
    case topic
    /// The payload is not an `Envelope`, carries no payload, or one of another kind.
    case undecodable
    /// A schema version this build does not read.
    case version
    /// No producer, or one with an empty or overlong name.
    case producer
    /// Sequence number 0 (streams count from 1).
    case sequence
    /// An event, publish or payload time outside the accepted window.
    case timeRange = "time_range"
    /// A number that is not finite or out of its range.
    case number
    /// The payload's symbol or name differs from the topic's key.
    case symbol
    /// An enum value this schema does not know (or `UNSPECIFIED` where one is required).
    case enumValue = "enum"
    /// A feature vector whose names, values and schema hash disagree.
    case featureLength = "feature_length"
    /// A string or list longer than its bound.
    case size

    /// The heartbeat counter this reason is counted under.
    public var counterName: String { "rejected.\(rawValue)" }

    public var description: String { rawValue }
}

/// A refused message: why, and a short description for the log.
public struct Rejection: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: RejectReason
    public var detail: String

    public init(_ reason: RejectReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason): \(detail)" }
}

/// The bounds a received message must respect. Times are checked against the receiver's
/// clock; replay and backtests widen ``eventTime``.
public struct EnvelopeLimits: Sendable, Equatable {
    /// Where the envelope's event time (and a payload's own times: bar ends, signal bars) may lie.
    public var eventTime = TimeWindow(maxPast: 20 * 365 * Nanoseconds.perDay, maxFuture: Nanoseconds.perHour)
    /// Where the publish time may lie: a producer's clock ahead of ours by more than the skew
    /// is wrong; old messages arrive when a consumer catches up (10 years back).
    public var publishTime = TimeWindow(maxPast: 10 * 365 * Nanoseconds.perDay, maxFuture: 5 * Nanoseconds.perMinute)
    /// Where the scheduler's times may lie (its clock may be simulated): the event time of
    /// `market.*` and `timer.*` messages and the times their payloads announce.
    public var scheduleTime = TimeWindow(maxPast: 100 * 365 * Nanoseconds.perDay, maxFuture: 100 * 365 * Nanoseconds.perDay)
    /// Longest identifier-like string (producer, exchange, ids, names), in UTF-8 bytes.
    public var maxNameBytes = 256
    /// Longest free text (alert messages), in UTF-8 bytes.
    public var maxTextBytes = 65_536
    /// Most elements of a repeated field or map (features, votes, conditions, details, counters).
    public var maxElements = 4_096
    /// Largest magnitude of a price.
    public var maxPrice = 1e12
    /// Largest size or volume.
    public var maxQuantity = 1e15

    public init() {}
}

/// Checks decoded messages before any service logic sees them: numbers finite and in range,
/// times in a window around the receiver's clock, the payload's symbol equal to the topic
/// key, enum values known, feature vectors consistent with their schema, bounded sizes.
///
/// Cheap enough for every tick: a few comparisons per field. A feature vector's schema hash
/// is recomputed only when its names differ from the last vector's.
public struct EnvelopeValidator: Sendable {
    public var limits: EnvelopeLimits
    private var lastSchema: (set: String, version: UInt32, names: [String], hash: String)?

    public init(limits: EnvelopeLimits = .init()) {
        self.limits = limits
    }

    /// Returns why `delivery` must be refused, or `nil` when it may pass. `now` is the
    /// receiver's clock in UTC nanoseconds.
    public mutating func check(_ delivery: Delivery, now: Int64) -> Rejection? {
        do throws(Rejection) {
            try checkHeader(delivery, now: now)
            guard let payload = delivery.payload else { throw Rejection(.undecodable, "no payload") }
            let key = delivery.topic.key
            switch payload {
            case .trade(let trade): try check(trade, key: key)
            case .quote(let quote): try check(quote, key: key)
            case .bar(let bar): try check(bar, key: key, now: now)
            case .features(let features): try check(features, key: key, now: now)
            case .signal(let signal): try check(signal, key: key, now: now)
            case .session(let session): try check(session, key: key, now: now)
            case .alert(let alert): try check(alert, key: key)
            case .status(let status): try check(status, key: key)
            case .timer(let timer): try check(timer, key: key, now: now)
            }
            return nil
        } catch {
            return error
        }
    }

    // MARK: Envelope

    private func checkHeader(_ delivery: Delivery, now: Int64) throws(Rejection) {
        let producer = delivery.producer
        guard delivery.hasProducer, !producer.service.isEmpty else { throw Rejection(.producer, "no producer") }
        try name(producer.service, "producer.service", reason: .producer)
        try name(producer.instance, "producer.instance", reason: .producer)
        guard delivery.sequence > 0 else { throw Rejection(.sequence, "sequence 0") }
        try instant(producer.startedAtNs, "producer.started_at_ns", in: limits.publishTime, now: now)
        try instant(delivery.publishTimeNs, "publish_time_ns", in: limits.publishTime, now: now)
        // The scheduler stamps its own clock, which may be simulated (another year, 3600x).
        let kind = delivery.topic.kind
        let scheduled = kind == Topic.marketKind || kind == Topic.timerKind
        try instant(delivery.eventTimeNs, "event_time_ns", in: scheduled ? limits.scheduleTime : limits.eventTime, now: now)
    }

    // MARK: Payloads

    private func check(_ trade: Trade, key: String) throws(Rejection) {
        try symbol(trade.symbol, key: key)
        try price(trade.price, "trade.price")
        try quantity(trade.size, "trade.size")
        try name(trade.exchange, "trade.exchange")
        try name(trade.tradeID, "trade.trade_id")
        try name(trade.provider, "trade.provider")
        try count(trade.conditions.count, "trade.conditions", limit: 64)
        for condition in trade.conditions { try name(condition, "trade.conditions") }
    }

    private func check(_ quote: Quote, key: String) throws(Rejection) {
        try symbol(quote.symbol, key: key)
        try price(quote.bidPrice, "quote.bid_price")
        try price(quote.askPrice, "quote.ask_price")
        try quantity(quote.bidSize, "quote.bid_size")
        try quantity(quote.askSize, "quote.ask_size")
        try name(quote.bidExchange, "quote.bid_exchange")
        try name(quote.askExchange, "quote.ask_exchange")
        try name(quote.provider, "quote.provider")
    }

    private func check(_ bar: Bar, key: String, now: Int64) throws(Rejection) {
        try symbol(bar.symbol, key: key)
        try instant(bar.startTimeNs, "bar.start_time_ns", in: limits.eventTime, now: now)
        try instant(bar.endTimeNs, "bar.end_time_ns", in: limits.eventTime, now: now)
        guard bar.endTimeNs > bar.startTimeNs else {
            throw Rejection(.timeRange, "bar ends (\(bar.endTimeNs)) at or before its start (\(bar.startTimeNs))")
        }
        for (value, field) in [(bar.open, "open"), (bar.high, "high"), (bar.low, "low"), (bar.close, "close")] {
            try price(value, "bar.\(field)")
        }
        guard bar.high >= bar.low else { throw Rejection(.number, "bar.high \(bar.high) below bar.low \(bar.low)") }
        try quantity(bar.volume, "bar.volume")
        try price(bar.vwap, "bar.vwap")
        if case .UNRECOGNIZED(let value) = bar.origin { throw Rejection(.enumValue, "bar.origin \(value)") }
        try name(bar.provider, "bar.provider")
    }

    private mutating func check(_ features: FeatureVector, key: String, now: Int64) throws(Rejection) {
        try symbol(features.symbol, key: key)
        try count(features.values.count, "features.values")
        guard features.names.count == features.values.count else {
            throw Rejection(
                .featureLength, "\(features.names.count) names but \(features.values.count) values")
        }
        try name(features.featureSet, "features.feature_set")
        try name(features.schemaHash, "features.schema_hash")
        for (index, value) in features.values.enumerated() where !(value.isFinite && abs(value) <= limits.maxQuantity) {
            throw Rejection(.number, "features.values[\(index)] = \(value)")
        }
        try price(features.close, "features.close")
        try instant(features.barEndTimeNs, "features.bar_end_time_ns", in: limits.eventTime, now: now)
        try schema(of: features)
    }

    /// The vector's hash must be the one its set, version and names give (docs/features.md),
    /// so a vector cannot claim a model's schema with other features.
    private mutating func schema(of features: FeatureVector) throws(Rejection) {
        if let last = lastSchema, last.set == features.featureSet, last.version == features.featureSetVersion,
            last.hash == features.schemaHash, last.names == features.names
        {
            return
        }
        for name in features.names { try self.name(name, "features.names") }
        let hash = FeatureSchemaHash.of(set: features.featureSet, version: features.featureSetVersion, names: features.names)
        guard hash == features.schemaHash else {
            throw Rejection(
                .featureLength,
                "schema_hash \(features.schemaHash) does not match its \(features.names.count) names (\(hash))")
        }
        lastSchema = (features.featureSet, features.featureSetVersion, features.names, hash)
    }

    private func check(_ signal: Signal, key: String, now: Int64) throws(Rejection) {
        try symbol(signal.symbol, key: key)
        try action(signal.action, "signal.action", allowUnspecified: false)
        try fraction(signal.confidence, "signal.confidence")
        try price(signal.price, "signal.price")
        try fraction(signal.suggestedPositionSize, "signal.suggested_position_size")
        try price(signal.stopLoss, "signal.stop_loss")
        try quantity(signal.shares, "signal.shares")
        try quantity(signal.riskAmount, "signal.risk_amount")
        guard (0...(100 * 365 * 86_400)).contains(signal.horizonSeconds) else {
            throw Rejection(.number, "signal.horizon_seconds \(signal.horizonSeconds)")
        }
        guard signal.horizonBars >= 0 else { throw Rejection(.number, "signal.horizon_bars \(signal.horizonBars)") }
        guard !signal.id.isEmpty else { throw Rejection(.size, "signal.id is empty") }
        try name(signal.id, "signal.id")
        try name(signal.ensembleMethod, "signal.ensemble_method")
        try name(signal.modelVersion, "signal.model_version")
        try name(signal.schemaHash, "signal.schema_hash")
        try count(signal.votes.count, "signal.votes", limit: 256)
        try count(signal.modelVersions.count, "signal.model_versions", limit: 256)
        for version in signal.modelVersions { try name(version, "signal.model_versions") }
        for vote in signal.votes {
            try name(vote.model, "signal.votes.model")
            try action(vote.action, "signal.votes.action", allowUnspecified: false)
            for (value, field) in [
                (vote.probability, "probability"), (vote.probabilityDown, "probability_down"),
                (vote.probabilityFlat, "probability_flat"), (vote.probabilityUp, "probability_up"),
                (vote.liveAccuracy, "live_accuracy"),
            ] {
                try fraction(value, "signal.votes.\(field)")
            }
            guard vote.weight.isFinite, vote.weight >= 0, vote.weight <= limits.maxQuantity else {
                throw Rejection(.number, "signal.votes.weight \(vote.weight)")
            }
        }
        if signal.barEndTimeNs != 0 {
            try instant(signal.barEndTimeNs, "signal.bar_end_time_ns", in: limits.eventTime, now: now)
        }
    }

    private func check(_ session: MarketSession, key: String, now: Int64) throws(Rejection) {
        guard key == "session" else { throw Rejection(.symbol, "market.\(key) carries a session") }
        try phase(session.phase, "session.phase")
        try phase(session.nextPhase, "session.next_phase")
        for (value, field) in [
            (session.nextChangeNs, "next_change_ns"), (session.phaseStartNs, "phase_start_ns"),
            (session.clockNs, "clock_ns"), (session.regularOpenNs, "regular_open_ns"),
            (session.regularCloseNs, "regular_close_ns"),
        ] where value != 0 {
            try instant(value, "session.\(field)", in: limits.scheduleTime, now: now)
        }
        guard session.clockSpeed.isFinite, session.clockSpeed >= 0, session.clockSpeed <= 1e6 else {
            throw Rejection(.number, "session.clock_speed \(session.clockSpeed)")
        }
        for (text, field) in [
            (session.exchange, "exchange"), (session.timezone, "timezone"), (session.tradingDay, "trading_day"),
            (session.holiday, "holiday"),
        ] {
            try name(text, "session.\(field)")
        }
    }

    private func check(_ alert: Alert, key: String) throws(Rejection) {
        switch alert.severity {
        case .UNRECOGNIZED(let value): throw Rejection(.enumValue, "alert.severity \(value)")
        case .unspecified: throw Rejection(.enumValue, "alert.severity unspecified")
        default: break
        }
        guard alert.severity.topicName == key else {
            throw Rejection(.symbol, "alert.\(key) carries severity \(alert.severity.topicName)")
        }
        try name(alert.category, "alert.category")
        try name(alert.title, "alert.title")
        try text(alert.message, "alert.message")
        try name(alert.service, "alert.service")
        try name(alert.symbol, "alert.symbol")
        try name(alert.dedupKey, "alert.dedup_key")
        try count(alert.details.count, "alert.details", limit: 256)
        for (detailKey, value) in alert.details {
            try name(detailKey, "alert.details key")
            try text(value, "alert.details value")
        }
    }

    private func check(_ status: ServiceStatus, key: String) throws(Rejection) {
        guard status.service == key else { throw Rejection(.symbol, "status.\(key) carries service '\(status.service)'") }
        try name(status.instance, "status.instance")
        try name(status.version, "status.version")
        if case .UNRECOGNIZED(let value) = status.state { throw Rejection(.enumValue, "status.state \(value)") }
        guard status.uptimeSeconds.isFinite, status.uptimeSeconds >= 0, status.uptimeSeconds <= 100 * 365 * 86_400 else {
            throw Rejection(.number, "status.uptime_seconds \(status.uptimeSeconds)")
        }
        guard status.intervalSeconds.isFinite, status.intervalSeconds >= 0, status.intervalSeconds <= 86_400 else {
            throw Rejection(.number, "status.interval_seconds \(status.intervalSeconds)")
        }
        try count(status.counters.count, "status.counters", limit: 1_024)
        for counter in status.counters.keys { try name(counter, "status.counters key") }
    }

    private func check(_ timer: TimerEvent, key: String, now: Int64) throws(Rejection) {
        guard timer.name == key else { throw Rejection(.symbol, "timer.\(key) carries timer '\(timer.name)'") }
        try name(timer.tradingDay, "timer.trading_day")
        if timer.clockNs != 0 { try instant(timer.clockNs, "timer.clock_ns", in: limits.scheduleTime, now: now) }
    }

    // MARK: Fields

    private func symbol(_ symbol: String, key: String) throws(Rejection) {
        guard symbol == key else { throw Rejection(.symbol, "payload symbol '\(Self.clip(symbol))' on topic key '\(key)'") }
    }

    private func instant(_ value: Int64, _ field: String, in window: TimeWindow, now: Int64) throws(Rejection) {
        guard window.contains(value, reference: now) else { throw Rejection(.timeRange, "\(field) \(value)") }
    }

    private func price(_ value: Double, _ field: String) throws(Rejection) {
        guard value.isFinite, abs(value) <= limits.maxPrice else { throw Rejection(.number, "\(field) \(value)") }
    }

    private func quantity(_ value: Double, _ field: String) throws(Rejection) {
        guard value.isFinite, value >= 0, value <= limits.maxQuantity else {
            throw Rejection(.number, "\(field) \(value)")
        }
    }

    private func fraction(_ value: Double, _ field: String) throws(Rejection) {
        guard value >= 0, value <= 1 else { throw Rejection(.number, "\(field) \(value)") }
    }

    private func name(_ value: String, _ field: String, reason: RejectReason = .size) throws(Rejection) {
        guard value.utf8.count <= limits.maxNameBytes else {
            throw Rejection(reason, "\(field) is \(value.utf8.count) bytes (at most \(limits.maxNameBytes))")
        }
    }

    private func text(_ value: String, _ field: String) throws(Rejection) {
        guard value.utf8.count <= limits.maxTextBytes else {
            throw Rejection(.size, "\(field) is \(value.utf8.count) bytes (at most \(limits.maxTextBytes))")
        }
    }

    private func count(_ count: Int, _ field: String, limit: Int? = nil) throws(Rejection) {
        let bound = min(limit ?? limits.maxElements, limits.maxElements)
        guard count <= bound else { throw Rejection(.size, "\(field) has \(count) elements (at most \(bound))") }
    }

    private func action(_ action: Action, _ field: String, allowUnspecified: Bool) throws(Rejection) {
        switch action {
        case .UNRECOGNIZED(let value): throw Rejection(.enumValue, "\(field) \(value)")
        case .unspecified where !allowUnspecified: throw Rejection(.enumValue, "\(field) unspecified")
        default: break
        }
    }

    private func phase(_ phase: SessionPhase, _ field: String) throws(Rejection) {
        if case .UNRECOGNIZED(let value) = phase { throw Rejection(.enumValue, "\(field) \(value)") }
    }

    private static func clip(_ text: String) -> String {
        text.utf8.count <= 40 ? text : String(decoding: text.utf8.prefix(40), as: UTF8.self) + "…"
    }
}

/// The feature schema hash (docs/features.md): the first 16 hex digits of SHA-256 over
/// `"tickwire-features/<set>/<version>\n"` followed by the names joined with `"\n"`.
public enum FeatureSchemaHash {
    public static func of(set: String, version: UInt32, names: [String]) -> String {
        FeatureSchema(name: set, version: version, names: names).hash
    }
}
