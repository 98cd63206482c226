import Foundation
import Testing

@testable import Notifications

@Suite("MIME building blocks")
struct MIMETests {
    @Test("RFC 5322 date in UTC")
    func date() {
        #expect(MIME.rfc5322Date(Date(timeIntervalSince1970: 1_741_786_200)) == "Wed, 12 Mar 2025 13:30:00 +0000")
        #expect(MIME.rfc5322Date(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
    }

    @Test("quoted-printable: escapes, soft breaks at 76, trailing blanks, CRLF")
    func quotedPrintable() {
        #expect(MIME.quotedPrintable("a=b é") == "a=3Db =C3=A9")
        #expect(MIME.quotedPrintable("end  \nnext\r\nlast\t") == "end =20\r\nnext\r\nlast=09")
        let long = MIME.quotedPrintable(String(repeating: "x", count: 200))
        let lines = long.components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.count <= 76 })
        #expect(lines.dropLast().allSatisfy { $0.hasSuffix("=") })
        #expect(
            lines.map { $0.hasSuffix("=") ? String($0.dropLast()) : $0 }.joined() == String(repeating: "x", count: 200))
    }

    @Test("subjects: ASCII as is, anything else as UTF-8 B-words of whole characters")
    func subjects() {
        #expect(MIME.encodedHeaderText("Plain subject", offset: 9) == "Plain subject")
        #expect(MIME.encodedHeaderText("line\r\nbreak", offset: 9) == "line  break")
        let encoded = MIME.encodedHeaderText(String(repeating: "日本語🚀", count: 10), offset: 9)
        let words = encoded.components(separatedBy: "\r\n ")
        #expect(words.count > 1)
        var decoded = ""
        for word in words {
            #expect(word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="))
            #expect(word.count <= 75)
            let base64 = String(word.dropFirst(10).dropLast(2))
            let data = Data(base64Encoded: base64) ?? Data()
            let piece = String(data: data, encoding: .utf8)
            #expect(piece != nil, "a word splits a character")
            decoded += piece ?? ""
        }
        #expect(decoded == String(repeating: "日本語🚀", count: 10))
    }

    @Test("addresses: plain, with display names, and invalid ones")
    func addresses() {
        #expect(MailAddress("ops@example.com")?.address == "ops@example.com")
        let named = MailAddress("\"Ops, Desk\" <ops@example.com>")
        #expect(named?.name == "Ops, Desk")
        #expect(named?.headerValue == "\"Ops, Desk\" <ops@example.com>")
        #expect(MailAddress("Jöe <joe@example.org>")?.headerValue.hasPrefix("=?UTF-8?B?") == true)
        #expect(MailAddress("root@localhost") != nil)
        for bad in ["", "nobody", "@example.com", "a@", "a b@example.com", "a@example.com\r\nBcc: x@y.z", "a@nodot"] {
            #expect(MailAddress(bad) == nil, "\(bad)")
        }
    }

    @Test("an invalid sender or recipient is a config error before any connection")
    func configErrors() async throws {
        let badFrom = EmailChannel(
            settings: EmailSettings(server: "127.0.0.1", from: "not-an-address", recipients: ["a@example.com"]))
        #expect(await deliveryError(badFrom, OutgoingMessage(id: "1", subject: "s", text: "t"))?.kind == .config)
        let noRecipients = EmailChannel(
            settings: EmailSettings(server: "127.0.0.1", from: "a@example.com", recipients: []))
        #expect(await deliveryError(noRecipients, OutgoingMessage(id: "1", subject: "s", text: "t"))?.kind == .config)
        #expect(EmailSettings(server: "x", security: .tls, from: "a@b.c", recipients: []).port == 465)
        #expect(EmailSettings(server: "x", from: "a@b.c", recipients: []).port == 587)
    }
}
