import Foundation
import ServiceKit

/// One message to deliver, already rendered.
public struct OutgoingMessage: Sendable, Equatable, Codable {
    /// Dedupe key, e.g. `"signal-AAPL-…-BUY"`.
    public var id: String
    /// UTF-8, may contain non-ASCII; line breaks are replaced by spaces where a header needs it.
    public var subject: String
    /// Plain-text body.
    public var text: String
    /// HTML body; empty means text only.
    public var html: String
    /// `"high"`, `"normal"` or `"low"`.
    public var priority: String
    /// When the bus message it reports (a signal, an alert) was published, UTC nanoseconds;
    /// nil for the notifier's own messages. Delivery latency is measured from it.
    public var publishTimeNs: Int64?

    public init(id: String, subject: String, text: String, html: String = "", priority: String = "normal") {
        self.id = id
        self.subject = subject
        self.text = text
        self.html = html
        self.priority = priority
    }
}

/// A way to deliver a message: email, SMS, a webhook, Telegram or the log.
public protocol DeliveryChannel: Sendable {
    /// `"email"`, `"sms"`, `"webhook"`, `"slack"`, `"discord"`, `"telegram"` or `"console"`.
    var name: String { get }
    /// Delivers or throws a ``ChannelError``; finishes within the channel's configured timeout
    /// (a cancelled task makes it stop within about a second, with `.cancelled`).
    func deliver(_ message: OutgoingMessage) async throws(ChannelError)
}

/// Why a delivery failed. Never carries a password, token, auth header or secret URL.
public struct ChannelError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable, CustomStringConvertible {
        /// Could not connect (refused, DNS failure, no route). Transient.
        case unreachable
        /// The connect or total timeout ran out. Transient.
        case timeout
        /// The server answered with a failure: an HTTP status or an SMTP reply code.
        /// Transient for HTTP 429 and 5xx and for SMTP 4xx; permanent otherwise.
        case rejected(code: Int)
        /// The credentials were refused (HTTP 401/403, SMTP login denied). Permanent.
        case auth
        /// The channel's settings are unusable (bad URL or address, missing CA file…). Permanent.
        case config
        /// TLS failed: the certificate did not verify, or the server offers no TLS. Permanent.
        case tls
        /// The connection broke mid-way (reset, send/receive error). Transient.
        case transport
        /// The delivering task was cancelled; nothing (or not everything) was delivered. Transient.
        case cancelled

        public var description: String {
            switch self {
            case .unreachable: "unreachable"
            case .timeout: "timeout"
            case .rejected(let code): "rejected (\(code))"
            case .auth: "auth"
            case .config: "config"
            case .tls: "tls"
            case .transport: "transport"
            case .cancelled: "cancelled"
            }
        }
    }

    public var kind: Kind
    /// The channel's ``DeliveryChannel/name``.
    public var channel: String
    /// What happened, for logs (secrets removed).
    public var message: String
    /// True when retrying the same message cannot help (bad credentials, bad address, 4xx).
    public var isPermanent: Bool
    /// How long the server asked us to wait (HTTP `Retry-After`, Telegram `retry_after`), if it did.
    public var retryAfter: Duration?

    public init(_ kind: Kind, channel: String, message: String, isPermanent: Bool? = nil, retryAfter: Duration? = nil) {
        self.kind = kind
        self.channel = channel
        self.message = message
        self.isPermanent = isPermanent ?? Self.defaultPermanence(kind)
        self.retryAfter = retryAfter
    }

    /// Permanence for HTTP statuses (`rejected`: 429 and 5xx transient); SMTP callers pass their own.
    static func defaultPermanence(_ kind: Kind) -> Bool {
        switch kind {
        case .unreachable, .timeout, .transport, .cancelled: false
        case .auth, .config, .tls: true
        case .rejected(let code): !(code == 429 || code == 408 || (500...599).contains(code))
        }
    }

    public var description: String {
        "\(channel): \(kind)\(isPermanent ? ", permanent" : ", transient"): \(message)"
    }
}

/// Connect and total time limits of one delivery (one request; the SMS channel shares one
/// total deadline across its numbers).
public struct ChannelTimeouts: Sendable, Equatable {
    /// TCP + TLS connect (and, for SMTP, nothing more).
    public var connect: Duration
    /// The whole delivery, connect included.
    public var total: Duration

    public init(connect: Duration = .seconds(10), total: Duration = .seconds(30)) {
        self.connect = connect
        self.total = total
    }
}

/// A password, token or signing secret: prints as `<redacted>` so that logging a settings
/// value never shows it.
public struct ChannelSecret: Sendable, Equatable, ExpressibleByStringLiteral, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    public let value: String

    public init(_ value: String) { self.value = value }
    public init(stringLiteral value: String) { self.value = value }

    public var isEmpty: Bool { value.isEmpty }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

extension String {
    /// `self` with every non-empty secret, however short, replaced by `<redacted>`.
    func redacting(_ secrets: [String]) -> String {
        URLRedaction.scrub(self, secrets: secrets)
    }
}
