import Foundation
import ServiceKit

/// Alpaca market data v2 stocks stream over WebSocket (JSON).
///
/// URL: `provider_url` if set, else `providers.alpaca.url`, else
/// `wss://stream.data.alpaca.markets/v2/<providers.alpaca.feed>` (`iex` free, `sip` paid;
/// `delayed_sip` and `test` are accepted too). Credentials: `api_key` (key id) and `api_secret`.
/// Subscribes to trades, plus quotes and minute bars when `providers.alpaca.quotes`/`bars`.
public struct AlpacaProvider: MarketDataProvider {
    public static let defaultHost = "wss://stream.data.alpaca.markets"
    public static let feeds = ["iex", "sip", "delayed_sip", "test"]

    public let name = "alpaca"
    public let url: String
    public let quotes: Bool
    public let bars: Bool
    public var options: StreamingOptions
    /// See ``AlpacaParser/quoteSizeMultiplier``.
    public var quoteSizeMultiplier: Double = 100
    let key: Secret
    let secret: Secret

    public init(config: TickwireConfig) throws(ConfigError) {
        let settings = config.providers.alpaca
        key = try StreamingConfig.secret(config.apiKey, path: "api_key", provider: "alpaca", what: "an API key id")
        secret = try StreamingConfig.secret(
            config.apiSecret, path: "api_secret", provider: "alpaca", what: "an API secret key")
        if let explicit = try StreamingConfig.webSocketURL([
            StreamingConfig.override(config), ("providers.alpaca.url", settings.url),
        ]) {
            url = explicit.url
        } else {
            let feed = settings.feed.trimmingCharacters(in: .whitespaces).lowercased()
            guard Self.feeds.contains(feed) else {
                throw ConfigError(
                    path: "providers.alpaca.feed",
                    message: "unknown feed '\(settings.feed)' (use \(Self.feeds.joined(separator: ", ")))")
            }
            url = "\(Self.defaultHost)/v2/\(feed)"
        }
        quotes = settings.quotes
        bars = settings.bars
        options = StreamingOptions(config: config)
    }

    public func run(symbols: [String], sink: ProviderSink) async throws {
        try StreamingConfig.requireSymbols(symbols, provider: name)
        let session = AlpacaSession(
            provider: name, key: key.value, secret: secret.value, trades: symbols, quotes: quotes ? symbols : [],
            bars: bars ? symbols : [], parser: AlpacaParser(provider: name, quoteSizeMultiplier: quoteSizeMultiplier))
        let connection = StreamingConnection(provider: name, url: url, options: options)
        let url = self.url
        try await connection.run(session, sink: sink) { status in
            StreamingConfig.refusal(provider: "alpaca", url: url, status: status)
        }
    }
}

/// The Alpaca protocol: `connected` → auth → `authenticated` → subscribe → `subscription`
/// (the full set in force) → data. Errors by code:
///
/// | code | meaning | kind | reaction |
/// | --- | --- | --- | --- |
/// | 400 | invalid syntax | `.invalidRequest` | report, stay |
/// | 401 | not authenticated | `.notAuthenticated` | report, reconnect |
/// | 402 | auth failed | `.authFailed` | fatal |
/// | 403 | already authenticated | `.invalidRequest` | report, stay |
/// | 404 | auth timeout | `.timeout` | report, reconnect |
/// | 405 | symbol limit exceeded | `.symbolLimit` | fatal |
/// | 406 | connection limit exceeded | `.connectionLimit` | fatal |
/// | 407 | slow client | `.slowConsumer` | report, reconnect |
/// | 408 | v2 not enabled | `.planWithoutStreaming` | fatal |
/// | 409 | insufficient subscription | `.insufficientSubscription` | fatal |
/// | 410 | invalid subscribe action for this feed | `.invalidRequest` | fatal |
/// | 411 | insufficient scope | `.insufficientSubscription` | fatal |
/// | 500 | internal error | `.disconnected` | report, reconnect |
/// | other | | `.invalidRequest` | report, stay |
///
/// Every issue carries the code.
public struct AlpacaSession: StreamingSession {
    public enum Phase: Sendable, Equatable {
        case awaitingConnected, authenticating, subscribing, streaming
    }

    public let provider: String
    let key: String
    let secret: String
    public let trades: [String]
    public let quotes: [String]
    public let bars: [String]
    public let parser: AlpacaParser
    public private(set) var phase = Phase.awaitingConnected

    public init(
        provider: String, key: String, secret: String, trades: [String], quotes: [String], bars: [String],
        parser: AlpacaParser
    ) {
        self.provider = provider
        self.key = key
        self.secret = secret
        self.trades = trades
        self.quotes = quotes
        self.bars = bars
        self.parser = parser
    }

    /// `{"action":"auth","key":…,"secret":…}`.
    public var authMessage: String {
        JSONText.object([
            ("action", JSONText.string("auth")), ("key", JSONText.string(key)), ("secret", JSONText.string(secret)),
        ])
    }

    /// `{"action":"subscribe","trades":[…],"quotes":[…],"bars":[…]}`, empty channels left out.
    public var subscribeMessage: String {
        var members = [(key: "action", value: JSONText.string("subscribe"))]
        if !trades.isEmpty { members.append(("trades", JSONText.array(trades))) }
        if !quotes.isEmpty { members.append(("quotes", JSONText.array(quotes))) }
        if !bars.isEmpty { members.append(("bars", JSONText.array(bars))) }
        return JSONText.object(members)
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
            case .success(let message):
                reaction.append(handleSuccess(message))
            case .subscription:
                guard phase == .subscribing else { continue }
                phase = .streaming
                reaction.subscribed = true
            case .error(let code, let message):
                reaction.append(Self.reaction(toError: code, message: message, provider: provider))
            }
            if reaction.end != nil { return reaction }
        }
        return reaction
    }

    mutating func handleSuccess(_ message: String) -> StreamingReaction {
        switch message {
        case "connected" where phase == .awaitingConnected:
            phase = .authenticating
            return StreamingReaction(outgoing: [authMessage])
        case "authenticated" where phase == .authenticating || phase == .awaitingConnected:
            phase = .subscribing
            return StreamingReaction(outgoing: [subscribeMessage])
        default:
            return .none
        }
    }

    /// What an `error` message means (see the table above).
    public static func reaction(toError code: Int, message: String, provider: String = "alpaca") -> StreamingReaction {
        let said = "\(provider): error \(code): \(message)"
        func fatal(_ kind: ProviderIssue.Kind) -> StreamingReaction {
            StreamingReaction(end: .fatal(ProviderIssue(kind, said, isFatal: true, code: code)))
        }
        func report(_ kind: ProviderIssue.Kind, reconnect: Bool) -> StreamingReaction {
            StreamingReaction(issues: [ProviderIssue(kind, said, code: code)], end: reconnect ? .reconnect : nil)
        }
        switch code {
        case 400: return report(.invalidRequest, reconnect: false)
        case 401: return report(.notAuthenticated, reconnect: true)
        case 402: return fatal(.authFailed)
        case 403: return report(.invalidRequest, reconnect: false)
        case 404: return report(.timeout, reconnect: true)
        case 405: return fatal(.symbolLimit)
        case 406: return fatal(.connectionLimit)
        case 407: return report(.slowConsumer, reconnect: true)
        case 408: return fatal(.planWithoutStreaming)
        case 409: return fatal(.insufficientSubscription)
        case 410: return fatal(.invalidRequest)
        case 411: return fatal(.insufficientSubscription)
        case 500: return report(.disconnected, reconnect: true)
        default: return report(.invalidRequest, reconnect: false)
        }
    }
}
