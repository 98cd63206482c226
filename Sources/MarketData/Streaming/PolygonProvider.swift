import Foundation
import ServiceKit

/// Polygon.io / Massive stocks over WebSocket (config names `polygon` and `massive`: same
/// protocol, hosts under `polygon.io` or `massive.com`).
///
/// URL: `provider_url` if set, else `providers.polygon.url`, else
/// `wss://<host>/stocks` from `providers.polygon.host` — with `delayed`, the host's first
/// label becomes `delayed` (`socket.polygon.io` → `delayed.polygon.io`, `business.massive.com`
/// → `delayed-business.massive.com`). For `massive` the default host is `socket.massive.com`.
/// Channels: `providers.polygon.channels` of `T`, `Q`, `A`, `AM` (the delayed feed has no `Q`,
/// which is then left out).
public struct PolygonProvider: MarketDataProvider {
    public static let defaultPolygonHost = "socket.polygon.io"
    public static let defaultMassiveHost = "socket.massive.com"
    public static let knownChannels = ["T", "Q", "A", "AM"]

    /// `polygon` or `massive`.
    public let name: String
    public let url: String
    /// Event channels subscribed per symbol, in order.
    public let channels: [String]
    public var options: StreamingOptions
    /// See ``PolygonParser/quoteSizeMultiplier``.
    public var quoteSizeMultiplier: Double = 100
    let apiKey: Secret

    public init(config: TickwireConfig) throws(ConfigError) {
        name = config.provider == "massive" ? "massive" : "polygon"
        let settings = config.providers.polygon
        apiKey = try StreamingConfig.secret(config.apiKey, path: "api_key", provider: name, what: "an API key")
        if let explicit = try StreamingConfig.webSocketURL([
            StreamingConfig.override(config), ("providers.polygon.url", settings.url),
        ]) {
            url = explicit.url
        } else {
            url = try Self.url(host: settings.host, delayed: settings.delayed, massive: name == "massive")
        }
        var channels: [String] = []
        for (index, raw) in settings.channels.enumerated() {
            let channel = raw.trimmingCharacters(in: .whitespaces).uppercased()
            guard Self.knownChannels.contains(channel) else {
                throw ConfigError(
                    path: "providers.polygon.channels[\(index)]",
                    message: "unknown channel '\(raw)' (use \(Self.knownChannels.joined(separator: ", ")))")
            }
            if settings.delayed && channel == "Q" { continue }
            if !channels.contains(channel) { channels.append(channel) }
        }
        guard !channels.isEmpty else {
            throw ConfigError(path: "providers.polygon.channels", message: "no channel to subscribe to (use T, A or AM)")
        }
        self.channels = channels
        options = StreamingOptions(config: config)
    }

    /// `wss://<host>/stocks`, with the delayed host when asked.
    static func url(host rawHost: String, delayed: Bool, massive: Bool) throws(ConfigError) -> String {
        var host = rawHost.trimmingCharacters(in: .whitespaces).lowercased()
        if massive && (host.isEmpty || host == defaultPolygonHost) { host = defaultMassiveHost }
        if host.isEmpty { host = defaultPolygonHost }
        var labels = host.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty }),
            host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" })
        else {
            throw ConfigError(
                path: "providers.polygon.host", message: "'\(rawHost)' is not a host name like socket.polygon.io")
        }
        // A bare domain means the default real-time host.
        if labels.count == 2 { labels.insert("socket", at: 0) }
        if delayed {
            let feed = labels[0]
            if feed == "socket" {
                labels[0] = "delayed"
            } else if feed != "delayed" && !feed.hasPrefix("delayed-") {
                labels[0] = "delayed-\(feed)"
            }
        }
        return "wss://\(labels.joined(separator: "."))/stocks"
    }

    /// `T.AAPL,Q.AAPL,…`: every channel of one symbol, then the next symbol.
    public func topics(for symbols: [String]) -> [String] {
        symbols.flatMap { symbol in channels.map { "\($0).\(symbol)" } }
    }

    public func run(symbols: [String], sink: ProviderSink) async throws {
        try StreamingConfig.requireSymbols(symbols, provider: name)
        let session = PolygonSession(
            provider: name, apiKey: apiKey.value, topics: topics(for: symbols),
            parser: PolygonParser(provider: name, quoteSizeMultiplier: quoteSizeMultiplier))
        let connection = StreamingConnection(provider: name, url: url, options: options)
        let name = self.name
        let url = self.url
        try await connection.run(session, sink: sink) { status in
            StreamingConfig.refusal(provider: name, url: url, status: status)
        }
    }
}

