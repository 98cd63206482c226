import Contracts
import Observability
import Prometheus
import Synchronization

/// Latency histograms of every message a service receives, by topic kind, from the times
/// each envelope carries and the moment it was accepted:
/// - `tickwire_publish_delay_seconds`: publish − event time, the producer's own stage
///   (provider event → publish for ticks, bar close → features, bar close → signal);
/// - `tickwire_bus_delay_seconds`: receive − publish time, the hop through bus-proxy;
/// - `tickwire_event_age_seconds`: receive − event time, how old the data is on arrival.
///
/// These are on every message's path, so they are not swift-prometheus histograms (a lock
/// and a scan of `Duration` buckets each, three per message: 10–14 % of the bus path in
/// `make bench`): the three of one kind share one lock and whole-nanosecond bounds, and
/// ``ServiceMetrics`` writes them into the scrape (``render(into:)``). The same service,
/// instance and kind share one set in the process, however many subscriptions record. A
/// negative span (two machines' clocks apart) is not recorded.
public struct DeliveryLatency: Sendable {
    /// By the index ``kindIndex(_:)`` gives (a switch, not a `String` hash per message).
    let sets: [DeliveryHistograms]

    public init(service: String, instance: String) {
        sets = Self.kinds.map { DeliveryHistograms.shared(service: service, instance: instance, kind: $0) }
    }

    /// Every topic kind, in the order of ``sets``.
    static let kinds = Topic.knownKinds.sorted()

    /// The index of `kind` in ``kinds``, or nil for a kind this version does not know.
    static func kindIndex(_ kind: String) -> Int? {
        // The common kinds first, compared without hashing.
        switch kind {
        case Topic.tickKind: return tickIndex
        case Topic.barKind: return barIndex
        case Topic.featuresKind: return featuresIndex
        default: return kinds.firstIndex(of: kind)
        }
    }

    static let tickIndex = kinds.firstIndex(of: Topic.tickKind)
    static let barIndex = kinds.firstIndex(of: Topic.barKind)
    static let featuresIndex = kinds.firstIndex(of: Topic.featuresKind)

    /// Records `delivery`, accepted at `nowNs` (UTC nanoseconds).
    public func record(_ delivery: Delivery, nowNs: Int64) {
        guard let index = Self.kindIndex(delivery.topic.kind), index < sets.count else { return }
        sets[index].record(eventNs: delivery.eventTimeNs, publishNs: delivery.publishTimeNs, receiveNs: nowNs)
    }

    /// Writes every set made in this process, as three histogram families.
    public static func render(into text: inout PrometheusText) {
        let all = DeliveryHistograms.registry.withLock { $0.values.sorted { $0.labelKey < $1.labelKey } }
        let families = [
            ("tickwire_publish_delay_seconds", "Publish time minus event time of the messages received, by topic kind: the producer's stage."),
            ("tickwire_bus_delay_seconds", "Receive time minus publish time of the messages received, by topic kind: the bus hop."),
            ("tickwire_event_age_seconds", "Receive time minus event time of the messages received, by topic kind: the data's age."),
        ]
        let snapshots = all.map { ($0.labels, $0.snapshot()) }
        for (index, (name, help)) in families.enumerated() {
            text.family(name, .histogram, help: help)
            for (labels, snapshot) in snapshots {
                let counts = index == 0 ? snapshot.publish : index == 1 ? snapshot.bus : snapshot.age
                text.histogram(name, labels, bounds: DeliveryHistograms.boundsSeconds, counts: counts.buckets,
                    sum: Double(counts.sumNs) / 1e9, count: counts.count)
            }
        }
    }
}

/// The three latency histograms of one (service, instance, kind), under one lock.
public final class DeliveryHistograms: Sendable {
    /// Counts per bucket (not cumulative; the last is above every bound), the sum and count.
    struct Counts: Sendable {
        var buckets = [UInt64](repeating: 0, count: DeliveryHistograms.boundsNs.count + 1)
        var sumNs: Int64 = 0
        var count: UInt64 = 0

        mutating func add(_ span: Int64) {
            var index = 0
            let bounds = DeliveryHistograms.boundsNs
            while index < bounds.count && span > bounds[index] { index += 1 }
            buckets[index] &+= 1
            let (sum, overflow) = sumNs.addingReportingOverflow(span)
            sumNs = overflow ? .max : sum
            count &+= 1
        }
    }

    struct Snapshot: Sendable {
        var publish = Counts()
        var bus = Counts()
        var age = Counts()
    }

    let labels: [(String, String)]
    let labelKey: String
    let state = Mutex(Snapshot())

    /// ``ServiceMetrics/latencyBuckets`` in nanoseconds and seconds.
    static let boundsNs: [Int64] = ServiceMetrics.latencyBuckets.map {
        $0.components.seconds &* 1_000_000_000 &+ $0.components.attoseconds / 1_000_000_000
    }
    static let boundsSeconds: [Double] = boundsNs.map { Double($0) / 1e9 }

    /// Every set made in this process, by labels.
    static let registry = Mutex<[String: DeliveryHistograms]>([:])

    init(labels: [(String, String)], key: String) {
        self.labels = labels
        labelKey = key
    }

    /// The process's set for these labels, made on first use.
    static func shared(service: String, instance: String, kind: String) -> DeliveryHistograms {
        let key = "\(service)\u{0}\(instance)\u{0}\(kind)"
        return registry.withLock { registry in
            if let known = registry[key] { return known }
            let made = DeliveryHistograms(labels: [("service", service), ("instance", instance), ("kind", kind)], key: key)
            registry[key] = made
            return made
        }
    }

    /// Records the three spans of one message; an unset time or a negative span is skipped.
    func record(eventNs: Int64, publishNs: Int64, receiveNs: Int64) {
        let publish = Self.span(from: eventNs, to: publishNs)
        let bus = Self.span(from: publishNs, to: receiveNs)
        let age = Self.span(from: eventNs, to: receiveNs)
        guard publish != nil || bus != nil || age != nil else { return }
        state.withLock { state in
            if let publish { state.publish.add(publish) }
            if let bus { state.bus.add(bus) }
            if let age { state.age.add(age) }
        }
    }

    func snapshot() -> Snapshot { state.withLock { $0 } }

    static func span(from start: Int64, to end: Int64) -> Int64? {
        guard start > 0 else { return nil }
        let (span, overflow) = end.subtractingReportingOverflow(start)
        return !overflow && span >= 0 ? span : nil
    }
}

/// One latency histogram of the process's registry (``ServiceMetrics/processRegistry``,
/// buckets ``ServiceMetrics/latencyBuckets``), made once and recorded without allocating.
/// Made on the swift-prometheus registry itself, not through swift-metrics' `Timer`, so that
/// each family has its `# HELP` line.
public struct LatencyHistogram: Sendable {
    let histogram: DurationHistogram

    /// `tickwire_<metric>_seconds`; `labels` have the same names on every use of `metric`, and
    /// `help` is the same text.
    public init(metric: String, _ labels: [(String, String)], help: String) {
        histogram = ServiceMetrics.processRegistry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(namespace: "tickwire", metricName: metric, unitName: "seconds", helpText: help),
            labels: labels, buckets: ServiceMetrics.latencyBuckets)
    }

    /// Records `end − start` (UTC nanoseconds); nothing for an unset start, a negative span
    /// (two machines' clocks apart) or one that overflows.
    public func record(fromNs start: Int64, toNs end: Int64) {
        guard start > 0 else { return }
        let (span, overflow) = end.subtractingReportingOverflow(start)
        guard !overflow, span >= 0 else { return }
        histogram.recordNanoseconds(span)
    }
}
