import Foundation

/// An email address with an optional display name: `alerts@example.com` or
/// `Tickwire Alerts <alerts@example.com>`. Only ASCII addresses (no SMTPUTF8); the display
/// name may be anything.
public struct MailAddress: Sendable, Equatable, CustomStringConvertible {
    public var name: String?
    public var address: String

    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var name: String?
        var address = trimmed
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            var display = trimmed[..<open].trimmingCharacters(in: .whitespaces)
            if display.count >= 2, display.hasPrefix("\""), display.hasSuffix("\"") {
                display = String(display.dropFirst().dropLast())
            }
            name = display.isEmpty ? nil : display
        }
        guard Self.isValid(address) else { return nil }
        if let name, name.contains(where: { $0.isNewline }) { return nil }
        self.name = name
        self.address = address
    }

    public var description: String { name.map { "\($0) <\(address)>" } ?? address }

    /// The part after the `@`.
    var domain: String { String(address[address.index(after: address.lastIndex(of: "@")!)...]) }

    /// A plain `local@domain`: printable ASCII, no spaces, brackets, commas or quotes.
    static func isValid(_ address: String) -> Bool {
        let forbidden: Set<Character> = ["<", ">", "(", ")", ",", ";", ":", "\"", "[", "]", "\\"]
        guard let at = address.lastIndex(of: "@"), at != address.startIndex,
            address.index(after: at) != address.endIndex
        else { return false }
        let domain = address[address.index(after: at)...]
        let characters = address.allSatisfy {
            $0.isASCII && !forbidden.contains($0) && ($0.asciiValue ?? 0) > 32 && ($0.asciiValue ?? 0) < 127
        }
        return characters && (domain.contains(".") || domain == "localhost")
    }

    /// The address as an RFC 5322 header value (display name encoded when needed).
    var headerValue: String {
        guard let name else { return address }
        return "\(MIME.phrase(name)) <\(address)>"
    }
}

/// Builds RFC 5322 / 2045 / 2047 messages: CRLF line endings, UTF-8 bodies in
/// quoted-printable, `multipart/alternative` when there is HTML.
enum MIME {
    /// The longest subject sent, in UTF-16 code units (longer ones are cut, ending in "…").
    static let subjectLimit = 200
    /// The longest text or HTML part sent, in UTF-16 code units.
    static let bodyLimit = 100_000

    /// The whole message, headers and body. Header values never carry a line break from the
    /// message (the subject's control characters become spaces, then it is encoded).
    static func message(
        _ message: OutgoingMessage, from: MailAddress, to: [MailAddress], date: Date, messageID: String,
        boundary: String
    ) -> String {
        var headers: [String] = [
            "Date: \(rfc5322Date(date))",
            "From: \(from.headerValue)",
            folded("To", to.map(\.headerValue)),
            "Subject: \(encodedHeaderText(truncated(message.subject, limit: subjectLimit), offset: 9))",
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
        ]
        switch message.priority {
        case "high": headers += ["X-Priority: 1 (Highest)", "Importance: high"]
        case "low": headers += ["X-Priority: 5 (Lowest)", "Importance: low"]
        default: break
        }
        let tag = message.id.filter { $0.isASCII && ($0.asciiValue ?? 0) > 32 && ($0.asciiValue ?? 0) < 127 }
        if !tag.isEmpty && tag.count <= 900 { headers.append("X-Tickwire-Message-Id: \(tag)") }

        let body: String
        let text = truncated(message.text, limit: bodyLimit)
        if message.html.isEmpty {
            headers += textPartHeaders("text/plain")
            body = quotedPrintable(text)
        } else {
            headers.append("Content-Type: multipart/alternative;\r\n boundary=\"\(boundary)\"")
            let html = truncated(message.html, limit: bodyLimit)
            let parts = [("text/plain", text), ("text/html", html)].map { type, content in
                "--\(boundary)\r\n" + textPartHeaders(type).joined(separator: "\r\n") + "\r\n\r\n"
                    + quotedPrintable(content)
                    + "\r\n"
            }
            body = "This is a multi-part message in MIME format.\r\n\r\n" + parts.joined() + "--\(boundary)--"
        }
        return headers.joined(separator: "\r\n") + "\r\n\r\n" + body + "\r\n"
    }

