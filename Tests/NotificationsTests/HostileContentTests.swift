import Contracts
import Foundation
import TestSupport
import Testing

@testable import Notifications

/// Alert and signal text from the bus, written to hurt: CR/LF that would start new email
/// headers, megabyte strings, terminal escapes, bidi overrides, 10,000 details, pings. Every
/// channel gets it rendered safely, checked at real servers (aiosmtpd, Hummingbird).
@Suite("Hostile content is rendered safely on every channel")
struct HostileContentTests {
    static let injection =
        "Feed down\r\nBcc: victim@evil.example\r\nX-Injected: yes\r\n\r\n<!channel> @everyone \u{1B}[2J\u{202E}txt"
    static let megabyte = String(repeating: "A", count: 1_000_000)

    static func hostileAlert() -> Alert {
        var alert = Alert()
        alert.severity = .error
        alert.category = "provider.down\r\nX-Injected: category"
        alert.title = injection + megabyte
        alert.message = injection + "\n" + megabyte
        alert.service = "ingestor\r\nX-Injected: service"
        alert.symbol = "AAPL\nX-Injected: symbol"
        alert.dedupKey = injection + megabyte
        for index in 0..<10_000 {
            alert.details["key-\(index)\r\nX-Injected: detail"] = "value\r\n" + String(repeating: "v", count: 500)
        }
        return alert
    }

    /// The hostile alert as the notifier stores it.
    static let rendered = Render.message(
        .alert(hostileAlert()), id: "alert-\(injection)\(megabyte)", priority: "high",
        eventTime: 1_741_786_200_000_000_000)

    /// A message built without the renderer, as hostile as it gets: the channels' own limits.
    static let raw = OutgoingMessage(
        id: "id-\(injection)\(megabyte)", subject: injection + megabyte, text: injection + megabyte,
        html: "<p>\(megabyte)</p>", priority: "high")

    static func headerBlock(_ content: String) -> String {
        content.components(separatedBy: "\r\n\r\n").first ?? content
    }

