import Crypto
import Foundation
import Logging
import Notifications
import Synchronization
import TestSupport
import Testing

/// Twilio, webhook (JSON, Slack, Discord) and Telegram against local Hummingbird servers.
@Suite("HTTP channels against local servers")
struct HTTPChannelTests {
    static let message = OutgoingMessage(
        id: "signal-MSFT-20250312T1400-SELL", subject: "MSFT SELL — 0.74 ✅",
        text: "MSFT SELL at 402.10\nStop 409.00, size 40 shares\nModels: 4 of 6 agree",
        html: "<p>MSFT SELL</p>", priority: "normal")
    static let quick = ChannelTimeouts(connect: .seconds(5), total: .seconds(10))
    static let fixedDate = Date(timeIntervalSince1970: 1_741_786_200)  // 2025-03-12T13:30:00Z

    // MARK: Twilio

    @Test("Twilio: one form POST per number with Basic auth")
    func twilio() async throws {
        try await using(
            try await FakeHTTPServer.start { _ in CannedResponse(status: 201, body: #"{"sid":"SM1"}"#) },
            stop: { await $0.stop() }
        ) { server in
            let channel = TwilioSMSChannel(
                settings: TwilioSettings(
                    accountSID: "AC0123456789abcdef", authToken: "tok-secret-42", from: "+15005550006",
                    to: ["+15551230001", "+15551230002"], baseURL: server.baseURL + "/", timeouts: Self.quick))
            try await channel.deliver(Self.message)
            let requests = server.requests
            #expect(requests.count == 2)
            let expectedAuth = "Basic " + Data("AC0123456789abcdef:tok-secret-42".utf8).base64EncodedString()
            for (request, number) in zip(requests, ["+15551230001", "+15551230002"]) {
                #expect(request.method == "POST")
                #expect(request.path == "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json")
                #expect(request.headers["authorization"] == expectedAuth)
                #expect(request.headers["content-type"] == "application/x-www-form-urlencoded")
                let form = request.form()
                #expect(form["To"] == number)
                #expect(form["From"] == "+15005550006")
                #expect(form["Body"] == "MSFT SELL — 0.74 ✅\nMSFT SELL at 402.10")
            }
        }
    }

    @Test("Twilio: the body is at most 1600 characters")
    func twilioLimit() {
        var message = Self.message
        message.text = String(repeating: "x", count: 5000)
        let body = TwilioSMSChannel.smsBody(message)
        #expect(body.utf16.count == TwilioSMSChannel.bodyLimit)
        #expect(body.hasSuffix("…"))
    }

    @Test("Twilio: a retry of the same message texts only the numbers that failed")
    func twilioRetry() async throws {
        let failSecond = Mutex(true)
        let server = try await FakeHTTPServer.start { request in
            if request.form()["To"] == "+15551230002" && failSecond.withLock({ $0 }) {
                return CannedResponse(status: 503, body: #"{"message":"busy"}"#)
            }
            return CannedResponse(status: 201)
        }
        try await using(server, stop: { await $0.stop() }) { server in
            let channel = TwilioSMSChannel(
                settings: TwilioSettings(
                    accountSID: "AC1", authToken: "tok-secret-42", from: "+15005550006",
                    to: ["+15551230001", "+15551230002"], baseURL: server.baseURL, timeouts: Self.quick))
            let error = try #require(await deliveryError(channel, Self.message))
            #expect(error.kind == .rejected(code: 503))
            #expect(!error.isPermanent)
            #expect(error.message.contains("1 of 2"))
            failSecond.withLock { $0 = false }
            try await channel.deliver(Self.message)
            #expect(server.requests.map { $0.form()["To"] ?? "" } == ["+15551230001", "+15551230002", "+15551230002"])
        }
    }

    @Test("Twilio: 401 is a permanent auth error without the token")
    func twilioAuth() async throws {
        try await using(
            try await FakeHTTPServer.start { _ in
                CannedResponse(status: 401, body: #"{"message":"Authenticate tok-secret-42"}"#)
            },
            stop: { await $0.stop() }
        ) { server in
            let channel = TwilioSMSChannel(
                settings: TwilioSettings(
                    accountSID: "AC1", authToken: "tok-secret-42", from: "+1500", to: ["+1555"],
                    baseURL: server.baseURL,
                    timeouts: Self.quick))
            let error = try #require(await deliveryError(channel, Self.message))
            #expect(error.kind == .auth)
            #expect(error.isPermanent)
            #expect(!error.description.contains("tok-secret-42"))
        }
    }

    // MARK: Webhook

    @Test("webhook: JSON body and an HMAC-SHA256 signature that verifies")
    func webhookSigned() async throws {
        try await using(try await FakeHTTPServer.start(), stop: { await $0.stop() }) { server in
            let channel = WebhookChannel(
                settings: WebhookSettings(
                    url: ChannelSecret(server.baseURL + "/hooks/tickwire"), secret: "hmac-key-xyz", timeouts: Self.quick
                ),
                now: { Self.fixedDate })
            #expect(channel.name == "webhook")
            try await channel.deliver(Self.message)
            let request = try #require(server.requests.first)
            #expect(request.path == "/hooks/tickwire")
            #expect(request.headers["content-type"] == "application/json")
            let json = try request.json()
            #expect(json["id"] as? String == Self.message.id)
            #expect(json["subject"] as? String == Self.message.subject)
            #expect(json["text"] as? String == Self.message.text)
            #expect(json["priority"] as? String == "normal")
            #expect(json["sent_at"] as? String == "2025-03-12T13:30:00Z")
            let key = SymmetricKey(data: Data("hmac-key-xyz".utf8))
            let header = try #require(request.headers["x-tickwire-signature"])
            #expect(header.hasPrefix("sha256="))
            let hex = String(header.dropFirst("sha256=".count))
            let mac = Array(HMAC<SHA256>.authenticationCode(for: request.body, using: key))
            #expect(hex == mac.map { String(format: "%02x", $0) }.joined())
            #expect(request.headers["x-tickwire-message-id"] == Self.message.id)
        }
    }

    @Test("webhook without a secret: no signature header")
    func webhookUnsigned() async throws {
        try await using(try await FakeHTTPServer.start(), stop: { await $0.stop() }) { server in
            let channel = WebhookChannel(
                settings: WebhookSettings(url: ChannelSecret(server.baseURL), timeouts: Self.quick))
            try await channel.deliver(Self.message)
            let request = try #require(server.requests.first)
            #expect(request.headers["x-tickwire-signature"] == nil)
        }
    }

    @Test("Slack format: {\"text\"} with the subject in bold, & < > escaped")
    func slack() async throws {
        try await using(try await FakeHTTPServer.start(), stop: { await $0.stop() }) { server in
            let channel = WebhookChannel(
                settings: WebhookSettings(
                    url: ChannelSecret(server.baseURL + "/services/T000/B000/XXXX"), format: .slack,
                    timeouts: Self.quick))
            #expect(channel.name == "slack")
            var message = Self.message
            message.text = "P&L <up>"
            try await channel.deliver(message)
            let json = try #require(server.requests.first).json()
            #expect(json.keys.sorted() == ["text"])
            #expect(json["text"] as? String == "*MSFT SELL — 0.74 ✅*\nP&amp;L &lt;up&gt;")
        }
    }

    @Test("Discord format: {\"content\"} of at most 2000 characters, pinging no one")
    func discord() async throws {
        try await using(
            try await FakeHTTPServer.start { _ in CannedResponse(status: 204, body: "") }, stop: { await $0.stop() }
        ) { server in
            let channel = WebhookChannel(
                settings: WebhookSettings(
                    url: ChannelSecret(server.baseURL + "/api/webhooks/1/abc"), format: .discord, timeouts: Self.quick))
            #expect(channel.name == "discord")
            var message = Self.message
            message.text = String(repeating: "é", count: 3000)
            try await channel.deliver(message)
            let json = try #require(server.requests.first).json()
            let content = try #require(json["content"] as? String)
            #expect(json.keys.sorted() == ["allowed_mentions", "content"])
            #expect((json["allowed_mentions"] as? [String: Any])?["parse"] as? [String] == [])
            #expect(content.hasPrefix("**MSFT SELL — 0.74 ✅**\né"))
            #expect(content.utf16.count <= WebhookChannel.discordLimit)
            #expect(content.hasSuffix("…"))
        }
    }

    @Test("HTTP 500 is transient, 400 permanent, 429 transient with Retry-After; secret URLs never in errors")
    func statuses() async throws {
        let server = try await FakeHTTPServer.start { request in
            switch request.path {
            case "/500/secret-path": CannedResponse(status: 500, body: "upstream down")
            case "/400/secret-path": CannedResponse(status: 400, body: #"{"error":"bad payload"}"#)
            case "/429/secret-path": CannedResponse(status: 429, body: "slow down", retryAfter: "7")
            case "/403/secret-path": CannedResponse(status: 403, body: "forbidden")
            default: CannedResponse(status: 404)
            }
        }
        try await using(server, stop: { await $0.stop() }) { server in
            func error(_ status: Int) async throws -> ChannelError {
                let channel = WebhookChannel(
                    settings: WebhookSettings(
                        url: ChannelSecret("\(server.baseURL)/\(status)/secret-path"), timeouts: Self.quick))
                let error = try #require(await deliveryError(channel, Self.message))
                #expect(!error.description.contains("secret-path"), "\(error)")
                return error
            }
            let e500 = try await error(500)
            #expect(e500.kind == .rejected(code: 500))
            #expect(!e500.isPermanent)
            #expect(e500.message.contains("upstream down"))
            let e400 = try await error(400)
            #expect(e400.kind == .rejected(code: 400))
            #expect(e400.isPermanent)
            let e429 = try await error(429)
            #expect(e429.kind == .rejected(code: 429))
            #expect(!e429.isPermanent)
            #expect(e429.retryAfter == .seconds(7))
            let e403 = try await error(403)
            #expect(e403.kind == .auth)
            #expect(e403.isPermanent)
        }
    }

    @Test("HTTP: nothing listening is unreachable; a silent server times out in time")
    func httpTransportFailures() async throws {
        let closed = try LoopbackSocket(listening: false)
        let refused = WebhookChannel(
            settings: WebhookSettings(url: ChannelSecret("http://127.0.0.1:\(closed.port)/x"), timeouts: Self.quick))
        let unreachable = try #require(await deliveryError(refused, Self.message))
        #expect(unreachable.kind == .unreachable)
        #expect(!unreachable.isPermanent)

        let silent = try LoopbackSocket(listening: true)
        let hanging = WebhookChannel(
            settings: WebhookSettings(
                url: ChannelSecret("http://127.0.0.1:\(silent.port)/x"),
                timeouts: ChannelTimeouts(connect: .seconds(1), total: .milliseconds(1200))))
        let clock = ContinuousClock()
        let start = clock.now
        let timeout = try #require(await deliveryError(hanging, Self.message))
        #expect(timeout.kind == .timeout)
        #expect(!timeout.isPermanent)
        // 1.2 s total; without the deadline a silent server holds the request for a minute.
        // The bound leaves room for a loaded CI machine (pool waits of ~9 s seen).
        #expect(clock.now - start < .seconds(30))
    }

    @Test("config errors: a non-http URL, a missing CA file")
    func configErrors() async throws {
        let ftp = WebhookChannel(settings: WebhookSettings(url: "ftp://example.com/x"))
        #expect(await deliveryError(ftp, Self.message)?.kind == .config)
        let missingCA = WebhookChannel(
            settings: WebhookSettings(url: "https://example.com/x", caFile: "/nonexistent/ca.pem"))
        let error = try #require(await deliveryError(missingCA, Self.message))
        #expect(error.kind == .config)
        #expect(error.isPermanent)
    }

    // MARK: Telegram

    @Test("Telegram: sendMessage under /bot<token>/ with chat_id and text")
    func telegram() async throws {
        try await using(
            try await FakeHTTPServer.start { _ in CannedResponse(body: #"{"ok":true,"result":{}}"#) },
            stop: { await $0.stop() }
        ) { server in
            let token = "123456:ABC-def_ghi"
            let plain = TelegramChannel(
                settings: TelegramSettings(
                    botToken: ChannelSecret(token), chatID: "-1001234567", baseURL: server.baseURL, timeouts: Self.quick
                ))
            try await plain.deliver(Self.message)
            let html = TelegramChannel(
                settings: TelegramSettings(
                    botToken: ChannelSecret(token), chatID: "@tickwire_alerts", parseMode: .html,
                    baseURL: server.baseURL, timeouts: Self.quick))
            var low = Self.message
            low.priority = "low"
            low.text = "a < b & c"
            try await html.deliver(low)

            let requests = server.requests
            #expect(requests.count == 2)
            #expect(requests.allSatisfy { $0.path == "/bot\(token)/sendMessage" && $0.method == "POST" })
            let first = try requests[0].json()
            #expect((first["chat_id"] as? NSNumber)?.int64Value == -1_001_234_567)
            #expect(first["text"] as? String == "\(Self.message.subject)\n\n\(Self.message.text)")
            #expect(first["parse_mode"] == nil)
            #expect(first["disable_notification"] == nil)
            let second = try requests[1].json()
            #expect(second["chat_id"] as? String == "@tickwire_alerts")
            #expect(second["parse_mode"] as? String == "HTML")
            #expect(second["text"] as? String == "<b>MSFT SELL — 0.74 ✅</b>\n\na &lt; b &amp; c")
            #expect(second["disable_notification"] as? Bool == true)
        }
    }

    @Test("Telegram: 429 transient with retry_after; 400 permanent; the token never in the error")
    func telegramErrors() async throws {
        let token = "987654:SECRET-token"
        let server = try await FakeHTTPServer.start { request in
            if request.text.contains("\"chat_id\":1") {
                return CannedResponse(
                    status: 429, body: #"{"ok":false,"error_code":429,"parameters":{"retry_after":12}}"#)
            }
            return CannedResponse(
                status: 400,
                body: #"{"ok":false,"description":"Bad Request: chat not found for bot987654:SECRET-token"}"#)
        }
        try await using(server, stop: { await $0.stop() }) { server in
            let limited = TelegramChannel(
                settings: TelegramSettings(
                    botToken: ChannelSecret(token), chatID: "1", baseURL: server.baseURL, timeouts: Self.quick))
            let e429 = try #require(await deliveryError(limited, Self.message))
            #expect(e429.kind == .rejected(code: 429))
            #expect(!e429.isPermanent)
            #expect(e429.retryAfter == .seconds(12))
            let missing = TelegramChannel(
                settings: TelegramSettings(
                    botToken: ChannelSecret(token), chatID: "2", baseURL: server.baseURL, timeouts: Self.quick))
            let e400 = try #require(await deliveryError(missing, Self.message))
            #expect(e400.kind == .rejected(code: 400))
            #expect(e400.isPermanent)
            #expect(!e400.description.contains("SECRET-token"), "\(e400)")
            #expect(e400.description.contains("chat not found"))
        }
    }

    // MARK: Console and secrets

    @Test("console: logs and never fails")
    func console() async throws {
        try await ConsoleChannel(logger: Logger(label: "test.console")).deliver(Self.message)
        #expect(ConsoleChannel().name == "console")
    }

    @Test("settings print secrets as <redacted>")
    func redactedSettings() {
        let email = EmailSettings(
            server: "smtp.example.com", username: "u", password: "pw-hunter2", from: "a@example.com",
            recipients: ["b@example.com"])
        let telegram = TelegramSettings(botToken: "123:tok-hunter2", chatID: "1")
        let webhook = WebhookSettings(
            url: "https://hooks.slack.com/services/T/B/hunter2", format: .slack, secret: "hunter2")
        for text in ["\(email)", "\(telegram)", "\(webhook)", String(reflecting: email), String(reflecting: webhook)] {
            #expect(!text.contains("hunter2"), "\(text)")
        }
    }
}
