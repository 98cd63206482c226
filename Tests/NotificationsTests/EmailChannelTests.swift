import Foundation
import Notifications
import TestSupport
import Testing

/// The email channel against a real SMTP server (aiosmtpd, Tests/python/smtp_sink.py) on
/// loopback: plain, STARTTLS with AUTH, implicit TLS, and the failure kinds.
@Suite("EmailChannel over real SMTP")
struct EmailChannelTests {
    static let subject = "Signal AAPL — BUY ✅ Zürich (confidence 0.82, stop 221.40 USD, size 150 shares)"
    static let text = """
        AAPL BUY at 231.55
        .a line that starts with a dot
        .
        ..two dots
        A long line that goes on and on well beyond seventy-six characters so that quoted-printable must wrap it softly.
        Trailing spaces here  \u{20}
        Ünïcödé: 日本語 🚀 = equals
        """
    static let html = "<html><body><p><b>AAPL</b> BUY at 231.55 — ✅</p><p>.dot</p></body></html>"
    static let message = OutgoingMessage(
        id: "signal-AAPL-20250312T1330-BUY", subject: subject, text: text, html: html, priority: "high")

    static func normalized(_ text: String) -> String {
        var result = text.replacingOccurrences(of: "\r\n", with: "\n")
        while result.hasSuffix("\n") { result.removeLast() }
        return result
    }

    static func settings(
        port: Int, security: EmailSettings.Security = .none, username: String = "", password: String = "",
        recipients: [String] = ["ops@example.com"], caFile: String? = nil,
        timeouts: ChannelTimeouts = ChannelTimeouts(connect: .seconds(5), total: .seconds(15))
    ) -> EmailSettings {
        EmailSettings(
            server: "127.0.0.1", port: port, security: security, username: username, password: ChannelSecret(password),
            from: "Tickwire Alerts <alerts@example.com>", recipients: recipients, caFile: caFile, timeouts: timeouts)
    }

    @Test("plain SMTP: headers, UTF-8 subject, both MIME parts, every recipient, dot lines intact")
    func plainDelivery() async throws {
        try await using(try await SMTPSink.start(), stop: { await $0.stop() }) { sink in
            let recipients = ["ops@example.com", "Trader Jöe <joe@example.org>", "desk@example.net"]
            let channel = EmailChannel(settings: Self.settings(port: sink.port, recipients: recipients))
            try await channel.deliver(Self.message)
            let mails = try await sink.waitForMessages(1)
            let mail = try #require(mails.first)
            #expect(mail.mail_from == "alerts@example.com")
            #expect(mail.rcpt_tos == ["ops@example.com", "joe@example.org", "desk@example.net"])
            #expect(mail.tls == false)
            #expect(mail.defects.isEmpty, "MIME defects: \(mail.defects)")
            #expect(mail.headers["Subject"] == Self.subject)
            #expect(mail.content.contains("Subject: =?UTF-8?B?"))
            #expect(mail.headers["From"] == "Tickwire Alerts <alerts@example.com>")
            let to = try #require(mail.headers["To"])
            #expect(to.contains("ops@example.com") && to.contains("joe@example.org") && to.contains("desk@example.net"))
            #expect(to.contains("Trader Jöe"))
            #expect(mail.date_ok)
            let messageID = try #require(mail.headers["Message-ID"])
            #expect(messageID.hasPrefix("<") && messageID.hasSuffix("@example.com>"))
            #expect(mail.headers["MIME-Version"] == "1.0")
            #expect(mail.headers["X-Priority"]?.hasPrefix("1") == true)
            #expect(mail.headers["X-Tickwire-Message-Id"] == Self.message.id)
            #expect(mail.content_type == "multipart/alternative")
            #expect(mail.parts.map(\.type) == ["text/plain", "text/html"])
            #expect(mail.parts.allSatisfy { $0.charset == "utf-8" && $0.cte == "quoted-printable" })
            #expect(Self.normalized(mail.parts[0].text) == Self.normalized(Self.text))
            #expect(Self.normalized(mail.parts[1].text) == Self.normalized(Self.html))
            // CRLF only, lines within RFC 5322's limit.
            let raw = mail.content
            #expect(!raw.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
            #expect(raw.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
        }
    }

    @Test("text only when the HTML body is empty")
    func textOnly() async throws {
        try await using(try await SMTPSink.start(), stop: { await $0.stop() }) { sink in
            let channel = EmailChannel(settings: Self.settings(port: sink.port))
            var message = Self.message
            message.html = ""
            message.subject = "Plain ASCII subject"
            try await channel.deliver(message)
            let mail = try #require(try await sink.waitForMessages(1).first)
            #expect(mail.content_type == "text/plain")
            #expect(mail.parts.count == 1)
            #expect(mail.content.contains("Subject: Plain ASCII subject\r\n"))
            #expect(Self.normalized(mail.parts[0].text) == Self.normalized(Self.text))
        }
    }

    @Test("STARTTLS with AUTH, trusting the test CA through caFile")
    func starttlsWithAuth() async throws {
        let certificate = try TestCertificate()
        let options = SMTPSink.Options(tls: .starttls, auth: ("alerts", "s3cret-pw"))
        try await using(try await SMTPSink.start(options, certificate: certificate), stop: { await $0.stop() }) {
            sink in
            let channel = EmailChannel(
                settings: Self.settings(
                    port: sink.port, security: .starttls, username: "alerts", password: "s3cret-pw",
                    recipients: ["a@example.com", "b@example.com"], caFile: certificate.certFile))
            try await channel.deliver(Self.message)
            let mail = try #require(try await sink.waitForMessages(1).first)
            #expect(mail.tls)
            #expect(mail.auth_login == "alerts")
            #expect(mail.rcpt_tos == ["a@example.com", "b@example.com"])
            #expect(mail.headers["Subject"] == Self.subject)
        }
    }

