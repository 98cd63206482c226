import Contracts
import Prometheus

/// Latency histograms of every message a service receives, by topic kind, from the times
/// each envelope carries and the moment it was accepted:
/// - `tickwire_publish_delay_seconds`: publish − event time, the producer's own stage
///   (provider event → publish for ticks, bar close → features, bar close → signal);
/// - `tickwire_bus_delay_seconds`: receive − publish time, the hop through bus-proxy;
/// - `tickwire_event_age_seconds`: receive − event time, how old the data is on arrival.
///
/// The timers are made once per kind (the kinds are ``Topic/knownKinds``), so recording
/// allocates nothing. A negative span (clocks of two machines apart) is not recorded.
public struct DeliveryLatency: Sendable {
    struct Timers: Sendable {
        let publishDelay: LatencyHistogram
        let busDelay: LatencyHistogram
        let eventAge: LatencyHistogram
    }

    let timers: [String: Timers]

    public init(service: String, instance: String) {
        var timers: [String: Timers] = [:]
        for kind in Topic.knownKinds {
            let dimensions = [("service", service), ("instance", instance), ("kind", kind)]
            timers[kind] = Timers(
                publishDelay: LatencyHistogram(
                    metric: "publish_delay", dimensions,
                    help: "Publish time minus event time of the messages received, by topic kind: the producer's stage."),
                busDelay: LatencyHistogram(
                    metric: "bus_delay", dimensions,
                    help: "Receive time minus publish time of the messages received, by topic kind: the bus hop."),
                eventAge: LatencyHistogram(
                    metric: "event_age", dimensions,
                    help: "Receive time minus event time of the messages received, by topic kind: the data's age."))
        }
        self.timers = timers
    }

    /// Records `delivery`, accepted at `nowNs` (UTC nanoseconds).
    public func record(_ delivery: Delivery, nowNs: Int64) {
        guard let timers = timers[delivery.topic.kind] else { return }
        timers.publishDelay.record(fromNs: delivery.eventTimeNs, toNs: delivery.publishTimeNs)
        timers.busDelay.record(fromNs: delivery.publishTimeNs, toNs: nowNs)
        timers.eventAge.record(fromNs: delivery.eventTimeNs, toNs: nowNs)
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
