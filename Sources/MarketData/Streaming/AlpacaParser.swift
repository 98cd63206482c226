import Contracts
import Timekeeping

/// One thing an Alpaca market-data v2 frame says.
public enum AlpacaMessage: Sendable, Equatable {
    /// A trade (`t`), quote (`q`) or minute bar (`b`).
    case event(MarketEvent)
    /// `{"T":"success","msg":…}`: `connected` or `authenticated`.
    case success(String)
    /// `{"T":"error","code":…,"msg":…}`.
    case error(code: Int, message: String)
    /// `{"T":"subscription",…}`: the complete subscription now in force.
    case subscription(trades: [String], quotes: [String], bars: [String])
    /// A type this client does not use (`u`, `d`, `c`, `x`, `l`, `s`, `i`, …).
    case ignored(type: String)
}

/// Reads Alpaca market-data v2 frames (JSON text): an array of objects, each with `T`.
/// Pure and separately tested.
///
/// Mapping: `t` → trade (`S`, price `p`, size `s`, exchange `x`, id `i`, conditions `c`);
/// `q` → quote (`bp`/`ap`, `bs`/`as` × the quote size multiplier, `bx`/`ax`); `b` → live
/// minute bar starting at `t` and ending one minute later, with `o`/`h`/`l`/`c`, `v`, `vw`,
/// trade count `n`. Times are RFC 3339 with 0–9 fraction digits, converted to UTC ns exactly.
public struct AlpacaParser: Sendable {
    public var provider: String
    /// Quote sizes are multiplied by this. Alpaca documents `bs`/`as` in round lots (100
    /// shares), so the default gives shares like trade sizes.
    public var quoteSizeMultiplier: Double

    public init(provider: String = "alpaca", quoteSizeMultiplier: Double = 100) {
        self.provider = provider
        self.quoteSizeMultiplier = quoteSizeMultiplier
    }

    public func parse(_ text: String) -> ParsedFrame<AlpacaMessage> {
        JSONFrame.parse(Element.self, in: text, stamp: stamped)
    }

    func stamped(_ message: AlpacaMessage) -> AlpacaMessage {
        guard case .event(let event) = message else { return message }
        return .event(event.stamped(provider: provider, quoteSizeMultiplier: quoteSizeMultiplier))
    }

    struct Element: FrameElement {
        var type = "?"
        var value: Result<AlpacaMessage, FieldError>
        var kind: String { type }

        init(from decoder: any Decoder) {
            do throws(FieldError) {
                let fields = try JSONFields(decoder)
                let type = try fields.required(String.self, "T")
                self.type = type
                value = .success(try Self.message(type, fields))
            } catch {
                value = .failure(error)
            }
        }

        static func message(_ type: String, _ fields: JSONFields) throws(FieldError) -> AlpacaMessage {
            switch type {
            case "t":
                var trade = Trade()
                trade.symbol = try fields.symbol("S")
                trade.price = try fields.price("p")
                trade.size = try fields.size("s")
                trade.exchange = try fields.optional(String.self, "x") ?? ""
                trade.tradeID = try fields.optionalText("i") ?? ""
                trade.conditions = try fields.optional([String].self, "c") ?? []
                return .event(.trade(trade, time: try fields.rfc3339("t")))
            case "q":
                var quote = Quote()
                quote.symbol = try fields.symbol("S")
                quote.bidPrice = try fields.quotePrice("bp")
                quote.askPrice = try fields.quotePrice("ap")
                quote.bidSize = try fields.size("bs")
                quote.askSize = try fields.size("as")
                quote.bidExchange = try fields.optional(String.self, "bx") ?? ""
                quote.askExchange = try fields.optional(String.self, "ax") ?? ""
                return .event(.quote(quote, time: try fields.rfc3339("t")))
            case "b":
                var bar = Bar()
                bar.symbol = try fields.symbol("S")
                bar.open = try fields.price("o")
                bar.high = try fields.price("h")
                bar.low = try fields.price("l")
                bar.close = try fields.price("c")
                bar.volume = try fields.size("v")
                bar.vwap = try fields.optionalPrice("vw")
                let count = try fields.optional(Int64.self, "n") ?? 0
                guard count >= 0, Double(count) <= MarketLimits.maximumSize else {
                    throw FieldError("'n' is not a trade count: \(count)", .sizeRange)
                }
                bar.tradeCount = UInt64(count)
                bar.startTimeNs = try fields.rfc3339("t")
                guard let end = Nanoseconds.checkedAdding(bar.startTimeNs, Nanoseconds.perMinute) else {
                    throw FieldError("'t' is out of range", .timeRange)
                }
                bar.endTimeNs = end
                guard bar.low <= bar.high else { throw FieldError("'l' is above 'h'", .priceRange) }
                bar.origin = .live
                return .event(.bar(bar))
            case "success":
                return .success(try fields.required(String.self, "msg"))
            case "error":
                return .error(
                    code: try fields.required(Int.self, "code"), message: try fields.optional(String.self, "msg") ?? "")
            case "subscription":
                return .subscription(
                    trades: try fields.optional([String].self, "trades") ?? [],
                    quotes: try fields.optional([String].self, "quotes") ?? [],
                    bars: try fields.optional([String].self, "bars") ?? [])
            default:
                return .ignored(type: type)
            }
        }
    }
}
