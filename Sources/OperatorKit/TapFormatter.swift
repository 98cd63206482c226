import Bus
import Contracts
import Foundation
import SwiftProtobuf

/// Turns deliveries into bus-tap's output: JSON lines or a table of topics.
public enum TapFormatter {
    /// One JSON object: topic, producer, seq, times, kind, and the payload's fields under the
    /// payload's name (proto field names), e.g. `{"topic":"tick.AAPL",…,"trade":{"price":…}}`.
    public static func jsonLine(_ delivery: Delivery, receivedAt: Int64) -> String {
        let envelope = delivery
        var payloadJSON = "{}"
        var kind = "none"
        if let payload = envelope.payload {
            kind = payload.name
            var options = JSONEncodingOptions()
            options.preserveProtoFieldNames = true
            options.alwaysPrintInt64sAsNumbers = true
            payloadJSON = (try? payload.message.jsonString(options: options)) ?? "{}"
        }
        let latencyMicros = Double(receivedAt - envelope.publishTimeNs) / 1_000
        return "{\"topic\":\(quoted(delivery.topic.description)),"
            + "\"producer\":\(quoted(envelope.producer.displayName)),"
            + "\"seq\":\(envelope.sequence),"
            + "\"event_time\":\(quoted(isoTime(envelope.eventTimeNs))),"
            + "\"event_time_ns\":\(envelope.eventTimeNs),"
            + "\"publish_time_ns\":\(envelope.publishTimeNs),"
            + "\"latency_us\":\(String(format: "%.1f", latencyMicros)),"
            + "\"kind\":\(quoted(kind)),"
            + "\(quoted(kind)):\(payloadJSON)}"
    }

    /// A JSON string literal.
    public static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 {
                    result += String(format: "\\u%04x", scalar.value)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    /// UTC ISO 8601 with nanoseconds, e.g. `2026-11-25T14:30:00.123456789Z`.
    public static func isoTime(_ nanoseconds: Int64) -> String {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        let fraction = nanoseconds % 1_000_000_000
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec, Int(fraction))
    }

    /// A short human summary of a payload for the table's "last" column.
    public static func summary(_ payload: Envelope.OneOf_Payload?) -> String {
        switch payload {
        case .trade(let trade): String(format: "trade %.2f x %.0f", trade.price, trade.size)
        case .quote(let quote): String(format: "quote %.2f / %.2f", quote.bidPrice, quote.askPrice)
        case .bar(let bar): String(format: "bar O%.2f H%.2f L%.2f C%.2f V%.0f", bar.open, bar.high, bar.low, bar.close, bar.volume)
        case .features(let features): "\(features.names.count) features"
        case .signal(let signal): String(format: "%@ %.2f", "\(signal.action)", signal.confidence)
        case .session(let session):
            "\(session.phase) \(session.tradingDay)\(session.earlyClose ? " early close" : "")\(session.simulatedClock ? " (simulated clock)" : "")"
        case .timer(let timer): "\(timer.name) #\(timer.count) \(timer.tradingDay)"
        case .alert(let alert): "\(alert.category): \(alert.title)"
        case .status(let status):
            String(format: "%@ up %.0fs in %llu out %llu", "\(status.state)", status.uptimeSeconds, status.messagesIn, status.messagesOut)
        case nil: "-"
        }
    }
}

extension Envelope.OneOf_Payload {
    /// The payload as a protobuf message, for JSON encoding.
    public var message: any SwiftProtobuf.Message {
        switch self {
        case .trade(let value): value
        case .quote(let value): value
        case .bar(let value): value
        case .features(let value): value
        case .signal(let value): value
        case .session(let value): value
        case .alert(let value): value
        case .status(let value): value
        case .timer(let value): value
        }
    }
}

/// Per-topic counts and rates for the live table and the exit report.
public struct TapStatistics: Sendable {
    public struct Row: Sendable {
        public var topic: String
        public var count: UInt64 = 0
        public var windowCount: UInt64 = 0
        public var last = "-"
        public var lastProducer = ""
    }

    public private(set) var rows: [String: Row] = [:]
    public private(set) var total: UInt64 = 0

    public init() {}

    public mutating func record(_ delivery: Delivery) {
        let key = delivery.topic.description
        var row = rows[key] ?? Row(topic: key)
        row.count += 1
        row.windowCount += 1
        row.last = TapFormatter.summary(delivery.payload)
        row.lastProducer = delivery.producer.displayName
        rows[key] = row
        total += 1
    }

    /// The table, with rates over the `window` seconds since the last call.
    public mutating func table(window: Double, subscription: MessageSubscription.Statistics) -> String {
        func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, width - text.count))
            return right ? fill + text : text + fill
        }
        var lines = [pad("TOPIC", 22) + pad("MSGS", 10, right: true) + pad("RATE/s", 10, right: true) + "  " + pad("PRODUCER", 26) + "LAST"]
        for key in rows.keys.sorted() {
            guard var row = rows[key] else { continue }
            let rate = window > 0 ? Double(row.windowCount) / window : 0
            lines.append(
                pad(row.topic, 22) + pad(String(row.count), 10, right: true)
                    + pad(String(format: "%.1f", rate), 10, right: true) + "  " + pad(row.lastProducer, 26) + row.last)
            row.windowCount = 0
            rows[key] = row
        }
        lines.append(
            "total \(total) · gaps \(subscription.sequence.gaps) (missing \(subscription.sequence.missing)) · "
                + "duplicates \(subscription.sequence.duplicates) · rejected \(subscription.rejectedTotal)")
        return lines.joined(separator: "\n")
    }
}
