import Contracts
import Crypto
import Foundation

/// What the notifier sends, rendered for people: a subject, a plain-text and an HTML body.
public enum MessageKind: Sendable, Equatable {
    case signal(Signal)
    case alert(Alert)
    case started, stopped
    case report(String)
    case serviceQuiet(service: String, seconds: Double)

    /// The key into `notifications.priorities`.
    public var priorityKey: String {
        switch self {
        case .signal: "signal"
        case .alert(let alert): "alert.\(alert.severity.topicName)"
        case .started: "status.started"
        case .stopped: "status.stopped"
        case .report: "status.report"
        case .serviceQuiet: "service.quiet"
        }
    }

    /// Repeats with the same key are throttled together: `signal_<TICKER>_<SIGNAL>`,
    /// `error_<first 50 characters>` (control characters escaped), one key per status kind.
    public var throttleKey: String {
        switch self {
        case .signal(let signal): "signal_\(Render.clean(signal.symbol, limit: 50))_\(Render.action(signal.action))"
        case .alert(let alert): "error_" + Render.clean("\(alert.category): \(alert.title)", limit: 50)
        case .started: "status_started"
        case .stopped: "status_stopped"
        case .report: "status_report"
        case .serviceQuiet(let service, _): "error_" + Render.clean("service quiet: \(service)", limit: 50)
        }
    }
}

/// Renders messages for people. Every string from the bus (titles, messages, details,
/// symbols, names, ids) passes through ``clean(_:limit:multiline:)`` first: cut to a sane
/// length, control characters escaped, line breaks kept only where a body allows them. The
/// channels then apply their own limits (SMS, Telegram, Discord, the email subject).
enum Render {
    /// The longest subject rendered, in characters (an email client shows far less).
    static let subjectLimit = 200
    static let titleLimit = 200
    static let messageLimit = 4_000
    /// Category, service, symbol, model and ensemble names, detail keys.
    static let nameLimit = 100
    static let detailValueLimit = 300
    /// Alert details and model votes shown; the rest are counted in one line.
    static let detailsShown = 20
    static let votesShown = 20
    /// Longer message ids (the outbox key) are replaced by a hash of themselves.
    static let idLimit = 128

    static func action(_ action: Action) -> String {
        switch action {
        case .buy: "BUY"
        case .sell: "SELL"
        case .hold: "HOLD"
        default: "UNKNOWN"
        }
    }

