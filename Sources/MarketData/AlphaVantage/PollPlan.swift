import Foundation

/// What the Alpha Vantage provider will request, and whether that fits the budget.
///
/// ## The schedule
/// - At start (when `ingestor.backfill`): one `TIME_SERIES_INTRADAY` (1min, compact) per
///   symbol, once per provider instance (a retry backfills only the symbols still missing).
/// - Then cycles, one every `update_interval` seconds (a cycle that took longer because the
///   budget spaced its requests starts the next one at once):
///   1. one `GLOBAL_QUOTE` per symbol;
///   2. with what the budget leaves over in the cycle, `TIME_SERIES_INTRADAY` for live bars:
///      `slots = ⌊update_interval / interval⌋` requests fit in one cycle; the quotes take
///      `symbols` of them and up to `symbols` of the rest go to intraday polls, round robin
///      (with 2 spare slots and 5 symbols each symbol's bars are fetched every 3rd cycle;
///      nothing is lost while that is under 100 minutes: a compact series holds 100 bars).
/// - Every request waits for the ``RequestBudget``, so a plan that does not fit still never
///   exceeds the limits: it just runs slower than `update_interval`, and the start-up
///   warning says by how much and what would fit.
public struct PollPlan: Sendable, Equatable, CustomStringConvertible {
    public var symbols: Int
    /// Seconds between cycles as configured.
    public var updateInterval: Double
    public var requestsPerMinute: Double
    public var requestsPerDay: Double
    /// The budget's spacing of two requests, seconds.
    public var requestInterval: Double
    /// Requests the budget allows per cycle.
    public var slotsPerCycle: Int
    /// `GLOBAL_QUOTE` requests per cycle (one per symbol).
    public var quotesPerCycle: Int
    /// Live `TIME_SERIES_INTRADAY` polls per cycle (round robin over the symbols).
    public var intradayPerCycle: Int
    /// One-off requests at start.
    public var backfillRequests: Int
    /// What the quotes alone need at `update_interval`.
    public var neededPerMinute: Double
    public var neededPerDay: Double
    /// The smallest `update_interval` (seconds) at which the quotes fit the budget.
    public var minimumUpdateInterval: Double
    /// How often each symbol is actually quoted (seconds): `update_interval`, or longer when
    /// the budget is the limit.
    public var effectiveQuoteInterval: Double

    public init(
        symbols: Int, updateInterval: Double, requestsPerMinute: Double, requestsPerDay: Double, backfill: Bool
    ) {
        self.symbols = symbols
        self.updateInterval = updateInterval
        self.requestsPerMinute = requestsPerMinute
        self.requestsPerDay = requestsPerDay
        let interval = RequestBudget<ContinuousClock>.intervalSeconds(
            requestsPerMinute: requestsPerMinute, requestsPerDay: requestsPerDay)
        requestInterval = interval
        // A hair of tolerance so that 60 / 12 counts as exactly 5 slots.
        let slots = interval > 0 ? (updateInterval / interval * (1 + 1e-9)).rounded(.down) : Double(Int.max / 4)
        slotsPerCycle = Int(min(slots, Double(Int.max / 4)))
        quotesPerCycle = symbols
        intradayPerCycle = min(symbols, max(0, slotsPerCycle - symbols))
        backfillRequests = backfill ? symbols : 0
        neededPerMinute = Double(symbols) * 60 / updateInterval
        neededPerDay = Double(symbols) * 86_400 / updateInterval
        minimumUpdateInterval = Double(symbols) * interval
        effectiveQuoteInterval = max(updateInterval, minimumUpdateInterval)
    }

    /// True when one quote per symbol every `update_interval` fits the budget.
    public var fits: Bool { slotsPerCycle >= quotesPerCycle }

    /// The start-up warning when the plan does not fit, nil when it does.
    public var warning: String? {
        guard !fits else { return nil }
        let tickers = symbols == 1 ? "1 ticker" : "\(symbols) tickers"
        var text = "alphavantage: the polling plan does not fit the request budget. "
        text += "\(tickers) × 1 GLOBAL_QUOTE every \(Self.format(updateInterval)) s needs "
        text += "\(Self.format(neededPerMinute)) requests/min and \(Self.format(neededPerDay)) requests/day"
        if backfillRequests > 0 { text += " (plus \(backfillRequests) backfill requests at start)" }
        text += ", but the budget (rate_limit) allows \(Self.format(requestsPerMinute))/min and "
        text += "\(Self.format(requestsPerDay))/day, i.e. one request every \(Self.format(requestInterval)) s. "
        text += "Requests stay within the budget, so each ticker will be quoted only every "
        text += "\(Self.format(effectiveQuoteInterval)) s and no live intraday bars will be polled. "
        text += "To fit, set update_interval to at least \(Self.format(minimumUpdateInterval)) s, "
        text += "follow fewer tickers, or raise rate_limit if your key allows more."
        return text
    }

    public var description: String {
        var text = "\(symbols) × GLOBAL_QUOTE"
        if intradayPerCycle > 0 { text += " + \(intradayPerCycle) × TIME_SERIES_INTRADAY" }
        text += " every \(Self.format(updateInterval)) s; budget one request every \(Self.format(requestInterval)) s"
        text += " (\(Self.format(requestsPerMinute))/min, \(Self.format(requestsPerDay))/day)"
        text += fits ? ", fits" : ", does not fit (quotes every \(Self.format(effectiveQuoteInterval)) s)"
        if backfillRequests > 0 { text += "; \(backfillRequests) backfill requests at start" }
        return text
    }

    /// Whole numbers without decimals, others with up to 2.
    static func format(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
