import Contracts

/// One thing a Polygon/Massive stocks frame says.
public enum PolygonMessage: Sendable, Equatable {
    /// A trade (`T`), quote (`Q`) or aggregate (`A` per second, `AM` per minute).
    case event(MarketEvent)
    /// `{"ev":"status","status":…,"message":…}`.
    case status(status: String, message: String)
    /// An event type this client does not use (`LULD`, `NOI`, `FMV`, …).
    case ignored(eventType: String)
}

/// Reads Polygon/Massive stocks WebSocket frames: a JSON array of event objects, each with
/// `ev`, mixed types and symbols in one array. Pure and separately tested.
///
/// Mapping: `T` → trade (price `p`, size `s`, exchange id `x` as text, trade id `i`, condition
/// codes `c` as text, SIP time `t` ms → ns); `Q` → quote (`bp`/`ap`, `bs`/`as` × the quote
/// size multiplier, exchange ids `bx`/`ax`, time `t`); `A`/`AM` → live bar from `s` to `e`
/// (ms → ns) with `o`/`h`/`l`/`c`, volume `v` and VWAP `vw`. Unknown `ev` values are ignored.
public struct PolygonParser: Sendable {
    /// Written into every event's `provider` (`polygon` or `massive`).
    public var provider: String
    /// Quote sizes are multiplied by this. Polygon's spec gives `bs`/`as` in round lots of 100
    /// shares, so the default turns them into shares like trade sizes; set 1 if the feed sends shares.
    public var quoteSizeMultiplier: Double

    public init(provider: String = "polygon", quoteSizeMultiplier: Double = 100) {
        self.provider = provider
        self.quoteSizeMultiplier = quoteSizeMultiplier
    }

    public func parse(_ text: String) -> ParsedFrame<PolygonMessage> {
        JSONFrame.parse(Element.self, in: text, stamp: stamped)
    }

    /// Fills in what the wire does not say: the provider name, quote sizes in shares.
    func stamped(_ message: PolygonMessage) -> PolygonMessage {
        guard case .event(let event) = message else { return message }
        return .event(event.stamped(provider: provider, quoteSizeMultiplier: quoteSizeMultiplier))
    }

    /// One array element; never fails to decode as a whole.
    struct Element: FrameElement {
        var eventType = "?"
        var value: Result<PolygonMessage, FieldError>
        var kind: String { eventType }

        init(from decoder: any Decoder) {
            do throws(FieldError) {
                let fields = try JSONFields(decoder)
                let ev = try fields.required(String.self, "ev")
                eventType = ev
                value = .success(try Self.message(ev, fields))
            } catch {
                value = .failure(error)
            }
        }

        static func message(_ ev: String, _ fields: JSONFields) throws(FieldError) -> PolygonMessage {
            switch ev {
            case "T":
                var trade = Trade()
                trade.symbol = try fields.symbol("sym")
                trade.price = try fields.price("p")
                trade.size = try fields.size("s")
                trade.exchange = try fields.optional(Int.self, "x").map(String.init) ?? ""
                trade.tradeID = try fields.optionalText("i") ?? ""
                trade.conditions = try fields.optional([Int].self, "c")?.map(String.init) ?? []
                return .event(.trade(trade, time: try fields.milliseconds("t")))
            case "Q":
                var quote = Quote()
                quote.symbol = try fields.symbol("sym")
                quote.bidPrice = try fields.quotePrice("bp")
                quote.askPrice = try fields.quotePrice("ap")
                quote.bidSize = try fields.size("bs")
                quote.askSize = try fields.size("as")
                quote.bidExchange = try fields.optional(Int.self, "bx").map(String.init) ?? ""
                quote.askExchange = try fields.optional(Int.self, "ax").map(String.init) ?? ""
                return .event(.quote(quote, time: try fields.milliseconds("t")))
            case "A", "AM":
                var bar = Bar()
                bar.symbol = try fields.symbol("sym")
                bar.open = try fields.price("o")
                bar.high = try fields.price("h")
                bar.low = try fields.price("l")
                bar.close = try fields.price("c")
                bar.volume = try fields.size("v")
                bar.vwap = try fields.optionalPrice("vw")
                bar.startTimeNs = try fields.milliseconds("s")
                bar.endTimeNs = try fields.milliseconds("e")
                guard bar.endTimeNs > bar.startTimeNs else { throw FieldError("'e' is not after 's'", .timeRange) }
                guard bar.low <= bar.high else { throw FieldError("'l' is above 'h'", .priceRange) }
                bar.origin = .live
                return .event(.bar(bar))
            case "status":
                let status = try fields.required(String.self, "status")
                return .status(status: status, message: try fields.optional(String.self, "message") ?? "")
            default:
                return .ignored(eventType: ev)
            }
        }
    }
}
