import Bus
import Contracts
import Foundation
import Observability
import Prometheus
import ServiceKit
import Testing

@Suite("Prometheus text and a service's scrape")
struct ServiceMetricsTests {
    @Test("values: integers plainly, fractions in full, NaN and infinities spelled as Prometheus does")
    func format() {
        #expect(PrometheusText.format(0) == "0")
        #expect(PrometheusText.format(66_273_280) == "66273280")
        #expect(PrometheusText.format(-3) == "-3")
        #expect(PrometheusText.format(0.25) == "0.25")
        #expect(PrometheusText.format(1e300) == "1e+300")
        #expect(PrometheusText.format(.nan) == "NaN")
        #expect(PrometheusText.format(.infinity) == "+Inf")
        #expect(PrometheusText.format(-.infinity) == "-Inf")
        #expect(PrometheusText.format(Double(UInt64.max)) == "1.8446744073709552e+19")
    }

    @Test("label values escape backslash, quote and newline; names keep only what the format allows")
    func escaping() {
        #expect(PrometheusText.escapeLabel(#"a"b\c"# + "\nd") == #"a\"b\\c\nd"#)
        #expect(PrometheusText.sanitizedName("9rejected.bad-frame") == "_rejected_bad_frame")
        var text = PrometheusText()
        text.family("x_total", .counter, help: "line one\nline two")
        text.family("x_total", .counter, help: "again")
        text.sample("x_total", [("event", "a\"b")], UInt64(7))
        #expect(text.text == "# HELP x_total line one\\nline two\n# TYPE x_total counter\nx_total{event=\"a\\\"b\"} 7\n")
    }

    @Test("a scrape: state, counts, reasons and channels as labelled series, levels as gauges, at most maxNamedSeries names; process readings")
    func scrape() {
        let counters = ServiceCounters()
        counters.setState(.running)
        counters.addOut(41)
        counters.addOut()
        counters.add("rejected.non_finite", 3)
        counters.add("notifications.sent.email", 2)
        counters.add("provider.ticks", 10)
        counters.set("outbox.pending", 5)
        counters.add("weird\"name\nwith newline")
        for index in 0..<(ServiceMetrics.maxNamedSeries + 100) { counters.add("zz.flood.\(index)") }
        var statistics = Publisher.Statistics()
        statistics.sent = 40
        statistics.dropped = 1
        statistics.droppedAtHighWaterMark = 2
        let published = statistics
        let metrics = ServiceMetrics(
            service: "notifier", instance: "n\"1", counters: counters, registry: .init(), publisherStatistics: { published })
        let text = metrics.scrape()
        let labels = #"service="notifier",instance="n\"1""#
        #expect(text.contains("tickwire_up{\(labels)} 1\n"))
        #expect(text.contains("tickwire_messages_out_total{\(labels)} 42\n"))
        #expect(text.contains("tickwire_messages_rejected_total{\(labels),reason=\"non_finite\"} 3\n"))
        #expect(text.contains("tickwire_notifications_sent_total{\(labels),channel=\"email\"} 2\n"))
        #expect(text.contains("tickwire_events_total{\(labels),event=\"provider.ticks\"} 10\n"))
        #expect(text.contains("tickwire_level{\(labels),name=\"outbox.pending\"} 5\n"))
        #expect(text.contains(#"event="weird\"name\nwith newline"} 1"#))
        #expect(text.contains("tickwire_bus_dropped_total{\(labels),reason=\"queue_full\"} 1\n"))
        #expect(text.contains("tickwire_bus_dropped_total{\(labels),reason=\"high_water_mark\"} 2\n"))
        // Bounded: 512 names one by one, the rest summed into `other`.
        let named = text.split(separator: "\n").filter {
            $0.hasPrefix("tickwire_events_total{") || $0.hasPrefix("tickwire_level{") || $0.hasPrefix("tickwire_messages_rejected_total{")
                || $0.hasPrefix("tickwire_notifications_sent_total{")
        }
        #expect(named.count == ServiceMetrics.maxNamedSeries + 1)
        #expect(text.contains("tickwire_events_total{\(labels),event=\"other\"} "))
        // Every sample line is `name{labels} value` with a value that parses.
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.split(separator: " ").last.flatMap { Double($0) } != nil, "\(line)")
        }
        #expect(text.contains("tickwire_process_open_fds{"))
        #expect(ProcessStatistics.read().residentBytes.map { $0 > 1_000_000 } == true)

        counters.setState(.degraded)
        #expect(metrics.health().live && !metrics.health().ready)
        counters.setState(.stopping)
        #expect(!metrics.health().live && !metrics.health().ready)
        #expect(metrics.health().body.contains(#""state":"stopping""#))
    }
}