    private static func textPartHeaders(_ type: String) -> [String] {
        ["Content-Type: \(type); charset=UTF-8", "Content-Transfer-Encoding: quoted-printable"]
    }

    /// `Wed, 12 Mar 2025 13:30:00 +0000` (RFC 5322 §3.3, in UTC).
    static func rfc5322Date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int?) -> String {
            let v = value ?? 0
            return v < 10 ? "0\(v)" : "\(v)"
        }
        return "\(days[(c.weekday ?? 1) - 1]), \(two(c.day)) \(months[(c.month ?? 1) - 1]) \(c.year ?? 1970) "
            + "\(two(c.hour)):\(two(c.minute)):\(two(c.second)) +0000"
    }

    /// `Name: a, b, …`, folded before an item that would take the line past 78 characters.
    static func folded(_ name: String, _ items: [String]) -> String {
        var result = "\(name): "
        var lineLength = result.count
        for (index, item) in items.enumerated() {
            let piece = index == items.count - 1 ? item : item + ","
            if index > 0 {
                if lineLength + 1 + piece.count > 78 {
                    result += "\r\n "
                    lineLength = 1
                } else {
                    result += " "
                    lineLength += 1
                }
            }
            result += piece
            lineLength += piece.count
        }
        return result
    }

    /// Header text: as is when it is short printable ASCII, else RFC 2047 `=?UTF-8?B?…?=`
    /// words (whole characters each, at most 64 characters per word), folded. Line breaks
    /// and other controls become spaces. `offset` is the length of `Name: ` before it.
    static func encodedHeaderText(_ text: String, offset: Int) -> String {
        let clean = String(
            String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
        if clean.utf8.allSatisfy({ $0 >= 32 && $0 < 127 }) && clean.utf8.count + offset <= 78 && !clean.contains("=?") {
            return clean
        }
        return encodedWords(clean).joined(separator: "\r\n ")
    }

    /// UTF-8 base64 encoded words, each from at most 39 bytes of whole scalars.
    static func encodedWords(_ text: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        func flush() {
            guard !chunk.isEmpty else { return }
            words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=")
            chunk = []
        }
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > 39 { flush() }
            chunk += bytes
        }
        flush()
        return words.isEmpty ? ["=?UTF-8?B??="] : words
    }

    /// A display name: as is when it is plain ASCII words, a quoted string when it has
    /// specials, encoded words when it is not ASCII.
    static func phrase(_ name: String) -> String {
        let ascii = name.utf8.allSatisfy { $0 >= 32 && $0 < 127 }
        guard ascii else { return encodedWords(name).joined(separator: " ") }
        let atext = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: " !#$%&'*+-/=?^_`{|}~"))
        if name.unicodeScalars.allSatisfy({ atext.contains($0) }) && !name.contains("=?") { return name }
        return "\"" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }

    /// RFC 2045 quoted-printable of `text`'s UTF-8 with CRLF hard line breaks (any of LF,
    /// CRLF or CR in the input), lines of at most 76 characters (soft breaks `=`), trailing
    /// spaces and tabs encoded. Lines starting with "." are left to libcurl's dot-stuffing.
    static func quotedPrintable(_ text: String) -> String {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        let hexDigits = Array("0123456789ABCDEF")
        var lines: [String] = []
        for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            let bytes = Array(line.utf8)
            var out = ""
            var length = 0
            for (index, byte) in bytes.enumerated() {
                let last = index == bytes.count - 1
                let token: String
                if (byte == 32 || byte == 9) && !last {
                    token = String(UnicodeScalar(byte))
                } else if byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=") {
                    token = String(UnicodeScalar(byte))
                } else {
                    token = "=" + String(hexDigits[Int(byte >> 4)]) + String(hexDigits[Int(byte & 0x0F)])
                }
                if length + token.count > 75 {
                    out += "=\r\n"
                    length = 0
                }
                out += token
                length += token.count
            }
            lines.append(out)
        }
        return lines.joined(separator: "\r\n")
    }
}
