import Contracts
import Timekeeping

/// Why one provider message (or replay row) was dropped; the raw value names the ingestor's
/// counter `rejected.<reason>`. These are checked where provider data enters; the bus
/// boundary's ``Contracts/RejectReason`` checks what arrives on the bus.
public enum ProviderRejectReason: String, Sendable, Hashable, CaseIterable {
    /// Not readable: not JSON, a missing field, a field of the wrong type.
    case malformed
    /// A time that is not a number of nanoseconds from 1900 to 2200, or a bar that ends
    /// before it starts.
    case timeRange = "time_range"
    /// A live provider's time too far ahead of the ingestor's clock (`ingestor.max_future_seconds`).
    case timeFuture = "time_future"
    /// A price that is not finite, not positive (trades, bars), negative (bid, ask) or above
    /// ``MarketLimits/maximumPrice``; a bar whose high is below its low.
    case priceRange = "price_range"
    /// A size, volume or trade count that is not finite, negative or above ``MarketLimits/maximumSize``.
    case sizeRange = "size_range"
    /// A text field (trade id, exchange, conditions) longer than ``MarketLimits`` allows.
    case fieldLength = "field_length"
    /// A symbol that is not a valid topic key.
    case invalidSymbol = "invalid_symbol"
    /// A symbol the ingestor did not subscribe to.
    case unsubscribedSymbol = "unsubscribed_symbol"
    /// A new symbol when ``MarketLimits/maximumSymbols`` are already being published.
    case symbolLimit = "symbol_limit"
    /// A WebSocket message above `ingestor.max_message_bytes`, sent in smaller frames (it is
    /// skipped without being kept; a single frame above the limit closes the connection instead).
    case frameTooLarge = "frame_too_large"

    /// The heartbeat counter, e.g. `rejected.time_range`.
    public var counterName: String { "rejected.\(rawValue)" }
}

/// The plausible range of every number a provider sends, checked where it enters (parsers,
/// replay rows) and once more before anything is published.
///
/// Prices must be positive: every provider here serves stocks, ETFs or crypto, and the
/// processor's features divide by prices and take logarithms of their ratios. Instruments
/// that trade through zero (calendar spreads, some futures) are not supported. A quote side
/// may be 0 (empty book side).
public enum MarketLimits {
    /// The highest price accepted (no listed instrument comes near it; the largest stock
    /// prices are in the 10^5–10^6 range).
    public static let maximumPrice = 1e9
    /// The largest size, volume or trade count accepted (a day's volume of the most traded
    /// stocks is about 10^9 shares).
    public static let maximumSize = 1e12
    /// The earliest event time accepted: 1900-01-01T00:00:00Z.
    public static let earliestTime: Int64 = -2_208_988_800 * Nanoseconds.perSecond
    /// The latest event time accepted: 2200-01-01T00:00:00Z (the nanosecond range ends in
    /// 2262; the margin keeps bar ends and replay loops representable).
    public static let latestTime: Int64 = 7_258_118_400 * Nanoseconds.perSecond
    /// The longest trade id, exchange code and condition code, in UTF-8 bytes.
    public static let maximumTextLength = 64
    /// The most condition codes on one trade.
    public static let maximumConditions = 32
    /// The most distinct symbols one ingestor publishes when it plays whatever its source
    /// holds (a replay with the default tickers); further symbols are rejected (`symbol_limit`).
    public static let maximumSymbols = 10_000

    /// Whether `time` is an event time the ingestor accepts.
    public static func isPlausible(time: Int64) -> Bool { time >= earliestTime && time < latestTime }

    /// A trade or bar price: finite, above 0, at most ``maximumPrice``.
    public static func isPrice(_ value: Double) -> Bool { value.isFinite && value > 0 && value <= maximumPrice }

    /// A bid or ask: finite, 0 (an empty side) up to ``maximumPrice``.
    public static func isQuotePrice(_ value: Double) -> Bool { value.isFinite && value >= 0 && value <= maximumPrice }

    /// A size, volume or count: finite, 0 up to ``maximumSize``.
    public static func isSize(_ value: Double) -> Bool { value.isFinite && value >= 0 && value <= maximumSize }

    static func isShortText(_ text: String) -> Bool { text.utf8.count <= maximumTextLength }

    /// Why `event` must not be published, or nil when every field is in range. `symbol`
    /// validity is checked by the caller (it owns the topic cache).
    public static func rejection(of event: MarketEvent) -> ProviderRejectReason? {
        switch event {
        case .trade(let trade, let time):
            guard isPlausible(time: time) else { return .timeRange }
            guard isPrice(trade.price) else { return .priceRange }
            guard isSize(trade.size) else { return .sizeRange }
            guard isShortText(trade.tradeID), isShortText(trade.exchange), trade.conditions.count <= maximumConditions,
                trade.conditions.allSatisfy(isShortText)
            else { return .fieldLength }
        case .quote(let quote, let time):
            guard isPlausible(time: time) else { return .timeRange }
            guard isQuotePrice(quote.bidPrice), isQuotePrice(quote.askPrice) else { return .priceRange }
            guard isSize(quote.bidSize), isSize(quote.askSize) else { return .sizeRange }
            guard isShortText(quote.bidExchange), isShortText(quote.askExchange) else { return .fieldLength }
        case .bar(let bar):
            guard isPlausible(time: bar.startTimeNs), isPlausible(time: bar.endTimeNs), bar.endTimeNs > bar.startTimeNs
            else { return .timeRange }
            guard isPrice(bar.open), isPrice(bar.high), isPrice(bar.low), isPrice(bar.close), bar.low <= bar.high,
                bar.vwap == 0 || isPrice(bar.vwap)
            else { return .priceRange }
            guard isSize(bar.volume), Double(bar.tradeCount) <= maximumSize else { return .sizeRange }
        }
        return nil
    }
}
