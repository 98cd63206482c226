import Contracts
import Foundation
import ServiceKit

/// One thing a frame of the seed's generic WebSocket feed says.
public enum GenericWebSocketMessage: Sendable, Equatable {
    case event(MarketEvent)
    /// An object that is not a price update (no ticker and no price): an ack, a heartbeat.
    case ignored
}

/// Reads the seed's generic WebSocket payloads: one JSON object or an array of them, each
/// `{ticker, price, volume, timestamp, change, changePercent}` → a trade (`ticker` — or
/// `symbol` — and `price` required; `volume` is the size, 0 when absent; `change` and
/// `changePercent` are not part of a trade and are ignored). Numbers may also come as numeric
/// text.
///
/// `timestamp` is accepted in each unambiguous form: an epoch number whose unit follows from
/// its size (below 1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds, else
/// nanoseconds — see ``ProviderTime/nanoseconds(epoch:)-(Int64)``), the same as numeric
/// text, or ISO 8601 / RFC 3339 text **with** a zone (`Z` or `±hh:mm`; a space may replace
/// the `T`). A time without a zone is rejected as malformed. Without a `timestamp` the time
/// of receipt is used. Pure and separately tested (the receipt time is a parameter).
public struct GenericWebSocketParser: Sendable {
    public var provider: String

    public init(provider: String = "websocket") {
        self.provider = provider
    }

    /// - Parameter receivedAt: UTC ns used for updates without a `timestamp`.
    public func parse(_ text: String, receivedAt: Int64) -> ParsedFrame<GenericWebSocketMessage> {
        guard let elements = JSONFrame.elements(Element.self, in: text) else {
            return ParsedFrame(problems: [FrameProblem(.malformed, "not a JSON object or array of objects")])
        }
        var frame = ParsedFrame<GenericWebSocketMessage>()
        for (index, element) in elements.enumerated() {
            switch element.value {
            case .success(nil):
                frame.messages.append(.ignored)
            case .success(.some((var trade, let time))):
                trade.provider = provider
                frame.messages.append(.event(.trade(trade, time: time ?? receivedAt)))
            case .failure(let problem):
                let message = elements.count == 1 ? problem.description : "element \(index): \(problem.description)"
                frame.problems.append(FrameProblem(problem.reason, message))
            }
        }
        return frame
    }

    struct Element: Decodable {
        /// A trade and its time (nil: use the receipt time), or nil for a non-price message.
        var value: Result<(Trade, Int64?)?, FieldError>

        init(from decoder: any Decoder) {
            do throws(FieldError) {
                let fields = try JSONFields(decoder)
                let symbolKey = fields.has("ticker") ? "ticker" : (fields.has("symbol") ? "symbol" : nil)
                guard let symbolKey else {
                    if fields.has("price") { throw FieldError("'ticker' is missing") }
                    value = .success(nil)
                    return
                }
                var trade = Trade()
                trade.symbol = try fields.symbol(symbolKey)
                guard let price = try Self.number(fields, "price") else { throw FieldError("'price' is missing") }
                guard MarketLimits.isPrice(price) else {
                    throw FieldError("'price' is not a price: \(price)", .priceRange)
                }
                trade.price = price
                let volume = try Self.number(fields, "volume") ?? 0
                guard MarketLimits.isSize(volume) else {
                    throw FieldError("'volume' is not a size: \(volume)", .sizeRange)
                }
                trade.size = volume
                value = .success((trade, try Self.time(fields, "timestamp")))
            } catch {
                value = .failure(error)
            }
        }

        /// A number, or a number written as text; nil when absent.
        static func number(_ fields: JSONFields, _ name: String) throws(FieldError) -> Double? {
            guard fields.has(name) else { return nil }
            if let value = try? fields.optional(Double.self, name) { return value }
            if let text = try? fields.optional(String.self, name),
                let value = Double(text.trimmingCharacters(in: .whitespaces))
            {
                return value
            }
            throw FieldError("'\(name)' is not a number")
        }

