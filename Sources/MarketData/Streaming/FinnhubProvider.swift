import Contracts
import Foundation
import ServiceKit

/// One thing a Finnhub frame says.
public enum FinnhubMessage: Sendable, Equatable {
    case event(MarketEvent)
    /// `{"type":"ping"}`: the server's heartbeat; needs no answer.
    case ping
    /// `{"type":"error","msg":…}`.
    case error(String)
    /// Another `type` (news, press releases, …).
    case ignored(type: String)
}

/// Reads Finnhub WebSocket frames: one JSON object per frame with `type`; `trade` carries a
/// `data` array of trades `{s, p, v, t, c}` (symbol, price, volume, Unix ms, conditions as text
/// or absent/null). A trade with `v` 0 is a price-only update and is kept (size 0). Pure and
/// separately tested.
public struct FinnhubParser: Sendable {
    public var provider: String

    public init(provider: String = "finnhub") {
        self.provider = provider
    }

    public func parse(_ text: String) -> ParsedFrame<FinnhubMessage> {
        guard let frames = JSONFrame.elements(Frame.self, in: text), frames.count == 1, let frame = frames.first,
            text.utf8.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) == UInt8(ascii: "{")
        else {
            return ParsedFrame(problems: [FrameProblem(.malformed, "not a JSON object")])
        }
        switch frame.value {
        case .failure(let problem):
            return ParsedFrame(problems: [FrameProblem(problem.reason, problem.description)])
        case .success(.message(let message)):
            return ParsedFrame(messages: [message])
        case .success(.trades(let trades)):
            var parsed = ParsedFrame<FinnhubMessage>()
            for (index, trade) in trades.enumerated() {
                switch trade.value {
                case .success(var trade):
                    trade.0.provider = provider
                    parsed.messages.append(.event(.trade(trade.0, time: trade.1)))
                case .failure(let problem):
                    parsed.problems.append(FrameProblem(problem.reason, "data[\(index)]: \(problem.description)"))
                }
            }
            return parsed
        }
    }

    struct Frame: Decodable {
        enum Content {
            case message(FinnhubMessage)
            case trades([TradeElement])
        }

        var value: Result<Content, FieldError>

        init(from decoder: any Decoder) {
            do throws(FieldError) {
                let fields = try JSONFields(decoder)
                let type = try fields.required(String.self, "type")
                switch type {
                case "trade":
                    value = .success(.trades(try fields.required([TradeElement].self, "data")))
                case "ping":
                    value = .success(.message(.ping))
                case "error":
                    value = .success(.message(.error(try fields.optional(String.self, "msg") ?? "")))
                default:
                    value = .success(.message(.ignored(type: type)))
                }
            } catch {
                value = .failure(error)
            }
        }
    }

    struct TradeElement: Decodable {
        var value: Result<(Trade, Int64), FieldError>

        init(from decoder: any Decoder) {
            do throws(FieldError) {
                let fields = try JSONFields(decoder)
                var trade = Trade()
                trade.symbol = try fields.symbol("s")
                trade.price = try fields.price("p")
                trade.size = try fields.size("v")
                if let conditions = try? fields.optional([String].self, "c") {
                    trade.conditions = conditions
                } else {
                    trade.conditions = try fields.optional([Int64].self, "c")?.map(String.init) ?? []
                }
                value = .success((trade, try fields.milliseconds("t")))
            } catch {
                value = .failure(error)
            }
        }
    }
}

/// Finnhub trades over WebSocket.
///
/// URL: `provider_url` if set, else `providers.finnhub.url`, plus `?token=<api_key>` (the key
/// is a query parameter; there is no auth message). One `{"type":"subscribe","symbol":…}` per
/// symbol right after connecting; there is no acknowledgement, so the stream counts as
/// subscribed once they are sent.
///
/// Reactions: `{"type":"error","msg":"Invalid symbol X"}` → `.unknownSymbol` for X, non-fatal;
/// `Subscribing to too many symbols` → `.symbolLimit`, fatal; other errors → `.invalidRequest`,
/// non-fatal; pings are ignored. A refused upgrade with HTTP 401 or 403 (bad token) →
/// `.authFailed`, fatal; other refusals are retried.
public struct FinnhubProvider: MarketDataProvider {
    public let name = "finnhub"
    /// The URL without the token (what may be logged).
    public let baseURL: String
    public var options: StreamingOptions
    let apiKey: Secret

