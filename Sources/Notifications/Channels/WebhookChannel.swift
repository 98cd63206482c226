import Crypto
import Foundation

/// Settings of a ``WebhookChannel``.
public struct WebhookSettings: Sendable, Equatable {
    /// What the POST body looks like.
    public enum Format: String, Sendable, Equatable, CaseIterable {
        /// `{"id", "subject", "text", "priority", "sent_at"}` (sorted keys).
        case json
        /// A Slack incoming webhook: `{"text": "*subject*\ntext"}`.
        case slack
        /// A Discord webhook: `{"content": "**subject**\ntext", "allowed_mentions": {"parse": []}}`,
        /// at most 2000 characters, pinging no one.
        case discord
    }

    /// The endpoint. Slack and Discord URLs are secrets: the URL never appears in errors.
    public var url: ChannelSecret
    public var format: Format
    /// When set, every request carries `X-Tickwire-Signature: sha256=<hex HMAC-SHA256 of the body>`.
    public var secret: ChannelSecret?
    /// A PEM bundle to trust instead of the system's CAs.
    public var caFile: String?
    public var timeouts: ChannelTimeouts

    public init(
        url: ChannelSecret, format: Format = .json, secret: ChannelSecret? = nil, caFile: String? = nil,
        timeouts: ChannelTimeouts = ChannelTimeouts()
    ) {
        self.url = url
        self.format = format
        self.secret = secret
        self.caFile = caFile
        self.timeouts = timeouts
    }
}

/// Posts each message as JSON to a URL: a generic webhook (optionally HMAC-signed), Slack or
/// Discord. Its ``name`` is the format's: `"webhook"`, `"slack"` or `"discord"`.
public struct WebhookChannel: DeliveryChannel {
    public static let signatureHeader = "X-Tickwire-Signature"
    public static let discordLimit = 2000
    public static let slackLimit = 40_000
    /// The generic JSON format's limits: the subject and the text, in UTF-16 code units.
    public static let subjectLimit = 200
    public static let textLimit = 65_536

    public let settings: WebhookSettings
    public var name: String {
        switch settings.format {
        case .json: "webhook"
        case .slack: "slack"
        case .discord: "discord"
        }
    }
    private let now: @Sendable () -> Date

    /// - Parameter now: the clock for `sent_at` (tests pin it).
    public init(settings: WebhookSettings, now: @escaping @Sendable () -> Date = { Date() }) {
        self.settings = settings
        self.now = now
    }

    public func deliver(_ message: OutgoingMessage) async throws(ChannelError) {
        try checkHTTPURL(settings.url.value, channel: name, what: "webhook URL")
        let body = try self.body(for: message)
        // Printable ASCII only: nothing in the id can end the header line.
        let tag = message.id.filter { ($0.asciiValue ?? 0) > 32 && ($0.asciiValue ?? 0) < 127 }.prefix(200)
        var headers = ["X-Tickwire-Message-Id: \(tag)"]
        if let secret = settings.secret, !secret.isEmpty {
            headers.append("\(Self.signatureHeader): \(Self.signature(body: body, secret: secret.value))")
        }
        var secrets = [settings.url.value, settings.secret?.value ?? ""]
        if let path = URLComponents(string: settings.url.value)?.path, path.count > 1 { secrets.append(path) }
        let http = HTTPDelivery(channel: name, timeouts: settings.timeouts, caFile: settings.caFile, secrets: secrets)
        _ = try await http.post(url: settings.url.value, contentType: "application/json", body: body, headers: headers)
    }

    /// The exact bytes posted for `message`.
    public func body(for message: OutgoingMessage) throws(ChannelError) -> [UInt8] {
        switch settings.format {
        case .json:
            return try encodeJSON(
                JSONPayload(
                    id: String(message.id.prefix(200)), subject: truncated(message.subject, limit: Self.subjectLimit),
                    text: truncated(message.text, limit: Self.textLimit), priority: message.priority,
                    sent_at: now().formatted(.iso8601)),
                channel: name)
        case .slack:
            let text = "*\(Self.slackEscaped(message.subject))*\n\(Self.slackEscaped(message.text))"
            return try encodeJSON(["text": truncated(text, limit: Self.slackLimit)], channel: name)
        case .discord:
            let text = "**\(message.subject)**\n\(message.text)"
            // No @everyone, @here, role or user pings, whatever the text says.
            return try encodeJSON(
                DiscordPayload(content: truncated(text, limit: Self.discordLimit), allowed_mentions: .init(parse: [])),
                channel: name)
        }
    }

    /// `sha256=<lower-case hex HMAC-SHA256 of body keyed with secret's UTF-8>`.
    public static func signature(body: [UInt8], secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256="
            + code.map { byte in byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16) }.joined()
    }

    /// Slack wants `&`, `<` and `>` escaped in message text.
    static func slackEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    private struct DiscordPayload: Encodable {
        struct Mentions: Encodable {
            var parse: [String]
        }
        var content: String
        var allowed_mentions: Mentions
    }

    private struct JSONPayload: Encodable {
        var id: String
        var subject: String
        var text: String
        var priority: String
        var sent_at: String
    }
}
