import ArgumentParser
import Bus
import CZeroMQ
import Contracts
import Foundation
import SwiftProtobuf

/// `make bench`: every measurement is a ratio to a baseline measured in the same run on the
/// same machine.
@main
struct TickwireBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tickwire-bench",
        abstract: "Benchmarks, each against a baseline measured in the same run.",
        subcommands: [Bench.self, IndicatorBench.self, JournalBench.self, PipelineBench.self],
        defaultSubcommand: Bench.self
    )
}

/// Bus throughput and latency against raw libzmq.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bus",
        abstract: "Measure bus throughput and latency against a raw libzmq baseline (the default)."
    )

    @Option(help: "Messages per throughput run.")
    var messages = 300_000

    @Option(help: "Runs per path; the median is reported.")
    var runs = 5

    @Option(help: "bus-proxy executable, for the through-proxy path (skipped when absent).")
    var proxy: String?

    @Option(help: "Messages per second for the latency run.")
    var latencyRate = 10_000

    @Option(help: "Seconds of the latency run.")
    var latencySeconds = 3.0

    mutating func run() async throws {
        let sample = BenchMessages.sampleTrade()
        let payloadSize = try Codec.encode(BenchMessages.envelope(sample, sequence: 1)).count
        let topic = try Topic.tick("AAPL")
        print("tickwire-bench: \(messages) messages per run, median of \(runs); tick payload \(payloadSize) bytes, topic frame \(topic.wire.count) bytes")

        var raw: [Double] = []
        var direct: [Double] = []
        var proxied: [Double] = []
        var secured: [Double] = []
        var busOnly: [Double] = []
        var withMetrics: [Double] = []
        for _ in 0..<runs {
            raw.append(try await RawBaseline.onOwnThread(messages: messages, topicSize: topic.wire.count, payloadSize: payloadSize))
            busOnly.append(try await BusOnlyPath.throughput(messages: messages, payloadSize: payloadSize))
            direct.append(try await TickwirePath.throughput(messages: messages, proxyExecutable: nil))
            withMetrics.append(try await TickwirePath.throughput(messages: messages, proxyExecutable: nil, metrics: true))
            if let proxy {
                proxied.append(try await TickwirePath.throughput(messages: messages, proxyExecutable: proxy))
                secured.append(try await TickwirePath.throughput(messages: messages, proxyExecutable: proxy, secured: true))
            }
        }
        let rawMedian = median(raw)
        // Each row: the median with the spread of the runs, and the median's ratio to the raw
        // median. The raw baseline itself swings up to 2× between runs on a 2-core machine
        // (where libzmq's I/O thread lands), so read ratios together with the spread.
        func row(_ name: String, _ values: [Double]) {
            let value = median(values)
            let ratio = value / rawMedian
            print(
                name.padding(toLength: 44, withPad: " ", startingAt: 0)
                    + String(
                        format: "%10.0f msg/s (%.0f–%.0f)   %5.2f × raw", value, values.min() ?? 0, values.max() ?? 0,
                        ratio))
        }
        print("")
        row("raw libzmq PUB→SUB (C API, same frames)", raw)
        row("tickwire Bus layer only (no codec)", busOnly)
        row("tickwire direct (encode + decode)", direct)
        row("tickwire direct + metrics (histograms)", withMetrics)
        if !proxied.isEmpty { row("tickwire through bus-proxy (security none)", proxied) }
        if !secured.isEmpty { row("tickwire through bus-proxy (CURVE + rights)", secured) }
        let directRatio = median(direct) / rawMedian
        print(String(format: "goal: direct ≥ 0.70 × raw → %@", directRatio >= 0.7 ? "met" : "NOT met"))
        let metricsCost = 1 - median(withMetrics) / median(direct)
        print(
            String(
                format: "metrics on vs off: %.1f%% slower on the direct path (goal ≤ 5%% → %@)", metricsCost * 100,
                metricsCost <= 0.05 ? "met" : "NOT met"))
        if !secured.isEmpty {
            let securedRatio = median(secured) / median(proxied)
            print(
                String(
                    format: "secured proxy path = %.2f × the plain proxy path (goal ≥ 0.70 → %@)", securedRatio,
                    securedRatio >= 0.7 ? "met" : "NOT met"))
        }

        let codec = try CodecCost.measure(messages: messages)
        print("")
        print(
            String(
                format: "single-thread cost per tick: raw frame copy %.0f ns, encode %.0f ns, decode %.0f ns, decode+track %.0f ns",
                codec.copy, codec.encode, codec.decode, codec.decodeAndTrack))

        let latency = try await TickwirePath.latency(rate: latencyRate, seconds: latencySeconds)
        print("")
        print(
            String(
                format: "one-way latency, tickwire direct at %d msg/s for %.0f s (%d samples): p50 %.1f µs, p99 %.1f µs, max %.1f µs",
                latencyRate, latencySeconds, latency.count, percentile(latency, 0.5), percentile(latency, 0.99),
                latency.max() ?? 0))
    }
}