/// The Polygon/Massive protocol: `connected` → auth → `auth_success` → subscribe → `success`
/// per topic → data.
///
/// Fatal (stop retrying): `auth_failed` (as ``ProviderIssue/Kind/authFailed``, or
/// ``ProviderIssue/Kind/planWithoutStreaming`` when the message says the plan lacks WebSocket
/// access — the one place the message text is read, as the status is the same) and
/// `max_connections`: Polygon drops the *older* connection when another one authenticates with
/// the same key, so reconnecting would in turn evict the other client and the two would take
/// turns forever; two deployments sharing one key is an operator's problem to fix.
/// Non-fatal, reconnect: `auth_timeout` (`.timeout`), `auth_required` (`.notAuthenticated`),
/// `force_disconnect` (`.disconnected`), `slow_consumer` (`.slowConsumer`). Non-fatal, stay:
/// `error` (`.invalidRequest`, e.g. a topic the plan lacks). Other statuses are ignored.
public struct PolygonSession: StreamingSession {
    public enum Phase: Sendable, Equatable {
        case awaitingConnected, authenticating, subscribing, streaming
    }

    public let provider: String
    let apiKey: String
    public let topics: [String]
    public let parser: PolygonParser
    public private(set) var phase = Phase.awaitingConnected

    public init(provider: String, apiKey: String, topics: [String], parser: PolygonParser) {
        self.provider = provider
        self.apiKey = apiKey
        self.topics = topics
        self.parser = parser
    }

    /// `{"action":"auth","params":KEY}`.
    public var authMessage: String {
        JSONText.object([("action", JSONText.string("auth")), ("params", JSONText.string(apiKey))])
    }

    /// `{"action":"subscribe","params":"T.AAPL,Q.AAPL,…"}`.
    public var subscribeMessage: String {
        JSONText.object([
            ("action", JSONText.string("subscribe")), ("params", JSONText.string(topics.joined(separator: ","))),
        ])
    }

    public mutating func opened() -> StreamingReaction { .none }

    public mutating func received(_ text: String) -> StreamingReaction {
        let frame = parser.parse(text)
        var reaction = StreamingReaction(problems: frame.problems, provider: provider, frame: text)
        for message in frame.messages {
            switch message {
            case .event(let event):
                reaction.events.append(event)
            case .ignored:
                continue
            case .status(let status, let message):
                reaction.append(handle(status: status, message: message))
                if reaction.end != nil { return reaction }
            }
        }
        return reaction
    }

    mutating func handle(status: String, message: String) -> StreamingReaction {
        let said = "\(provider): \(status): \(message)"
        switch status {
        case "connected":
            guard phase == .awaitingConnected else { return .none }
            phase = .authenticating
            return StreamingReaction(outgoing: [authMessage])
        case "auth_success":
            guard phase == .authenticating || phase == .awaitingConnected else { return .none }
            phase = .subscribing
            return StreamingReaction(outgoing: [subscribeMessage])
        case "success":
            guard phase == .subscribing else { return .none }
            phase = .streaming
            return StreamingReaction(subscribed: true)
        case "auth_failed":
            let lower = message.lowercased()
            let plan = lower.contains("plan") || lower.contains("websocket access")
            return StreamingReaction(
                end: .fatal(ProviderIssue(plan ? .planWithoutStreaming : .authFailed, said, isFatal: true)))
        case "max_connections":
            return StreamingReaction(
                end: .fatal(
                    ProviderIssue(
                        .connectionLimit,
                        "\(said) (another client with this key took the connection; not reconnecting, which would evict it in turn)",
                        isFatal: true)))
        case "auth_timeout":
            return StreamingReaction(issues: [ProviderIssue(.timeout, said)], end: .reconnect)
        case "auth_required":
            return StreamingReaction(issues: [ProviderIssue(.notAuthenticated, said)], end: .reconnect)
        case "force_disconnect":
            return StreamingReaction(issues: [ProviderIssue(.disconnected, said)], end: .reconnect)
        case "slow_consumer":
            return StreamingReaction(issues: [ProviderIssue(.slowConsumer, said)], end: .reconnect)
        case "error":
            return StreamingReaction(issues: [ProviderIssue(.invalidRequest, said)])
        default:
            return .none
        }
    }
}
