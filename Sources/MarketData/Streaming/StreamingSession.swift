/// The provider-specific half of a WebSocket stream: which messages to send and what each
/// received text frame means. A session is pure (no I/O, no clock), so every provider's protocol
/// logic is tested without a socket; ``StreamingConnection`` does the I/O. One value per
/// connection: a reconnect starts a fresh session.
public protocol StreamingSession: Sendable {
    /// Called once the WebSocket is open, before any frame is read (e.g. Finnhub's subscribes).
    mutating func opened() -> StreamingReaction
    /// Called for every text frame the server sends.
    mutating func received(_ text: String) -> StreamingReaction
}

/// What a session wants done after it looked at something.
public struct StreamingReaction: Sendable, Equatable {
    /// Trades, quotes and bars to publish, in order.
    public var events: [MarketEvent]
    /// Text frames to send to the server, in order.
    public var outgoing: [String]
    /// Problems to report that do not end the session by themselves.
    public var issues: [ProviderIssue]
    /// Messages dropped because they could not be used, by reason (`rejected.<reason>`).
    public var rejected: [ProviderRejectReason: Int] = [:]
    /// The subscription is confirmed: the connection calls `sink.connected()` (once).
    public var subscribed: Bool
    /// Set when the session is over.
    public var end: StreamingEnd?

    public init(
        events: [MarketEvent] = [], outgoing: [String] = [], issues: [ProviderIssue] = [],
        subscribed: Bool = false, end: StreamingEnd? = nil
    ) {
        self.events = events
        self.outgoing = outgoing
        self.issues = issues
        self.subscribed = subscribed
        self.end = end
    }

    /// Nothing to do.
    public static let none = StreamingReaction()

    /// A reaction that starts by counting a frame's parse problems, if any, by reason, and
    /// reporting them as one malformed-payload issue naming `provider`, the first few
    /// problems and the start of the frame.
    public init(problems: [FrameProblem], provider: String, frame: String) {
        self.init()
        guard !problems.isEmpty else { return }
        for problem in problems { rejected[problem.reason, default: 0] += 1 }
        let shown = problems.prefix(Self.problemsShown).map(\.message)
        let more = problems.count > Self.problemsShown ? "; and \(problems.count - Self.problemsShown) more" : ""
        issues.append(StreamingText.malformed(provider, shown.joined(separator: "; ") + more, frame: frame))
    }

    /// How many of a frame's problems an issue message quotes.
    static let problemsShown = 3

    /// Appends `other` after this reaction (events, messages and issues keep their order; the
    /// first `end` wins).
    public mutating func append(_ other: StreamingReaction) {
        events += other.events
        outgoing += other.outgoing
        issues += other.issues
        rejected.merge(other.rejected, uniquingKeysWith: +)
        subscribed = subscribed || other.subscribed
        if end == nil { end = other.end }
    }
}

/// How a session ends.
public enum StreamingEnd: Sendable, Equatable {
    /// Close the socket and return normally from `run`: the ingestor reconnects with backoff.
    /// (The reason, if any, is among the reaction's `issues`.)
    case reconnect
    /// Close the socket and throw this (fatal) issue: retrying cannot help.
    case fatal(ProviderIssue)
}

/// Small helpers the parsers and sessions share.
enum StreamingText {
    /// The first `limit` characters of a frame, on one line (control characters as spaces),
    /// for issue messages.
    static func excerpt(_ text: String, limit: Int = 120) -> String {
        let head = text.prefix(limit + 1)
        var flat = ""
        for scalar in head.prefix(limit).unicodeScalars {
            flat.unicodeScalars.append(scalar.value < 0x20 || scalar.value == 0x7F ? " " : scalar)
        }
        return head.count > limit ? flat + "…" : flat
    }

    /// The issue for a frame (or part of one) that cannot be read.
    static func malformed(_ provider: String, _ what: String, frame: String) -> ProviderIssue {
        ProviderIssue(.malformedPayload, "\(provider): \(what) in frame: \(excerpt(frame))")
    }
}

/// Writes JSON text with a fixed key order (what the providers' own clients send).
enum JSONText {
    /// `value` as a JSON string literal.
    static func string(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// An array of JSON strings.
    static func array(_ values: [String]) -> String {
        "[" + values.map(string).joined(separator: ",") + "]"
    }

    /// An object from already-encoded values, in the given key order.
    static func object(_ members: [(key: String, value: String)]) -> String {
        "{" + members.map { string($0.key) + ":" + $0.value }.joined(separator: ",") + "}"
    }
}
