import Contracts
import Prometheus
import Synchronization

/// A counter family on the process registry (``ServiceMetrics/processRegistry``) with one
/// series per outside key (a symbol, a model, a channel). The keys are capped: past
/// ``capacity`` distinct keys, the rest add up under `other`, so a feed with ten thousand
/// symbols (or a hostile one) cannot grow the scrape without bound. Counting a known key
/// takes a lock and a dictionary lookup, and allocates nothing.
public final class KeyedCounter: Sendable {
    let metric: String
    let help: String
    let labels: [(String, String)]
    let keyLabel: String
    let registry: PrometheusCollectorRegistry
    let counters = Mutex<[String: Counter]>([:])
    let seenKeys = Mutex<Set<String>>([])
    /// The most distinct keys with a series of their own.
    public let capacity: Int

    /// `tickwire_<metric>_total`, with `labels` (e.g. service, instance, kind) on every series
    /// and `keyLabel` (e.g. `symbol`) filled per sample.
    public init(
        metric: String, labels: [(String, String)], keyLabel: String, help: String, capacity: Int = 256,
        registry: PrometheusCollectorRegistry = ServiceMetrics.processRegistry
    ) {
        self.metric = metric
        self.help = help
        self.labels = labels
        self.keyLabel = keyLabel
        self.registry = registry
        self.capacity = max(1, capacity)
    }

    /// Adds `amount` to the series of `key`.
    public func increment(_ key: String, by amount: Int64 = 1) {
        guard amount > 0 else { return }
        if let known = counters.withLock({ $0[key] }) {
            known.increment(by: amount)
            return
        }
        let capped = KeyCap.cap(key, seen: seenKeys, capacity: capacity)
        let counter =
            counters.withLock({ $0[capped] })
            ?? registry.makeCounter(
                descriptor: MetricNameDescriptor(namespace: "tickwire", metricName: metric, unitName: "total", helpText: help),
                labels: labels + [(keyLabel, capped)])
        counters.withLock { $0[capped] = counter }
        counter.increment(by: amount)
    }
}

/// A gauge family on the process registry with one series per outside key, capped like
/// ``KeyedCounter`` (the rest share `other`, which holds the last value set for any of them).
public final class KeyedGauge: Sendable {
    let metric: String
    let unit: String
    let help: String
    let labels: [(String, String)]
    let keyLabel: String
    let registry: PrometheusCollectorRegistry
    let gauges = Mutex<[String: Gauge]>([:])
    let seenKeys = Mutex<Set<String>>([])
    public let capacity: Int

    /// `tickwire_<metric>` (`unit` appended when given, e.g. `seconds`).
    public init(
        metric: String, unit: String = "", labels: [(String, String)], keyLabel: String, help: String, capacity: Int = 256,
        registry: PrometheusCollectorRegistry = ServiceMetrics.processRegistry
    ) {
        self.metric = metric
        self.unit = unit
        self.help = help
        self.labels = labels
        self.keyLabel = keyLabel
        self.registry = registry
        self.capacity = max(1, capacity)
    }

    /// Sets the series of `key` to `value` (a value that is not finite is not recorded).
    public func set(_ key: String, _ value: Double) {
        guard value.isFinite else { return }
        if let known = gauges.withLock({ $0[key] }) {
            known.set(value)
            return
        }
        let capped = KeyCap.cap(key, seen: seenKeys, capacity: capacity)
        let gauge =
            gauges.withLock({ $0[capped] })
            ?? registry.makeGauge(
                descriptor: MetricNameDescriptor(namespace: "tickwire", metricName: metric, unitName: unit, helpText: help),
                labels: labels + [(keyLabel, capped)])
        gauges.withLock { $0[capped] = gauge }
        gauge.set(value)
    }
}

/// The key cap shared by ``KeyedCounter`` and ``KeyedGauge``.
enum KeyCap {
    /// The label value used for keys past the cap.
    static let other = "other"

    /// `key`, or `other` when it is new and `capacity` keys are already known; a key longer
    /// than 64 characters (it may come from a provider) is `other` too.
    static func cap(_ key: String, seen: borrowing Mutex<Set<String>>, capacity: Int) -> String {
        guard key.utf8.count <= 64, key != other else { return other }
        return seen.withLock { seen -> Bool in
            if seen.contains(key) { return true }
            guard seen.count < capacity else { return false }
            seen.insert(key)
            return true
        } ? key : other
    }
}

/// `tickwire_symbol_messages_total{kind, symbol}`: what a service published per symbol, by
/// payload (bar, features, signal), capped at ``KeyedCounter/capacity`` symbols per kind.
/// Trades and quotes are not counted per symbol: at 100,000 a second a lock and a `String`
/// hash per message cost more than 5 % of the bus path (`make bench`); the ingestor's
/// `tickwire_feed_age_seconds{symbol}` says per symbol whether ticks flow.
public struct SymbolMessageCounts: Sendable {
    let bars, features, signals: KeyedCounter

    public init(service: String, instance: String, capacity: Int = 256) {
        func family(_ kind: String) -> KeyedCounter {
            KeyedCounter(
                metric: "symbol_messages", labels: [("service", service), ("instance", instance), ("kind", kind)],
                keyLabel: "symbol", help: "Messages published per symbol, by payload (symbols capped; the rest are other).",
                capacity: capacity)
        }
        bars = family("bar")
        features = family("features")
        signals = family("signal")
    }

    /// Counts `payload` published on `topic` when it is per-symbol data.
    public func count(_ payload: Envelope.OneOf_Payload, on topic: Topic) {
        switch payload {
        case .bar: bars.increment(topic.key)
        case .features: features.increment(topic.key)
        case .signal: signals.increment(topic.key)
        default: break
        }
    }
}

/// A counter with fixed labels on the process registry: `tickwire_<metric>_total`.
public struct FixedCounter: Sendable {
    let counter: Counter

    public init(metric: String, labels: [(String, String)], help: String) {
        counter = ServiceMetrics.processRegistry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "tickwire", metricName: metric, unitName: "total", helpText: help),
            labels: labels)
    }

    public func increment(by amount: Int64 = 1) {
        guard amount > 0 else { return }
        counter.increment(by: amount)
    }
}