    @Test("implicit TLS (smtps) with AUTH")
    func implicitTLS() async throws {
        let certificate = try TestCertificate()
        let options = SMTPSink.Options(tls: .implicit, auth: ("alerts", "s3cret-pw"))
        try await using(try await SMTPSink.start(options, certificate: certificate), stop: { await $0.stop() }) {
            sink in
            let channel = EmailChannel(
                settings: Self.settings(
                    port: sink.port, security: .tls, username: "alerts", password: "s3cret-pw",
                    caFile: certificate.certFile))
            try await channel.deliver(Self.message)
            let mail = try #require(try await sink.waitForMessages(1).first)
            #expect(mail.tls)
            #expect(mail.auth_login == "alerts")
        }
    }

    @Test("a wrong password is a permanent auth error that does not show the password")
    func wrongPassword() async throws {
        let certificate = try TestCertificate()
        let options = SMTPSink.Options(tls: .starttls, auth: ("alerts", "s3cret-pw"))
        try await using(try await SMTPSink.start(options, certificate: certificate), stop: { await $0.stop() }) {
            sink in
            let channel = EmailChannel(
                settings: Self.settings(
                    port: sink.port, security: .starttls, username: "alerts", password: "wrong-password-123",
                    caFile: certificate.certFile))
            let error = try #require(await deliveryError(channel, Self.message))
            #expect(error.kind == .auth)
            #expect(error.isPermanent)
            #expect(error.channel == "email")
            #expect(!error.description.contains("wrong-password-123"))
            #expect(try sink.received().isEmpty)
        }
    }

    @Test("an untrusted certificate fails with a permanent TLS error")
    func untrustedCertificate() async throws {
        let certificate = try TestCertificate()
        try await using(
            try await SMTPSink.start(SMTPSink.Options(tls: .starttls), certificate: certificate),
            stop: { await $0.stop() }
        ) { sink in
            let channel = EmailChannel(settings: Self.settings(port: sink.port, security: .starttls))
            let error = try #require(await deliveryError(channel, Self.message))
            #expect(error.kind == .tls, "\(error)")
            #expect(error.isPermanent)
            #expect(try sink.received().isEmpty)
        }
    }

    @Test("STARTTLS required but not offered: TLS error, nothing sent in the clear")
    func starttlsNotOffered() async throws {
        try await using(try await SMTPSink.start(), stop: { await $0.stop() }) { sink in
            let channel = EmailChannel(settings: Self.settings(port: sink.port, security: .starttls))
            let error = try #require(await deliveryError(channel, Self.message))
            #expect(error.kind == .tls, "\(error)")
            #expect(try sink.received().isEmpty)
        }
    }

    @Test("a refused recipient: 550 is permanent, 451 transient")
    func rejectedRecipient() async throws {
        let options = SMTPSink.Options(reject: ["gone@example.com": 550, "busy@example.com": 451])
        try await using(try await SMTPSink.start(options), stop: { await $0.stop() }) { sink in
            let gone = EmailChannel(settings: Self.settings(port: sink.port, recipients: ["gone@example.com"]))
            let permanent = try #require(await deliveryError(gone, Self.message))
            #expect(permanent.kind == .rejected(code: 550), "\(permanent)")
            #expect(permanent.isPermanent)
            let busy = EmailChannel(settings: Self.settings(port: sink.port, recipients: ["busy@example.com"]))
            let transient = try #require(await deliveryError(busy, Self.message))
            #expect(transient.kind == .rejected(code: 451), "\(transient)")
            #expect(!transient.isPermanent)
        }
    }

    @Test("nothing listening: unreachable, transient")
    func nothingListening() async throws {
        let closed = try LoopbackSocket(listening: false)
        let channel = EmailChannel(settings: Self.settings(port: closed.port))
        let error = try #require(await deliveryError(channel, Self.message))
        #expect(error.kind == .unreachable, "\(error)")
        #expect(!error.isPermanent)
    }

    @Test("a server that never answers: timeout within the configured total")
    func silentServer() async throws {
        let silent = try LoopbackSocket(listening: true)
        let channel = EmailChannel(
            settings: Self.settings(
                port: silent.port, timeouts: ChannelTimeouts(connect: .seconds(1), total: .milliseconds(1500))))
        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(await deliveryError(channel, Self.message))
        let elapsed = clock.now - start
        #expect(error.kind == .timeout, "\(error)")
        #expect(!error.isPermanent)
        // Without the total timeout a silent server holds the transfer forever; the upper bound
        // is loose because the suite starts many processes at once on a 2-core machine.
        #expect(elapsed >= .milliseconds(1000) && elapsed < .seconds(30), "took \(elapsed)")
    }

    @Test("cancelling the delivering task stops it promptly with .cancelled")
    func cancellation() async throws {
        let silent = try LoopbackSocket(listening: true)
        let channel = EmailChannel(
            settings: Self.settings(
                port: silent.port, timeouts: ChannelTimeouts(connect: .seconds(120), total: .seconds(120))))
        let clock = ContinuousClock()
        let start = clock.now
        let task = Task { () -> ChannelError? in
            do throws(ChannelError) {
                try await channel.deliver(Self.message)
                return nil
            } catch {
                return error
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let error = try await withTimeout(seconds: 40, "cancelled delivery") { await task.value }
        #expect(error?.kind == .cancelled, "\(String(describing: error))")
        #expect(clock.now - start < .seconds(30), "the 120 s timeouts were not what ended it")
    }
}
