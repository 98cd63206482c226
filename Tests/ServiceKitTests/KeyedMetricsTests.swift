import Prometheus
import Testing

@testable import ServiceKit

@Suite("Keyed metrics: series per outside key, capped")
struct KeyedMetricsTests {
    @Test("past the cap, new keys add up under other; known keys keep their own series")
    func counterCap() {
        let registry = PrometheusCollectorRegistry()
        let counter = KeyedCounter(
            metric: "symbol_messages", labels: [("service", "s"), ("kind", "trade")], keyLabel: "symbol", help: "h",
            capacity: 3, registry: registry)
        for index in 0..<1_000 { counter.increment("S\(index)") }
        counter.increment("S0", by: 5)
        counter.increment(String(repeating: "L", count: 65))
        let text = registry.emitToString()
        let series = text.split(separator: "\n").filter { $0.hasPrefix("tickwire_symbol_messages_total{") }
        #expect(series.count == 4, "\(series)")
        #expect(series.contains { $0.contains(#"symbol="S0""#) && $0.hasSuffix(" 6") })
        #expect(series.contains { $0.contains(#"symbol="other""#) && $0.hasSuffix(" 998") })
        #expect(text.contains("# HELP tickwire_symbol_messages_total h"))
    }

    @Test("gauges: capped the same way; values that are not finite are not recorded")
    func gaugeCap() {
        let registry = PrometheusCollectorRegistry()
        let gauge = KeyedGauge(
            metric: "feed_age", unit: "seconds", labels: [("service", "s")], keyLabel: "symbol", help: "h", capacity: 2,
            registry: registry)
        gauge.set("A", 1)
        gauge.set("B", 2)
        gauge.set("C", 3)
        gauge.set("A", .nan)
        gauge.set("A", .infinity)
        let series = registry.emitToString().split(separator: "\n").filter { $0.hasPrefix("tickwire_feed_age_seconds{") }
        #expect(series.count == 3, "\(series)")
        #expect(series.contains { $0.contains(#"symbol="A""#) && ($0.hasSuffix(" 1.0") || $0.hasSuffix(" 1")) })
        #expect(series.contains { $0.contains(#"symbol="other""#) })
    }
}