    static func time(_ nanoseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: Double(nanoseconds) / 1e9))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// C0 and C1 controls (CR and LF among them), Unicode line and paragraph separators, and
    /// the bidirectional overrides that can make text read differently from what it is.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// `text` safe to show: at most `limit` Unicode scalars (ending in "…" when cut); line
    /// breaks (CR, LF, CRLF, NEL, U+2028/9) become "\n" when `multiline`, else spaces; tabs
    /// stay in multi-line text; every other control character is written as `\u{XX}`.
    static func clean(_ text: String, limit: Int, multiline: Bool = false) -> String {
        let limit = max(1, limit)
        var result = String.UnicodeScalarView()
        var used = 0
        var cut = false
        var afterCR = false
        for scalar in text.unicodeScalars {
            var piece: String.UnicodeScalarView
            switch scalar.value {
            case 0x0A where afterCR:
                afterCR = false
                continue
            case 0x0A, 0x0D, 0x85, 0x2028, 0x2029:
                piece = String.UnicodeScalarView([multiline ? "\n" : " "])
            case 0x09:
                piece = String.UnicodeScalarView([multiline ? "\t" : " "])
            default:
                piece =
                    isControl(scalar)
                    ? "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars
                    : String.UnicodeScalarView([scalar])
            }
            afterCR = scalar.value == 0x0D
            if used + piece.count > limit {
                cut = true
                break
            }
            result.append(contentsOf: piece)
            used += piece.count
        }
        guard cut else { return String(result) }
        while used > limit - 1, !result.isEmpty {
            result.removeLast()
            used -= 1
        }
        result.append("…")
        return String(result)
    }

    /// `id` when it is short printable ASCII, else `h-` and the SHA-256 of its UTF-8 (hex):
    /// the outbox key and the `X-Tickwire-Message-Id` header stay bounded, and equal ids still
    /// map to equal keys.
    static func boundedID(_ id: String) -> String {
        if id.utf8.count <= idLimit && id.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) { return id }
        return "h-"
            + SHA256.hash(data: Array(id.utf8)).map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
            .joined()
    }

    /// `shown` as lines, then one line counting the rest of `total`.
    static func withMore(_ shown: [String], total: Int, noun: String) -> String {
        let more = total - shown.count
        return (shown + (more > 0 ? ["… and \(more) more \(noun)"] : [])).joined(separator: "\n")
    }

    /// The message for `kind` with `id` (the outbox's dedupe key, bounded with
    /// ``boundedID(_:)``) and `priority`.
    static func message(_ kind: MessageKind, id: String, priority: String, eventTime: Int64) -> OutgoingMessage {
        var lines: [(String, String)] = []
        var subject: String
        var footer = ""
        func name(_ text: String) -> String { clean(text, limit: nameLimit) }
        switch kind {
        case .signal(let s):
            subject = String(
                format: "Tickwire %@ %@ @ %.2f (confidence %.0f%%)", action(s.action), name(s.symbol), s.price,
                s.confidence * 100)
            lines = [
                ("Ticker", name(s.symbol)), ("Signal", action(s.action)),
                ("Confidence", String(format: "%.1f%%", s.confidence * 100)),
                ("Price", String(format: "%.2f", s.price)),
                (
                    "Position size",
                    String(format: "%.4g shares (%.1f%% of capital)", s.shares, s.suggestedPositionSize * 100)
                ),
                ("Stop loss", s.stopLoss > 0 ? String(format: "%.2f", s.stopLoss) : "-"),
                ("Time", time(eventTime)), ("Ensemble", name(s.ensembleMethod)),
                ("Signal id", clean(s.id, limit: idLimit)),
            ]
            let votes = s.votes.prefix(votesShown).map {
                String(
                    format: "%@: %@ p=%.2f weight %.2f", name($0.model), action($0.action), $0.probability, $0.weight)
            }
            footer = withMore(Array(votes), total: s.votes.count, noun: "votes")
        case .alert(let a):
            subject = "Tickwire \(a.severity.topicName.uppercased()): \(clean(a.title, limit: titleLimit))"
            lines = [
                ("Category", name(a.category)), ("Service", name(a.service)),
                ("Message", clean(a.message, limit: messageLimit, multiline: true)), ("Time", time(eventTime)),
            ]
            if !a.symbol.isEmpty { lines.insert(("Symbol", name(a.symbol)), at: 1) }
            // Sorting 10,000 keys costs little; only the first few are shown.
            let details = a.details.keys.sorted().prefix(detailsShown).map {
                "\(name($0)): \(clean(a.details[$0] ?? "", limit: detailValueLimit))"
            }
            footer = withMore(Array(details), total: a.details.count, noun: "details")
        case .started:
            subject = "Tickwire notifier started"
            lines = [("Time", time(eventTime))]
        case .stopped:
            subject = "Tickwire notifier stopped"
            lines = [("Time", time(eventTime))]
        case .report(let summary):
            subject = "Tickwire status report"
            lines = [("Time", time(eventTime))]
            footer = clean(summary, limit: messageLimit * 4, multiline: true)
        case .serviceQuiet(let service, let seconds):
            subject = "Tickwire: \(name(service)) has gone quiet"
            lines = [
                ("Service", name(service)), ("Silent for", String(format: "%.0f s", seconds)),
                ("Time", time(eventTime)),
            ]
        }
        subject = clean(subject, limit: subjectLimit)
        let width = lines.map(\.0.count).max() ?? 0
        var text = lines.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(
            separator: "\n")
        if !footer.isEmpty { text += "\n\n" + footer }
        var html = "<html><body><h3>\(escape(subject))</h3><table>"
        html += lines.map { "<tr><th align=\"left\">\(escape($0.0))</th><td>\(escape($0.1))</td></tr>" }.joined()
        html += "</table>"
        if !footer.isEmpty { html += "<pre>\(escape(footer))</pre>" }
        html += "</body></html>"
        return OutgoingMessage(id: boundedID(id), subject: subject, text: text, html: html, priority: priority)
    }

    /// The summary sent on `channel` after a minute in which `held` messages were held back
    /// by the rate cap of `limit` a minute.
    static func rateCapSummary(channel: String, held: Int, limit: Int, eventTime: Int64) -> OutgoingMessage {
        let subject = "Tickwire: \(held) notification(s) held back on \(channel)"
        let text = """
            \(held) notification(s) for \(channel) were not sent: more than \(limit) arrived within a minute \
            (notifications.max_per_minute). The notifier's log and heartbeat counters \
            (notifications.rate_capped.\(channel)) have the totals.
            Time  \(time(eventTime))
            """
        return OutgoingMessage(
            id: "rate-capped-\(channel)-\(eventTime)", subject: subject, text: text,
            html: "<html><body><h3>\(escape(subject))</h3><pre>\(escape(text))</pre></body></html>", priority: "normal")
    }
}
