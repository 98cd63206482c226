import Contracts
import Foundation
import MarketData
import Timekeeping

/// One trade print.
public struct Trade: Sendable, Hashable {
    /// The ticker, e.g. `AAPL`.
    public var symbol: String
    /// The price per share.
    public var price: Double
    /// Shares traded (fractional allowed).
    public var size: Double
    /// The exchange time of the trade.
    public var time: Date
    /// The provider's trade id, empty when it gives none; a repeated id is ignored.
    public var id: String
    /// The exchange's code, empty when unknown.
    public var exchange: String

    /// A trade of `size` shares of `symbol` at `price`, at `time`.
    public init(symbol: String, price: Double, size: Double, time: Date, id: String = "", exchange: String = "") {
        self.symbol = symbol
        self.price = price
        self.size = size
        self.time = time
        self.id = id
        self.exchange = exchange
    }
}

/// The top of the book: the best bid and ask.
public struct Quote: Sendable, Hashable {
    /// The ticker.
    public var symbol: String
    /// The best bid, its size, the best ask and its size.
    public var bidPrice: Double
    public var bidSize: Double
    public var askPrice: Double
    public var askSize: Double
    /// The exchange time of the quote.
    public var time: Date

    /// A quote for `symbol` at `time`.
    public init(symbol: String, bidPrice: Double, bidSize: Double, askPrice: Double, askSize: Double, time: Date) {
        self.symbol = symbol
        self.bidPrice = bidPrice
        self.bidSize = bidSize
        self.askPrice = askPrice
        self.askSize = askSize
        self.time = time
    }
}

/// An OHLCV bar over `[start, end)`.
public struct Bar: Sendable, Hashable {
    /// Where a bar comes from.
    public enum Origin: String, Sendable, Hashable {
        /// Built from trades by a ``StreamProcessor``.
        case built
        /// A provider's real-time bar.
        case live
        /// History a provider sent at start (it warms the indicators up; no signal is made from it).
        case history
    }

    /// The ticker.
    public var symbol: String
    /// When the bar starts (included) and ends (excluded).
    public var start: Date
    public var end: Date
    /// Open, high, low, close and volume.
    public var open: Double
    public var high: Double
    public var low: Double
    public var close: Double
    public var volume: Double
    /// The volume-weighted average price; 0 when unknown.
    public var vwap: Double
    /// Trades in the bar; 0 when unknown.
    public var tradeCount: Int
    /// Where the bar comes from.
    public var origin: Origin

    /// A bar of `symbol` over `[start, end)`.
    public init(
        symbol: String, start: Date, end: Date, open: Double, high: Double, low: Double, close: Double,
        volume: Double, vwap: Double = 0, tradeCount: Int = 0, origin: Origin = .live
    ) {
        self.symbol = symbol
        self.start = start
        self.end = end
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.vwap = vwap
        self.tradeCount = tradeCount
        self.origin = origin
    }
}

/// What a ``DataFeed`` delivers: a trade, a quote or a bar.
public enum MarketEvent: Sendable, Hashable {
    case trade(Trade)
    case quote(Quote)
    case bar(Bar)

    /// The symbol the event is about.
    public var symbol: String {
        switch self {
        case .trade(let trade): trade.symbol
        case .quote(let quote): quote.symbol
        case .bar(let bar): bar.symbol
        }
    }

    /// When it happened: a trade's or quote's time, a bar's end.
    public var time: Date {
        switch self {
        case .trade(let trade): trade.time
        case .quote(let quote): quote.time
        case .bar(let bar): bar.end
        }
    }
}

// MARK: Conversions to and from Tickwire's own messages

extension Date {
    /// UTC nanoseconds, rounded to the microsecond (what a `Date` holds exactly); saturating.
    var nanoseconds: Int64 {
        Nanoseconds.multiplying(Nanoseconds.clamping(timeIntervalSince1970 * 1e6), 1_000)
    }

    init(nanoseconds: Int64) {
        self.init(timeIntervalSince1970: Nanoseconds.seconds(nanoseconds))
    }
}

extension Trade {
    init(_ trade: Contracts.Trade, time: Int64) {
        self.init(
            symbol: trade.symbol, price: trade.price, size: trade.size, time: Date(nanoseconds: time), id: trade.tradeID,
            exchange: trade.exchange)
    }

    /// The trade as the processor's pipeline takes it, and its time in nanoseconds.
    func contract(provider: String) -> (trade: Contracts.Trade, time: Int64) {
        var trade = Contracts.Trade()
        trade.symbol = symbol
        trade.price = price
        trade.size = size
        trade.tradeID = id
        trade.exchange = exchange
        trade.provider = provider
        return (trade, time.nanoseconds)
    }
}

extension Quote {
    init(_ quote: Contracts.Quote, time: Int64) {
        self.init(
            symbol: quote.symbol, bidPrice: quote.bidPrice, bidSize: quote.bidSize, askPrice: quote.askPrice,
            askSize: quote.askSize, time: Date(nanoseconds: time))
    }

    func contract(provider: String) -> (quote: Contracts.Quote, time: Int64) {
        var quote = Contracts.Quote()
        quote.symbol = symbol
        quote.bidPrice = bidPrice
        quote.bidSize = bidSize
        quote.askPrice = askPrice
        quote.askSize = askSize
        quote.provider = provider
        return (quote, time.nanoseconds)
    }
}

extension Bar {
    init(_ bar: Contracts.Bar) {
        let origin: Origin
        switch bar.origin {
        case .built: origin = .built
        case .backfill: origin = .history
        default: origin = .live
        }
        self.init(
            symbol: bar.symbol, start: Date(nanoseconds: bar.startTimeNs), end: Date(nanoseconds: bar.endTimeNs),
            open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume, vwap: bar.vwap,
            tradeCount: Int(clamping: bar.tradeCount), origin: origin)
    }

    func contract(provider: String) -> Contracts.Bar {
        var bar = Contracts.Bar()
        bar.symbol = symbol
        bar.startTimeNs = start.nanoseconds
        bar.endTimeNs = end.nanoseconds
        bar.open = open
        bar.high = high
        bar.low = low
        bar.close = close
        bar.volume = volume
        bar.vwap = vwap
        bar.tradeCount = UInt64(clamping: max(0, tradeCount))
        switch origin {
        case .built: bar.origin = .built
        case .live: bar.origin = .live
        case .history: bar.origin = .backfill
        }
        bar.provider = provider
        return bar
    }
}

extension MarketEvent {
    init(_ event: MarketData.MarketEvent) {
        switch event {
        case .trade(let trade, let time): self = .trade(Trade(trade, time: time))
        case .quote(let quote, let time): self = .quote(Quote(quote, time: time))
        case .bar(let bar): self = .bar(Bar(bar))
        }
    }

    /// The event as the ingestor's checks take it.
    func contract(provider: String) -> MarketData.MarketEvent {
        switch self {
        case .trade(let trade):
            let (message, time) = trade.contract(provider: provider)
            return .trade(message, time: time)
        case .quote(let quote):
            let (message, time) = quote.contract(provider: provider)
            return .quote(message, time: time)
        case .bar(let bar):
            return .bar(bar.contract(provider: provider))
        }
    }
}