        /// The update's time in UTC ns; nil when absent. A number or date that cannot be a
        /// time from 1900 to 2200 is a `time_range` problem, anything else `malformed`.
        static func time(_ fields: JSONFields, _ name: String) throws(FieldError) -> Int64? {
            guard fields.has(name) else { return nil }
            let key = JSONKey(name)
            let container = fields.container
            var converted: Int64?
            var isTime = true
            if let whole = try? container.decode(Int64.self, forKey: key) {
                converted = ProviderTime.nanoseconds(epoch: whole)
            } else if let number = try? container.decode(Double.self, forKey: key) {
                converted = ProviderTime.nanoseconds(epoch: number)
            } else if let text = try? container.decode(String.self, forKey: key) {
                let trimmed = text.trimmingCharacters(in: .whitespaces)
                if let whole = Int64(trimmed) {
                    converted = ProviderTime.nanoseconds(epoch: whole)
                } else if trimmed.first?.isNumber == true, !trimmed.contains("-"), !trimmed.contains(":"),
                    let number = Double(trimmed)
                {
                    converted = ProviderTime.nanoseconds(epoch: number)
                } else {
                    converted = ProviderTime.nanoseconds(rfc3339: trimmed, allowSpace: true)
                    isTime = ProviderTime.looksLikeRFC3339(trimmed, allowSpace: true)
                }
            } else {
                isTime = false
            }
            guard let ns = converted, MarketLimits.isPlausible(time: ns) else {
                throw FieldError(
                    "'\(name)' is not an epoch number or an ISO 8601 time with a zone from 1900 to 2200",
                    isTime ? .timeRange : .malformed)
            }
            return ns
        }
    }
}

/// The seed's generic WebSocket provider.
///
/// URL: `provider_url` if set, else `ws_url` (one of them is required). Right after
/// connecting it sends `{"action":"subscribe","tickers":["AAPL","MSFT",…]}` (the symbols in
/// config order) and counts as subscribed; no auth message is sent. Frames are read by
/// ``GenericWebSocketParser``.
public struct GenericWebSocketProvider: MarketDataProvider {
    public let name = "websocket"
    public let url: String
    public var options: StreamingOptions

    public init(config: TickwireConfig) throws(ConfigError) {
        guard
            let explicit = try StreamingConfig.webSocketURL([
                StreamingConfig.override(config), ("ws_url", config.wsUrl),
            ])
        else {
            throw ConfigError(
                path: "ws_url", message: "the websocket provider needs a URL (ws://host:port/path or wss://…)")
        }
        url = explicit.url
        options = StreamingOptions(config: config)
    }

    public func run(symbols: [String], sink: ProviderSink) async throws {
        try StreamingConfig.requireSymbols(symbols, provider: name)
        let session = GenericWebSocketSession(provider: name, symbols: symbols)
        let connection = StreamingConnection(provider: name, url: url, options: options)
        let url = self.url
        try await connection.run(session, sink: sink) { status in
            StreamingConfig.refusal(provider: "websocket", url: url, status: status)
        }
    }
}

/// The generic protocol (see ``GenericWebSocketProvider``).
public struct GenericWebSocketSession: StreamingSession {
    public let provider: String
    public let symbols: [String]
    public let parser: GenericWebSocketParser
    /// The receipt time for updates without a timestamp.
    let clock: @Sendable () -> Int64

    public init(
        provider: String, symbols: [String], clock: @escaping @Sendable () -> Int64 = { WallClock.nanoseconds() }
    ) {
        self.provider = provider
        self.symbols = symbols
        self.parser = GenericWebSocketParser(provider: provider)
        self.clock = clock
    }

    /// `{"action":"subscribe","tickers":[…]}`.
    public var subscribeMessage: String {
        JSONText.object([("action", JSONText.string("subscribe")), ("tickers", JSONText.array(symbols))])
    }

    public mutating func opened() -> StreamingReaction {
        StreamingReaction(outgoing: [subscribeMessage], subscribed: true)
    }

    public mutating func received(_ text: String) -> StreamingReaction {
        let frame = parser.parse(text, receivedAt: clock())
        var reaction = StreamingReaction(problems: frame.problems, provider: provider, frame: text)
        for case .event(let event) in frame.messages { reaction.events.append(event) }
        return reaction
    }
}
