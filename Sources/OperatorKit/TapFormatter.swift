import Bus
import Contracts
import Foundation
import ServiceKit
import SwiftProtobuf
import Timekeeping

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
        // Saturating: a publish time of Int64.min or a clock far off must not trap.
        let latencyMicros = Double(Nanoseconds.subtracting(receivedAt, envelope.publishTimeNs)) / 1_000
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

    /// UTC ISO 8601 with nanoseconds, e.g. `2026-11-25T14:30:00.123456789Z`; any `Int64`
    /// (1677-09-21 to 2262-04-11).
    public static func isoTime(_ nanoseconds: Int64) -> String {
        // Floor division without multiplying back (which overflows near Int64.min).
        var seconds = nanoseconds / Nanoseconds.perSecond
        var fraction = nanoseconds % Nanoseconds.perSecond
        if fraction < 0 {
            fraction += Nanoseconds.perSecond
            seconds -= 1
        }
        var time = time_t(seconds)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return "\(nanoseconds)ns" }
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec, Int(fraction))
    }

    /// `text` cut to `limit` Unicode scalars (the last one `…`), for table cells and stored
    /// rows. Reads at most `limit + 1` scalars, so a huge text costs no more than a short one.
    public static func clipped(_ text: String, to limit: Int = 64) -> String {
        let limit = max(1, limit)
        // No more bytes than the limit: no more scalars either.
        guard text.utf8.count > limit else { return text }
        let scalars = text.unicodeScalars
        guard scalars.dropFirst(limit).first != nil else { return text }
        return String(scalars.prefix(limit - 1)) + "…"
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
            "\(session.phase) \(clipped(session.tradingDay))\(session.earlyClose ? " early close" : "")\(session.simulatedClock ? " (simulated clock)" : "")"
        case .timer(let timer): "\(clipped(timer.name)) #\(timer.count) \(clipped(timer.tradingDay))"
        case .alert(let alert): "\(alert.category): \(clipped(alert.title))"
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

/// Per-topic counts and rates for the live table and the exit report. At most `maxRows`
/// topics are kept: a new topic beyond that evicts the least recently seen one, and the
/// table's footer counts the evictions, so a flood of random topics cannot grow memory.
public struct TapStatistics: Sendable {
    public struct Row: Sendable {
        public var topic: String
        public var count: UInt64 = 0
        public var windowCount: UInt64 = 0
        public var last = "-"
        public var lastProducer = ""
    }

    /// Default for `maxRows`.
    public static let defaultMaxRows = 1_000

    private var rows: RecencyMap<String, Row>
    public private(set) var total: UInt64 = 0

    public init(maxRows: Int = TapStatistics.defaultMaxRows) {
        rows = RecencyMap(capacity: maxRows)
    }

    /// Topics in the table now.
    public var rowCount: Int { rows.count }
    /// Topics dropped from the table to make room.
    public var evictedRows: UInt64 { rows.evictions }
    public var maxRows: Int { rows.capacity }

    /// The row of `topic`, if it is in the table.
    public func row(_ topic: String) -> Row? { rows.peek(topic) }

    public mutating func record(_ delivery: Delivery) {
        let key = delivery.topic.description
        // Clipped before escaping too: a megabyte of producer name costs no more than a short one.
        func cell(_ text: String) -> String { TapFormatter.clipped(LogEscaping.escape(TapFormatter.clipped(text))) }
        let last = cell(TapFormatter.summary(delivery.payload))
        let producer = cell(delivery.producer.displayName)
        rows.update(key, default: Row(topic: key)) { row in
            row.count &+= 1
            row.windowCount &+= 1
            row.last = last
            row.lastProducer = producer
        }
        total &+= 1
    }

    /// The table, with rates over the `window` seconds since the last call.
    public mutating func table(window: Double, subscription: MessageSubscription.Statistics) -> String {
        func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, width - text.count))
            return right ? fill + text : text + fill
        }
        var lines = [
            pad("TOPIC", 22) + pad("MSGS", 10, right: true) + pad("RATE/s", 10, right: true) + "  "
                + pad("PRODUCER", 26) + "LAST"
        ]
        for (_, row) in rows.all.sorted(by: { $0.key < $1.key }) {
            let rate = window > 0 ? Double(row.windowCount) / window : 0
            lines.append(
                pad(row.topic, 22) + pad(String(row.count), 10, right: true)
                    + pad(String(format: "%.1f", rate), 10, right: true) + "  " + pad(row.lastProducer, 26) + row.last)
        }
        rows.forEach { _, row in row.windowCount = 0 }
        lines.append(
            "total \(total) · gaps \(subscription.sequence.gaps) (missing \(subscription.sequence.missing)) · "
                + "duplicates \(subscription.sequence.duplicates) · rejected \(subscription.rejectedTotal) · "
                + "topics \(rows.count) (max \(rows.capacity)), evicted \(rows.evictions)")
        return lines.joined(separator: "\n")
    }
}