    public init(config: TickwireConfig) throws(ConfigError) {
        apiKey = try StreamingConfig.secret(config.apiKey, path: "api_key", provider: "finnhub", what: "an API key")
        guard
            let explicit = try StreamingConfig.webSocketURL([
                StreamingConfig.override(config), ("providers.finnhub.url", config.providers.finnhub.url),
            ])
        else {
            throw ConfigError(path: "providers.finnhub.url", message: "finnhub needs a WebSocket URL (wss://ws.finnhub.io)")
        }
        baseURL = explicit.url
        options = StreamingOptions(config: config)
    }

    /// `baseURL` with `token=<key>` added to its query (percent-encoded).
    var url: String { Self.url(base: baseURL, token: apiKey.value) }

    static func url(base: String, token: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encoded = token.addingPercentEncoding(withAllowedCharacters: allowed) ?? token
        return base + (base.contains("?") ? "&" : "?") + "token=" + encoded
    }

    public func run(symbols: [String], sink: ProviderSink) async throws {
        try StreamingConfig.requireSymbols(symbols, provider: name)
        let session = FinnhubSession(provider: name, symbols: symbols, parser: FinnhubParser(provider: name))
        let display = baseURL + (baseURL.contains("?") ? "&" : "?") + "token=<redacted>"
        let connection = StreamingConnection(provider: name, url: url, displayURL: display, options: options)
        try await connection.run(session, sink: sink) { status in
            Self.refusal(status: status, displayURL: display)
        }
    }

    /// 401/403 at the upgrade: the token is bad (fatal). Anything else: retry.
    static func refusal(status: Int?, displayURL: String) -> ProviderIssue {
        if let status, status == 401 || status == 403 {
            return ProviderIssue(
                .authFailed, "finnhub: \(displayURL) refused the WebSocket upgrade with HTTP \(status) (bad API key?)",
                isFatal: true, code: status)
        }
        return StreamingConfig.refusal(provider: "finnhub", url: displayURL, status: status)
    }
}

/// The Finnhub protocol (see ``FinnhubProvider``).
public struct FinnhubSession: StreamingSession {
    public let provider: String
    public let symbols: [String]
    public let parser: FinnhubParser

    public init(provider: String, symbols: [String], parser: FinnhubParser) {
        self.provider = provider
        self.symbols = symbols
        self.parser = parser
    }

    /// `{"type":"subscribe","symbol":…}` for each symbol.
    public var subscribeMessages: [String] {
        symbols.map {
            JSONText.object([("type", JSONText.string("subscribe")), ("symbol", JSONText.string($0))])
        }
    }

    public mutating func opened() -> StreamingReaction {
        StreamingReaction(outgoing: subscribeMessages, subscribed: true)
    }

    public mutating func received(_ text: String) -> StreamingReaction {
        let frame = parser.parse(text)
        var reaction = StreamingReaction(problems: frame.problems, provider: provider, frame: text)
        for message in frame.messages {
            switch message {
            case .event(let event): reaction.events.append(event)
            case .ping, .ignored: continue
            case .error(let message): reaction.append(Self.reaction(toError: message, provider: provider))
            }
        }
        return reaction
    }

    public static func reaction(toError message: String, provider: String = "finnhub") -> StreamingReaction {
        let said = "\(provider): error: \(message)"
        let lower = message.lowercased()
        if lower.hasPrefix("invalid symbol") {
            let symbol = message.dropFirst("invalid symbol".count).trimmingCharacters(in: .whitespaces)
            return StreamingReaction(issues: [ProviderIssue(.unknownSymbol, said, symbol: symbol)])
        }
        if lower.contains("too many symbols") {
            return StreamingReaction(end: .fatal(ProviderIssue(.symbolLimit, said, isFatal: true)))
        }
        return StreamingReaction(issues: [ProviderIssue(.invalidRequest, said)])
    }
}