func median(_ values: [Double]) -> Double { percentile(values, 0.5) }

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let index = min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))
    return sorted[index]
}

enum BenchMessages {
    static func sampleTrade() -> Trade {
        var trade = Trade()
        trade.symbol = "AAPL"
        trade.price = 231.47
        trade.size = 100
        trade.exchange = "XNAS"
        trade.tradeID = "52983525029461"
        trade.provider = "simulated"
        return trade
    }

    static func envelope(_ trade: Trade, sequence: UInt64) -> Envelope {
        var envelope = Envelope()
        envelope.schemaVersion = Codec.schemaVersion
        envelope.producer = Producer(service: "bench", instance: "1")
        envelope.sequence = sequence
        envelope.eventTimeNs = WallClock.nanoseconds()
        envelope.publishTimeNs = envelope.eventTimeNs
        envelope.payload = .trade(trade)
        return envelope
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
}

/// Per-message CPU cost of the codec on one thread, to tell codec cost from hand-off cost.
enum CodecCost {
    static func measure(messages: Int) throws -> (copy: Double, encode: Double, decode: Double, decodeAndTrack: Double) {
        let trade = BenchMessages.sampleTrade()
        let topic = try Topic.tick("AAPL")
        let envelope = BenchMessages.envelope(trade, sequence: 1)
        let bytes = try Codec.encode(envelope)
        func time(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<messages { try body() }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / Double(messages)
        }
        var sink = 0
        let copy = time {
            let frame = Array(bytes)
            sink &+= frame.count
        }
        var sequence: UInt64 = 0
        let producer = envelope.producer
        let encodedProducer = Codec.encodedProducer(producer)
        let encode = try time {
            sequence += 1
            sink &+= try Codec.encode(
                producer: producer, sequence: sequence, eventTimeNs: 1, publishTimeNs: 2, payload: .trade(trade),
                encodedProducer: encodedProducer
            ).count
        }
        let raw = RawMessage(topic: topic.wire, payload: bytes)
        var cache = DecodeCache()
        let decode = try time {
            sink &+= Int(try Codec.decode(raw, cache: &cache).sequence)
        }
        let protobufOnly = try time {
            sink &+= Int(try Envelope(serializedBytes: bytes).sequence)
        }
        let topicOnly = try time {
            sink &+= try Topic(wire: topic.wire).key.count
        }
        let build = time {
            var fresh = Envelope()
            fresh.schemaVersion = 1
            fresh.producer = envelope.producer
            fresh.sequence = 7
            fresh.eventTimeNs = 1
            fresh.publishTimeNs = 2
            fresh.payload = .trade(trade)
            sink &+= Int(fresh.sequence)
        }
        let tradeOnly = time {
            var fresh = Trade()
            fresh.symbol = "AAPL"
            fresh.price = 1
            fresh.exchange = "XNAS"
            fresh.tradeID = "52983525029461"
            fresh.provider = "simulated"
            sink &+= fresh.symbol.utf8.count
        }
        print(String(format: "  (for comparison: SwiftProtobuf decode %.0f ns, topic parse %.0f ns, building an Envelope %.0f ns, a Trade %.0f ns)", protobufOnly, topicOnly, build, tradeOnly))
        var tracker = SequenceTracker<StreamID>()
        let decodeAndTrack = try time {
            let delivery = try Codec.decode(raw, cache: &cache)
            tracker.record(delivery.sequence, for: delivery.stream)
        }
        if sink == 42 { print("") }
        return (copy, encode, decode, decodeAndTrack)
    }
}
