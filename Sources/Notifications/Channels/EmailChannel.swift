import Curl
import Foundation

/// Settings of an ``EmailChannel``.
public struct EmailSettings: Sendable, Equatable {
    public enum Security: String, Sendable, Equatable, CaseIterable {
        /// `smtp://`, then STARTTLS, required (`CURLUSESSL_ALL`): the send fails with `.tls`
        /// when the server offers no STARTTLS. Default port 587.
        case starttls
        /// Implicit TLS, `smtps://`. Default port 465.
        case tls
        /// Plain text, no TLS at all (credentials in the clear): local tests only. Default port 25.
        case none
    }

    /// Host name or IP address of the SMTP server.
    public var server: String
    public var port: Int
    public var security: Security
    /// Empty: no SMTP AUTH. Otherwise libcurl logs in (PLAIN/LOGIN/…, whatever the server offers).
    public var username: String
    public var password: ChannelSecret
    /// `alerts@example.com` or `Tickwire <alerts@example.com>`.
    public var from: String
    /// Every recipient (To header and RCPT TO); one SMTP transaction for all.
    public var recipients: [String]
    /// A PEM bundle to trust instead of the system's CAs (a private or self-signed CA).
    public var caFile: String?
    public var timeouts: ChannelTimeouts

    /// - Parameter port: nil picks the security's default (587, 465 or 25).
    public init(
        server: String, port: Int? = nil, security: Security = .starttls, username: String = "",
        password: ChannelSecret = "", from: String, recipients: [String], caFile: String? = nil,
        timeouts: ChannelTimeouts = ChannelTimeouts()
    ) {
        self.server = server
        self.security = security
        self.port = port ?? Self.defaultPort(security)
        self.username = username
        self.password = password
        self.from = from
        self.recipients = recipients
        self.caFile = caFile
        self.timeouts = timeouts
    }

    public static func defaultPort(_ security: Security) -> Int {
        switch security {
        case .starttls: 587
        case .tls: 465
        case .none: 25
        }
    }
}

/// Sends each message by SMTP through libcurl: one transaction to every recipient, a MIME
/// message built here (Date, Message-ID, From, To, RFC 2047 Subject, multipart/alternative
/// text + HTML in UTF-8 quoted-printable, CRLF). libcurl does the dot-stuffing.
///
/// Errors: login refused → `.auth`; nothing listening → `.unreachable`; no answer in time →
/// `.timeout`; a server reply ≥ 400 to MAIL/RCPT/DATA → `.rejected(code)` (4xx transient,
/// 5xx permanent; a single refused recipient fails the whole send); certificate or missing
/// STARTTLS → `.tls`.
public struct EmailChannel: DeliveryChannel {
    public let settings: EmailSettings
    public var name: String { "email" }
    private let now: @Sendable () -> Date

    /// - Parameter now: the clock for the Date header (tests pin it).
    public init(settings: EmailSettings, now: @escaping @Sendable () -> Date = { Date() }) {
        self.settings = settings
        self.now = now
    }

    public func deliver(_ message: OutgoingMessage) async throws(ChannelError) {
        let (from, recipients) = try addresses()
        try checkCAFile(settings.caFile, channel: name)
        let server = settings.server.trimmingCharacters(in: .whitespaces)
        guard !server.isEmpty,
            !server.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "@" || $0 == "?" || $0 == "#" }),
            (1...65535).contains(settings.port)
        else { throw ChannelError(.config, channel: name, message: "the SMTP server or port is invalid") }
        let host = server.contains(":") && !server.hasPrefix("[") ? "[\(server)]" : server
        let scheme = settings.security == .tls ? "smtps" : "smtp"

        let mime = MIME.message(
            message, from: from, to: recipients, date: now(),
            messageID: "\(UUID().uuidString.lowercased())@\(from.domain)",
            boundary: "tickwire-\(UUID().uuidString.lowercased())")
        var request = CurlDelivery.request(
            url: "\(scheme)://\(host):\(settings.port)", protocols: "smtp,smtps", timeouts: settings.timeouts,
            caFile: settings.caFile)
        request.upload = Array(mime.utf8)
        request.mailFrom = "<\(from.address)>"
        request.mailRecipients = recipients.map { "<\($0.address)>" }
        request.requireTLS = settings.security == .starttls
        if !settings.username.isEmpty {
            request.username = settings.username
            request.password = settings.password.value
        }
        do {
            _ = try await CurlDelivery.perform(request)
        } catch {
            throw error.channelError(channel: name, secrets: [settings.password.value], smtp: true)
        }
    }

    /// The complete message as it would be sent (for tests and previews).
    public func renderedMessage(_ message: OutgoingMessage, messageID: String = "preview@tickwire") throws(ChannelError)
        -> String
    {
        let (from, recipients) = try addresses()
        return MIME.message(
            message, from: from, to: recipients, date: now(), messageID: messageID, boundary: "tickwire-preview")
    }

    private func addresses() throws(ChannelError) -> (MailAddress, [MailAddress]) {
        guard let from = MailAddress(settings.from) else {
            throw ChannelError(.config, channel: name, message: "the sender address '\(settings.from)' is not valid")
        }
        guard !settings.recipients.isEmpty else {
            throw ChannelError(.config, channel: name, message: "no recipients configured")
        }
        var recipients: [MailAddress] = []
        for text in settings.recipients {
            guard let address = MailAddress(text) else {
                throw ChannelError(.config, channel: name, message: "the recipient address '\(text)' is not valid")
            }
            recipients.append(address)
        }
        return (from, recipients)
    }
}
