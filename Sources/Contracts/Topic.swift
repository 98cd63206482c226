/// A bus topic: `<kind>.<key>`, sent as the first frame followed by one NUL byte.
///
/// The terminator is what makes exact subscriptions exact: subscribing to `tick.AAPL\0`
/// never matches `tick.AAPLX\0`, while the bare prefix `tick.` still matches every ticker.
/// Keys may contain dots and dashes (`BRK.B`, `RDS-A`), so a topic splits at its first dot.
public struct Topic: Hashable, Sendable, CustomStringConvertible {
    /// The byte that ends every topic frame.
    public static let terminator: UInt8 = 0

    /// Kinds of message keyed by ticker symbol.
    public static let tickKind = "tick"
    public static let barKind = "bar"
    public static let featuresKind = "features"
    public static let signalKind = "signal"
    /// Kinds keyed by a name.
    public static let marketKind = "market"
    public static let statusKind = "status"
    public static let alertKind = "alert"
    public static let timerKind = "timer"

    /// Every kind this version of the schema knows.
    public static let knownKinds: Set<String> = [
        tickKind, barKind, featuresKind, signalKind, marketKind, statusKind, alertKind, timerKind,
    ]

    public let kind: String
    public let key: String
    /// The topic frame as sent: UTF-8 `kind.key` and the terminator.
    public let wire: [UInt8]

    /// Makes a topic, checking both parts against the grammar in docs/bus.md.
    public init(kind: String, key: String) throws(TopicError) {
        guard Topic.knownKinds.contains(kind) else { throw .unknownKind(kind) }
        try Topic.validate(key: key)
        self.kind = kind
        self.key = key
        wire = Array("\(kind).\(key)".utf8) + [Topic.terminator]
    }

    /// Parses a received topic frame.
    public init(wire bytes: [UInt8]) throws(TopicError) {
        guard bytes.last == Topic.terminator else { throw .missingTerminator(Topic.printable(bytes)) }
        let body = bytes.dropLast()
        guard let dot = body.firstIndex(of: UInt8(ascii: ".")) else { throw .missingKey(Topic.printable(bytes)) }
        let kind = String(decoding: body[body.startIndex..<dot], as: UTF8.self)
        let key = String(decoding: body[(dot + 1)...], as: UTF8.self)
        try self.init(kind: kind, key: key)
    }

    public static func tick(_ symbol: String) throws(TopicError) -> Topic { try Topic(kind: tickKind, key: symbol) }
    public static func bar(_ symbol: String) throws(TopicError) -> Topic { try Topic(kind: barKind, key: symbol) }
    public static func features(_ symbol: String) throws(TopicError) -> Topic { try Topic(kind: featuresKind, key: symbol) }
    public static func signal(_ symbol: String) throws(TopicError) -> Topic { try Topic(kind: signalKind, key: symbol) }
    public static func status(_ service: String) throws(TopicError) -> Topic { try Topic(kind: statusKind, key: service) }
    /// `timer.<name>`, e.g. `timer.end_of_day`.
    public static func timer(_ name: String) throws(TopicError) -> Topic { try Topic(kind: timerKind, key: name) }
    /// `market.session`.
    public static let marketSession = Topic(checkedKind: marketKind, key: "session")
    /// `alert.<severity>`, e.g. `alert.error`.
    public static func alert(_ severity: Severity) -> Topic {
        Topic(checkedKind: alertKind, key: severity.topicName)
    }

    private init(checkedKind kind: String, key: String) {
        self.kind = kind
        self.key = key
        wire = Array("\(kind).\(key)".utf8) + [Topic.terminator]
    }

    public var description: String { "\(kind).\(key)" }

    // Kind and key are derived from the wire bytes, so the bytes alone decide equality.
    public static func == (lhs: Topic, rhs: Topic) -> Bool { lhs.wire == rhs.wire }
    public func hash(into hasher: inout Hasher) { hasher.combine(wire) }

    /// The longest key accepted.
    public static let maximumKeyLength = 32

