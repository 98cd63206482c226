import Bus
import Contracts
import Foundation
import Logging
import Metrics
import Observability
import Prometheus
import Synchronization

/// A service's Prometheus scrape and probe answers, made from what it already keeps: the
/// heartbeat counters (``ServiceCounters``), the publisher's statistics and `/proc`. Metrics
/// recorded through swift-metrics (histograms) come from ``registry``, which
/// ``ServiceRuntime`` installs as the process's metrics backend.
///
/// Every sample carries `service` and `instance` labels. Counter names from the heartbeat
/// become label values, bounded by ``maxNamedSeries`` (the rest add up in `other`).
public struct ServiceMetrics: Sendable {
    public let service: String
    public let instance: String
    let counters: ServiceCounters
    let publisherStatistics: @Sendable () -> Publisher.Statistics
    public let registry: PrometheusCollectorRegistry

    /// The most heartbeat counters exported one by one.
    public static let maxNamedSeries = 512

    public init(
        service: String, instance: String, counters: ServiceCounters, registry: PrometheusCollectorRegistry,
        publisherStatistics: @escaping @Sendable () -> Publisher.Statistics
    ) {
        self.service = service
        self.instance = instance
        self.counters = counters
        self.registry = registry
        self.publisherStatistics = publisherStatistics
    }