    @Test("clean: line breaks become spaces (or stay, in bodies), controls are escaped, long text is cut")
    func clean() {
        #expect(Render.clean("a\r\nb\rc\nd\u{85}e\u{2028}f", limit: 100) == "a b c d e f")
        #expect(Render.clean("a\r\nb\rc\n\td", limit: 100, multiline: true) == "a\nb\nc\n\td")
        #expect(
            Render.clean("bell\u{07} esc\u{1B}[2J del\u{7F} rlo\u{202E}", limit: 100)
                == "bell\\u{7} esc\\u{1B}[2J del\\u{7F} rlo\\u{202E}")
        let cut = Render.clean(Self.megabyte, limit: 200)
        #expect(cut.unicodeScalars.count == 200 && cut.hasSuffix("…"))
        #expect(Render.clean("exactly", limit: 7) == "exactly")
        #expect(Render.clean("", limit: 5) == "")
    }

    @Test("bounded ids: short printable ids stay, others become a hash of themselves")
    func boundedIDs() {
        #expect(Render.boundedID("AAPL-1741959000000000000-BUY") == "AAPL-1741959000000000000-BUY")
        let hashed = Render.boundedID("x\r\nX-Injected: 1")
        #expect(hashed.hasPrefix("h-") && hashed.count == 66)
        #expect(Render.boundedID(Self.megabyte) == Render.boundedID(Self.megabyte))
        #expect(Render.boundedID(Self.megabyte) != Render.boundedID(Self.megabyte + "B"))
    }

    @Test("the rendered hostile alert is small, single-line where it must be, and its controls escaped")
    func renderedAlert() {
        let message = Self.rendered
        #expect(message.subject.unicodeScalars.count <= Render.subjectLimit)
        #expect(!message.subject.unicodeScalars.contains { Render.isControl($0) })
        #expect(message.subject.hasPrefix("Tickwire ERROR: Feed down Bcc: victim@evil.example X-Injected: yes"))
        #expect(message.id.count <= Render.idLimit)
        #expect(message.text.utf8.count < 30_000, "\(message.text.utf8.count) bytes")
        #expect(message.html.utf8.count < 40_000, "\(message.html.utf8.count) bytes")
        #expect(!message.text.contains("\r") && !message.text.contains("\u{1B}") && !message.text.contains("\u{202E}"))
        #expect(message.text.contains("\\u{1B}[2J"))
        #expect(message.text.contains("… and 9980 more details"))
        #expect(message.text.contains("Category  provider.down X-Injected: category"))
        #expect(!message.html.contains("<!channel>"))
    }

    @Test("many votes and long names in a signal are capped too")
    func renderedSignal() {
        var signal = BoundedStateTests.signal()
        var vote = signal.votes[0]
        vote.model = "m\r\n" + Self.megabyte
        signal.votes = Array(repeating: vote, count: 10_000)
        signal.ensembleMethod = Self.megabyte
        signal.id = Self.megabyte
        let message = Render.message(.signal(signal), id: signal.id, priority: "high", eventTime: 0)
        #expect(message.text.utf8.count < 10_000, "\(message.text.utf8.count) bytes")
        #expect(message.text.contains("… and 9980 more votes"))
        #expect(message.id.count <= Render.idLimit)
    }

    @Test("email over real SMTP: no injected header, the subject cut, both parts intact", arguments: [false, true])
    func email(renderedByNotifier: Bool) async throws {
        try await using(try await SMTPSink.start(), stop: { await $0.stop() }) { sink in
            let channel = EmailChannel(settings: EmailChannelTests.settings(port: sink.port))
            try await channel.deliver(renderedByNotifier ? Self.rendered : Self.raw)
            let mail = try #require(try await sink.waitForMessages(1).first)
            #expect(mail.rcpt_tos == ["ops@example.com"], "an injected Bcc would add a recipient")
            #expect(mail.defects.isEmpty, "\(mail.defects)")
            let headers = Self.headerBlock(mail.content).components(separatedBy: "\r\n")
            #expect(!headers.contains { $0.hasPrefix("Bcc:") || $0.hasPrefix("X-Injected:") }, "\(headers)")
            #expect(headers.allSatisfy { $0.utf8.count <= 998 })
            let subject = try #require(mail.headers["Subject"])
            #expect(!subject.contains("\n") && !subject.contains("\r"))
            #expect(subject.count <= MIME.subjectLimit, "\(subject.count) characters")
            #expect(subject.hasPrefix(renderedByNotifier ? "Tickwire ERROR: Feed down" : "Feed down"))
            #expect(mail.parts.map(\.type) == ["text/plain", "text/html"])
            #expect(mail.content.utf8.count < 800_000, "\(mail.content.utf8.count) bytes")
        }
    }

    @Test("JSON webhook: subject, text and id header within limits, no raw line break in the header")
    func webhook() async throws {
        try await using(try await FakeHTTPServer.start(), stop: { await $0.stop() }) { server in
            let channel = WebhookChannel(
                settings: WebhookSettings(
                    url: ChannelSecret(server.baseURL + "/hook"), timeouts: HTTPChannelTests.quick))
            try await channel.deliver(Self.raw)
            let request = try #require(server.requests.first)
            let json = try request.json()
            #expect(((json["subject"] as? String) ?? "").utf16.count <= WebhookChannel.subjectLimit)
            #expect(((json["text"] as? String) ?? "").utf16.count <= WebhookChannel.textLimit)
            #expect(((json["id"] as? String) ?? "").count <= 200)
            let tag = try #require(request.headers["x-tickwire-message-id"])
            #expect(tag.count <= 200 && !tag.contains("\r") && !tag.contains("\n") && !tag.contains("X-Injected: yes"))
            #expect(request.headers["x-injected"] == nil)
        }
    }

    @Test("Slack, Discord, Telegram and SMS: each within its limit; Slack's <!channel> escaped, Discord pings no one")
    func chatChannels() async throws {
        try await using(
            try await FakeHTTPServer.start { _ in CannedResponse(status: 200, body: #"{"ok":true,"sid":"SM1"}"#) },
            stop: { await $0.stop() }
        ) { server in
            let quick = HTTPChannelTests.quick
            let slack = WebhookChannel(
                settings: WebhookSettings(
                    url: ChannelSecret(server.baseURL + "/slack"), format: .slack, timeouts: quick))
            let discord = WebhookChannel(
                settings: WebhookSettings(
                    url: ChannelSecret(server.baseURL + "/discord"), format: .discord, timeouts: quick))
            let telegram = TelegramChannel(
                settings: TelegramSettings(botToken: "123:abc", chatID: "42", baseURL: server.baseURL, timeouts: quick))
            let sms = TwilioSMSChannel(
                settings: TwilioSettings(
                    accountSID: "AC1", authToken: "tok", from: "+1500", to: ["+1555"], baseURL: server.baseURL,
                    timeouts: quick))
            for message in [Self.rendered, Self.raw] {
                for channel in [slack, discord, telegram, sms] as [any DeliveryChannel] {
                    try await channel.deliver(message)
                }
            }
            let requests = server.requests
            #expect(requests.count == 8)
            for request in requests {
                switch request.path {
                case "/slack":
                    let text = try #require(try request.json()["text"] as? String)
                    #expect(text.utf16.count <= WebhookChannel.slackLimit)
                    #expect(!text.contains("<!channel>"))
                case "/discord":
                    let json = try request.json()
                    #expect(((json["content"] as? String) ?? "").utf16.count <= WebhookChannel.discordLimit)
                    #expect((json["allowed_mentions"] as? [String: Any])?["parse"] as? [String] == [])
                case "/bot123:abc/sendMessage":
                    #expect(((try request.json()["text"] as? String) ?? "").utf16.count <= TelegramChannel.textLimit)
                default:
                    let body = try #require(request.form()["Body"])
                    #expect(body.utf16.count <= TwilioSMSChannel.bodyLimit)
                    #expect(!body.contains("\r"))
                }
            }
        }
    }
}