    /// Checks a key (a symbol or a name): 1–32 characters of `A–Z a–z 0–9 . - _ / : ^ = +`.
    public static func validate(key: String) throws(TopicError) {
        let bytes = Array(key.utf8)
        guard !bytes.isEmpty else { throw .emptyKey }
        guard bytes.count <= maximumKeyLength else { throw .keyTooLong(key) }
        for byte in bytes where !isKeyByte(byte) { throw .invalidCharacter(key) }
    }

    static func isKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "/"), UInt8(ascii: ":"),
            UInt8(ascii: "^"), UInt8(ascii: "="), UInt8(ascii: "+"):
            true
        default: false
        }
    }

    /// Bytes shown safely in an error message.
    static func printable(_ bytes: [UInt8]) -> String {
        var text = ""
        for byte in bytes.prefix(64) {
            if byte >= 0x20 && byte < 0x7f { text.unicodeScalars.append(Unicode.Scalar(byte)) } else {
                text += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return bytes.count > 64 ? text + "…" : text
    }
}

/// Why a topic is not valid.
public enum TopicError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownKind(String)
    case emptyKey
    case keyTooLong(String)
    case invalidCharacter(String)
    case missingTerminator(String)
    case missingKey(String)

    public var description: String {
        switch self {
        case .unknownKind(let kind):
            "unknown topic kind '\(kind)' (known: \(Topic.knownKinds.sorted().joined(separator: ", ")))"
        case .emptyKey: "empty topic key"
        case .keyTooLong(let key): "topic key '\(key)' is longer than \(Topic.maximumKeyLength) characters"
        case .invalidCharacter(let key):
            "topic key '\(key)' has a character outside A-Z a-z 0-9 . - _ / : ^ = +"
        case .missingTerminator(let frame): "topic frame '\(frame)' does not end with the NUL terminator"
        case .missingKey(let frame): "topic frame '\(frame)' has no '.' between kind and key"
        }
    }
}

/// What a subscriber asks for: one exact topic, or every topic starting with a prefix.
///
/// As text: a pattern ending in `.` or `*` (or empty) is a prefix (`tick.`, `tick.*`, `*`);
/// anything else is an exact topic (`tick.AAPL`, `status.ingestor`).
public struct TopicPattern: Hashable, Sendable, CustomStringConvertible {
    public enum Match: Hashable, Sendable {
        case exact(Topic)
        case prefix(String)
    }

    public let match: Match

    public init(exact topic: Topic) { match = .exact(topic) }

    public init(prefix: String) { match = .prefix(prefix) }

    /// Parses the text form described above.
    public init(_ text: String) throws(TopicError) {
        if text.isEmpty || text == "*" {
            match = .prefix("")
        } else if text.hasSuffix("*") {
            match = .prefix(String(text.dropLast()))
        } else if text.hasSuffix(".") {
            match = .prefix(text)
        } else if let dot = text.firstIndex(of: ".") {
            let kind = String(text[..<dot])
            let key = String(text[text.index(after: dot)...])
            match = .exact(try Topic(kind: kind, key: key))
        } else if Topic.knownKinds.contains(text) {
            match = .prefix(text + ".")
        } else {
            throw .missingKey(text)
        }
    }

    /// The bytes to pass to `ZMQ_SUBSCRIBE`.
    public var subscriptionPrefix: [UInt8] {
        switch match {
        case .exact(let topic): topic.wire
        case .prefix(let prefix): Array(prefix.utf8)
        }
    }

    /// Whether `topic` is one this pattern asks for (the same rule ZeroMQ applies).
    public func matches(_ topic: Topic) -> Bool {
        topic.wire.starts(with: subscriptionPrefix)
    }

    public var description: String {
        switch match {
        case .exact(let topic): topic.description
        case .prefix(let prefix): prefix + "*"
        }
    }
}

extension Severity {
    /// The lower-case name used in `alert.<severity>` topics.
    public var topicName: String {
        switch self {
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        case .critical: "critical"
        case .unspecified, .UNRECOGNIZED: "unspecified"
        }
    }
}