    /// The process-wide registry swift-metrics writes to, bootstrapped once.
    public static let processRegistry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = latencyBuckets
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// Latency buckets from 100 µs to 30 s.
    public static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
    ]

    /// Heartbeat counters that are levels (a queue's depth, a lag), not counts.
    static func isLevel(_ name: String) -> Bool {
        name.hasSuffix("queue") || name.hasSuffix("lag_ms") || name.hasSuffix("segments") || name.hasSuffix("rate")
            || name.hasSuffix("pending") || name.hasSuffix("depth") || name.hasSuffix("budget")
            || name.hasSuffix("_now") || name.hasSuffix(".owned") || name.hasSuffix(".members")
            || name.hasSuffix(".elastic") || name.hasSuffix("last_orphan_ms") || name.hasSuffix("_milli")
    }

    /// Heartbeat counters with a family of their own: prefix, metric, label.
    static let families: [(prefix: String, metric: String, label: String, help: String)] = [
        ("rejected.", "tickwire_messages_rejected_total", "reason", "Messages dropped at the boundary, by reason."),
        ("notifications.sent.", "tickwire_notifications_sent_total", "channel", "Notifications delivered, by channel."),
        ("notifications.failed.", "tickwire_notifications_failed_total", "channel", "Notifications that failed, by channel."),
    ]

    /// The `/metrics` body.
    public func scrape() -> String {
        let snapshot = counters.snapshot
        let publisher = publisherStatistics()
        let base = [("service", service), ("instance", instance)]
        var text = PrometheusText()

        text.family("tickwire_up", .gauge, help: "1 while the service runs (not starting or stopping).")
        text.sample("tickwire_up", base, snapshot.state == .running || snapshot.state == .degraded ? 1.0 : 0.0)
        text.family("tickwire_degraded", .gauge, help: "1 while the service runs degraded (e.g. its provider is down).")
        text.sample("tickwire_degraded", base, snapshot.state == .degraded ? 1.0 : 0.0)
        text.family("tickwire_messages_in_total", .counter, help: "Bus messages received.")
        text.sample("tickwire_messages_in_total", base, snapshot.messagesIn)
        text.family("tickwire_messages_out_total", .counter, help: "Bus messages published.")
        text.sample("tickwire_messages_out_total", base, snapshot.messagesOut)
        text.family("tickwire_sequence_gaps_total", .counter, help: "Gaps in producers' sequence numbers seen.")
        text.sample("tickwire_sequence_gaps_total", base, snapshot.sequenceGaps)
        text.family("tickwire_errors_total", .counter, help: "Errors the service counted.")
        text.sample("tickwire_errors_total", base, snapshot.errors)
        text.family("tickwire_bus_sent_total", .counter, help: "Messages the publisher handed to ZeroMQ.")
        text.sample("tickwire_bus_sent_total", base, publisher.sent)
        text.family(
            "tickwire_bus_dropped_total", .counter,
            help: "Messages the publisher dropped: its queue was full (or it was closing), or the peer's high-water mark stayed full.")
        text.sample("tickwire_bus_dropped_total", base + [("reason", "high_water_mark")], publisher.droppedAtHighWaterMark)
        text.sample("tickwire_bus_dropped_total", base + [("reason", "queue_full")], publisher.dropped)
        text.family("tickwire_bus_send_errors_total", .counter, help: "Sends libzmq refused with an error.")
        text.sample("tickwire_bus_send_errors_total", base, publisher.sendErrors)

        // Heartbeat counters: a family for the known kinds, events and levels for the rest.
        var events: [(String, UInt64)] = [], levels: [(String, UInt64)] = []
        var grouped: [Int: [(String, UInt64)]] = [:]
        var other: UInt64 = 0
        var exported = 0
        for (name, value) in snapshot.named.sorted(by: { $0.key < $1.key }) where name != "process.rss_bytes" {
            guard exported < Self.maxNamedSeries else {
                other &+= value
                continue
            }
            exported += 1
            if let index = Self.families.firstIndex(where: { name.hasPrefix($0.prefix) }) {
                grouped[index, default: []].append((String(name.dropFirst(Self.families[index].prefix.count)), value))
            } else if Self.isLevel(name) {
                levels.append((name, value))
            } else {
                events.append((name, value))
            }
        }
        for (index, family) in Self.families.enumerated() {
            text.family(family.metric, .counter, help: family.help)
            for (label, value) in grouped[index] ?? [] { text.sample(family.metric, base + [(family.label, label)], value) }
        }
        text.family("tickwire_events_total", .counter, help: "The service's heartbeat counters, by name (status.<service> counters).")
        for (name, value) in events { text.sample("tickwire_events_total", base + [("event", name)], value) }
        if other > 0 { text.sample("tickwire_events_total", base + [("event", "other")], other) }
        text.family("tickwire_level", .gauge, help: "The service's heartbeat levels (queue depths, lags), by name.")
        for (name, value) in levels { text.sample("tickwire_level", base + [("name", name)], value) }

        let process = ProcessStatistics.read()
        func gauge(_ name: String, _ kind: PrometheusText.Kind, _ help: String, _ value: Double?) {
            guard let value else { return }
            text.family(name, kind, help: help)
            text.sample(name, base, value)
        }
        gauge("tickwire_process_cpu_seconds_total", .counter, "User and system CPU time.", process.cpuSeconds)
        gauge("tickwire_process_resident_memory_bytes", .gauge, "Resident memory.", process.residentBytes.map { Double($0) })
        gauge("tickwire_process_virtual_memory_bytes", .gauge, "Virtual memory.", process.virtualBytes.map { Double($0) })
        gauge("tickwire_process_open_fds", .gauge, "Open file descriptors.", process.openFileDescriptors.map { Double($0) })
        gauge("tickwire_process_max_fds", .gauge, "The most file descriptors the process may open.", process.maxFileDescriptors.map { Double($0) })
        gauge("tickwire_process_threads", .gauge, "Threads.", process.threads.map { Double($0) })
        gauge("tickwire_process_start_time_seconds", .gauge, "When the process started, in seconds since 1970.", process.startTimeSeconds)
        DeliveryLatency.render(into: &text)
        return text.text + registry.emitToString()
    }

    /// `/health` and `/ready`: live while the service group runs; ready while running (a
    /// degraded service, whose provider is down, is live but not ready).
    public func health() -> HealthReport {
        let state = counters.snapshot.state
        let name: String
        switch state {
        case .starting: name = "starting"
        case .running: name = "running"
        case .degraded: name = "degraded"
        case .stopping: name = "stopping"
        default: name = "unknown"
        }
        let fields = ["service": service, "instance": instance, "state": name]
        let body = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return HealthReport(
            live: state == .starting || state == .running || state == .degraded, ready: state == .running, body: body)
    }
}
