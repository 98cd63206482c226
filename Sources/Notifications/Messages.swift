import Contracts
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
    /// `error_<first 50 characters>`, one key per status kind.
    public var throttleKey: String {
        switch self {
        case .signal(let signal): "signal_\(signal.symbol)_\(Render.action(signal.action))"
        case .alert(let alert): "error_" + String("\(alert.category): \(alert.title)".prefix(50))
        case .started: "status_started"
        case .stopped: "status_stopped"
        case .report: "status_report"
        case .serviceQuiet(let service, _): "error_" + String("service quiet: \(service)".prefix(50))
        }
    }
}

enum Render {
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

    /// The message for `kind` with `id` (the outbox's dedupe key) and `priority`.
    static func message(_ kind: MessageKind, id: String, priority: String, eventTime: Int64) -> OutgoingMessage {
        var lines: [(String, String)] = []
        let subject: String
        var footer = ""
        switch kind {
        case .signal(let s):
            subject = String(format: "Tickwire %@ %@ @ %.2f (confidence %.0f%%)", action(s.action), s.symbol, s.price, s.confidence * 100)
            lines = [
                ("Ticker", s.symbol), ("Signal", action(s.action)), ("Confidence", String(format: "%.1f%%", s.confidence * 100)),
                ("Price", String(format: "%.2f", s.price)),
                ("Position size", String(format: "%.4g shares (%.1f%% of capital)", s.shares, s.suggestedPositionSize * 100)),
                ("Stop loss", s.stopLoss > 0 ? String(format: "%.2f", s.stopLoss) : "-"),
                ("Time", time(eventTime)), ("Ensemble", s.ensembleMethod), ("Signal id", s.id),
            ]
            footer = s.votes.map {
                String(format: "%@: %@ p=%.2f weight %.2f", $0.model, action($0.action), $0.probability, $0.weight)
            }.joined(separator: "\n")
        case .alert(let a):
            subject = "Tickwire \(a.severity.topicName.uppercased()): \(a.title)"
            lines = [("Category", a.category), ("Service", a.service), ("Message", a.message), ("Time", time(eventTime))]
            if !a.symbol.isEmpty { lines.insert(("Symbol", a.symbol), at: 1) }
        case .started:
            subject = "Tickwire notifier started"
            lines = [("Time", time(eventTime))]
        case .stopped:
            subject = "Tickwire notifier stopped"
            lines = [("Time", time(eventTime))]
        case .report(let summary):
            subject = "Tickwire status report"
            lines = [("Time", time(eventTime))]
            footer = summary
        case .serviceQuiet(let service, let seconds):
            subject = "Tickwire: \(service) has gone quiet"
            lines = [("Service", service), ("Silent for", String(format: "%.0f s", seconds)), ("Time", time(eventTime))]
        }
        let width = lines.map(\.0.count).max() ?? 0
        var text = lines.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
        if !footer.isEmpty { text += "\n\n" + footer }
        var html = "<html><body><h3>\(escape(subject))</h3><table>"
        html += lines.map { "<tr><th align=\"left\">\(escape($0.0))</th><td>\(escape($0.1))</td></tr>" }.joined()
        html += "</table>"
        if !footer.isEmpty { html += "<pre>\(escape(footer))</pre>" }
        html += "</body></html>"
        return OutgoingMessage(id: id, subject: subject, text: text, html: html, priority: priority)
    }
}
