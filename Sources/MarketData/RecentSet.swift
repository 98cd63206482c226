import Contracts
import ServiceKit

/// Drops events already published, so a reconnect that replays recent data (or a REST poll
/// that returns the same bar again) never duplicates a tick on the bus (or, in the `Tickwire`
/// library, an event in a data feed).
public struct EventDeduplicator: Sendable {
    private struct TradeKey: Hashable, Sendable {
        var symbol: String
        var id: String
        var exchange: String
        var time: Int64
        var price: Double
        var size: Double
    }

    private struct QuoteKey: Hashable, Sendable {
        var symbol: String
        var time: Int64
        var bid: Double
        var ask: Double
        var bidSize: Double
        var askSize: Double
    }

    private struct BarKey: Hashable, Sendable {
        var symbol: String
        var start: Int64
        var end: Int64
        var close: Double
        var volume: Double
    }

    private var trades: RecentSet<TradeKey>
    private var quotes: RecentSet<QuoteKey>
    private var bars: RecentSet<BarKey>

    /// Remembers the last `capacity` trades and quotes and `capacity / 8` bars.
    public init(capacity: Int = 65_536) {
        trades = RecentSet(capacity: capacity)
        quotes = RecentSet(capacity: capacity)
        bars = RecentSet(capacity: capacity / 8)
    }

    /// True when `event` has not been seen recently (and remembers it).
    public mutating func isNew(_ event: MarketEvent) -> Bool {
        switch event {
        case .trade(let trade, let time):
            // A provider's trade id identifies a print; without one, time+price+size+venue does.
            let key =
                trade.tradeID.isEmpty
                ? TradeKey(symbol: trade.symbol, id: "", exchange: trade.exchange, time: time, price: trade.price, size: trade.size)
                : TradeKey(symbol: trade.symbol, id: trade.tradeID, exchange: trade.exchange, time: time, price: 0, size: 0)
            return trades.insert(key)
        case .quote(let quote, let time):
            return quotes.insert(
                QuoteKey(
                    symbol: quote.symbol, time: time, bid: quote.bidPrice, ask: quote.askPrice, bidSize: quote.bidSize,
                    askSize: quote.askSize))
        case .bar(let bar):
            return bars.insert(
                BarKey(symbol: bar.symbol, start: bar.startTimeNs, end: bar.endTimeNs, close: bar.close, volume: bar.volume))
        }
    }
}