@Suite("Delivery latency histograms")
struct DeliveryLatencyTests {
    func delivery(topic: String, event: Int64, publish: Int64) throws -> Delivery {
        var envelope = Envelope()
        envelope.eventTimeNs = event
        envelope.publishTimeNs = publish
        envelope.sequence = 1
        envelope.trade = Trade()
        return Delivery(topic: try Topic(wire: Array(topic.utf8) + [0]), envelope: envelope)
    }

    /// The value of the sample line that starts with `prefix`.
    func value(_ text: String, _ prefix: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
    }

    @Test("three spans per message into cumulative buckets; negative and unset spans skipped; kinds apart; shared by label set")
    func buckets() throws {
        let instance = "latency-\(UInt32.random(in: 0...UInt32.max))"
        let latency = DeliveryLatency(service: "test", instance: instance)
        let again = DeliveryLatency(service: "test", instance: instance)  // a second subscription: the same series
        let t0: Int64 = 1_700_000_000_000_000_000
        // publish 0.3 ms after the event, received 2 ms after publishing.
        latency.record(try delivery(topic: "tick.AAPL", event: t0, publish: t0 + 300_000), nowNs: t0 + 2_300_000)
        again.record(try delivery(topic: "tick.MSFT", event: t0, publish: t0 + 300_000), nowNs: t0 + 40_000_000_000)
        latency.record(try delivery(topic: "bar.AAPL", event: t0, publish: t0 + 1_000), nowNs: t0 + 2_000)
        // Received before it was published (clocks apart): only publish delay counts.
        latency.record(try delivery(topic: "tick.AAPL", event: t0, publish: t0 + 1_000), nowNs: t0 - 5)
        // No event time: only the bus hop (1 ns) counts.
        latency.record(try delivery(topic: "tick.AAPL", event: 0, publish: t0), nowNs: t0 + 1)
        var text = PrometheusText()
        DeliveryLatency.render(into: &text)
        let scrape = text.text
        let tick = #"service="test",instance="\#(instance)",kind="tick""#
        #expect(scrape.contains("# TYPE tickwire_bus_delay_seconds histogram"))
        // Bus hops of the tick kind: 2 ms, 40 s and 1 ns (the negative one skipped).
        #expect(value(scrape, #"tickwire_bus_delay_seconds_bucket{\#(tick),le="0.0001"}"#) == 1)
        #expect(value(scrape, #"tickwire_bus_delay_seconds_bucket{\#(tick),le="0.001"}"#) == 1)
        #expect(value(scrape, #"tickwire_bus_delay_seconds_bucket{\#(tick),le="0.002"}"#) == 2)
        #expect(value(scrape, #"tickwire_bus_delay_seconds_bucket{\#(tick),le="30"}"#) == 2)
        #expect(value(scrape, #"tickwire_bus_delay_seconds_bucket{\#(tick),le="+Inf"}"#) == 3)
        #expect(value(scrape, #"tickwire_bus_delay_seconds_count{\#(tick)}"#) == 3)
        #expect(value(scrape, #"tickwire_publish_delay_seconds_count{\#(tick)}"#) == 3)
        #expect(value(scrape, #"tickwire_publish_delay_seconds_bucket{\#(tick),le="0.00025"}"#) == 1)
        let sum = try #require(value(scrape, #"tickwire_bus_delay_seconds_sum{\#(tick)}"#))
        #expect(abs(sum - (0.002 + 39.9997 + 1e-9)) < 1e-12, "\(sum)")
        #expect(value(scrape, #"tickwire_event_age_seconds_count{service="test",instance="\#(instance)",kind="bar"}"#) == 1)
        #expect(value(scrape, #"tickwire_event_age_seconds_count{service="test",instance="\#(instance)",kind="features"}"#) == 0)
    }
}
