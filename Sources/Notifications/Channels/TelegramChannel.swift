import Foundation

/// Settings of a ``TelegramChannel``.
public struct TelegramSettings: Sendable, Equatable {
    public enum ParseMode: String, Sendable, Equatable {
        /// The subject in bold; subject and text HTML-escaped.
        case html = "HTML"
    }

    /// The bot token (`123456:ABC…`): part of the URL path, never logged.
    public var botToken: ChannelSecret
    /// A numeric chat id (sent as a number) or `@channelusername` (sent as a string).
    public var chatID: String
    /// nil: plain text.
    public var parseMode: ParseMode?
    /// `https://api.telegram.org`; tests point it at a local server.
    public var baseURL: String
    public var caFile: String?
    public var timeouts: ChannelTimeouts

    public init(
        botToken: ChannelSecret, chatID: String, parseMode: ParseMode? = nil,
        baseURL: String = "https://api.telegram.org",
        caFile: String? = nil, timeouts: ChannelTimeouts = ChannelTimeouts()
    ) {
        self.botToken = botToken
        self.chatID = chatID
        self.parseMode = parseMode
        self.baseURL = baseURL
        self.caFile = caFile
        self.timeouts = timeouts
    }
}

/// Sends each message with the Bot API's `sendMessage`
/// (`POST {base}/bot{token}/sendMessage`, JSON `{chat_id, text, parse_mode?, disable_notification?}`).
/// Low-priority messages arrive silently (`disable_notification`). Text is cut to 4096 characters.
public struct TelegramChannel: DeliveryChannel {
    public static let textLimit = 4096

    public let settings: TelegramSettings
    public var name: String { "telegram" }

    public init(settings: TelegramSettings) {
        self.settings = settings
    }

    public func deliver(_ message: OutgoingMessage) async throws(ChannelError) {
        try checkHTTPURL(settings.baseURL, channel: name, what: "Telegram base URL")
        let token = settings.botToken.value
        guard !token.isEmpty, !token.contains(where: { $0 == "/" || $0.isWhitespace || $0 == "?" || $0 == "#" }) else {
            throw ChannelError(.config, channel: name, message: "the bot token is empty or malformed")
        }
        guard !settings.chatID.isEmpty else {
            throw ChannelError(.config, channel: name, message: "no chat id configured")
        }
        var base = settings.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        let http = HTTPDelivery(channel: name, timeouts: settings.timeouts, caFile: settings.caFile, secrets: [token])
        _ = try await http.post(
            url: "\(base)/bot\(token)/sendMessage", contentType: "application/json", body: try body(for: message))
    }

    /// The exact JSON posted for `message`.
    public func body(for message: OutgoingMessage) throws(ChannelError) -> [UInt8] {
        // Telegram counts the limit after entity parsing, so cut before escaping.
        let subject = truncated(message.subject, limit: 512)
        let body = truncated(message.text, limit: Self.textLimit - subject.utf16.count - 2)
        let text: String
        switch settings.parseMode {
        case nil: text = "\(subject)\n\n\(body)"
        case .html: text = "<b>\(Self.htmlEscaped(subject))</b>\n\n\(Self.htmlEscaped(body))"
        }
        let chat: Payload.Chat = Int64(settings.chatID).map { .number($0) } ?? .name(settings.chatID)
        return try encodeJSON(
            Payload(
                chat_id: chat, text: text, parse_mode: settings.parseMode?.rawValue,
                disable_notification: message.priority == "low" ? true : nil),
            channel: name)
    }

    static func htmlEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    private struct Payload: Encodable {
        enum Chat: Encodable {
            case number(Int64)
            case name(String)

            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                switch self {
                case .number(let value): try container.encode(value)
                case .name(let value): try container.encode(value)
                }
            }
        }

        var chat_id: Chat
        var text: String
        var parse_mode: String?
        var disable_notification: Bool?
    }
}
