import Foundation

/// How a backtest fills, sizes and exits, and what it reports. Every rule is written down
/// here, so a result can be reproduced by hand or by another tool.
///
/// - Entries and exits on a signal or a time exit fill at the bar's close (``Fill/close``)
///   or at the next bar's open (``Fill/nextOpen``, the default: a decision made after a
///   close cannot trade at that close).
/// - Every fill pays `slippage` (a fraction of the price, against the trader) and
///   `commission` (a fraction of the traded value), on each side.
/// - A stop fills at its trigger price plus slippage; when the bar opens beyond it (a gap),
///   at the open plus slippage. Never at the bar's extreme.
/// - A target is a limit: it fills at its price, or at the open when the bar opens beyond it.
/// - When a stop and a target both fall inside one bar, the stop is taken (the order of
///   prices inside a bar is unknown; the rule that cannot flatter is chosen).
/// - A BUY signal opens a long position, first closing a short one; a SELL closes a long one
///   and opens a short one (with `longOnly`, it only closes). A signal in the direction of
///   the open position, and HOLD, change nothing.
public struct BacktestSettings: Sendable, Equatable {
    /// Where signal fills happen.
    public enum Fill: String, Sendable, CaseIterable {
        /// The close of the bar the decision was made on.
        case close
        /// The open of the next bar.
        case nextOpen = "next_open"
    }

    /// The account's starting cash (each ticker has an account of its own with this much).
    public var capital: Double = 100_000
    /// A fraction of the traded value paid on every fill, e.g. 0.0005 for 5 basis points.
    public var commission: Double = 0.0005
    /// A fraction of the price lost on every fill, e.g. 0.0005.
    public var slippage: Double = 0.0005
    public var fill: Fill = .nextOpen
    /// Below it, BUY and SELL become HOLD (the signal generator's `signal_threshold`).
    public var threshold: Double = 0.5
    /// The fraction of equity at risk at the stop (the signal sizing's `risk_per_trade`).
    public var riskPerTrade: Double = 0.01
    /// The stop distance in ATRs (`atr_stop_multiple`).
    public var atrStopMultiple: Double = 2
    /// The largest position as a fraction of equity (`max_position_fraction`).
    public var maxPositionFraction: Double = 1
    /// When above 0, every position is this fraction of equity instead of the risk-based size,
    /// sized at the fill: equity × fraction / (fill price × (1 + commission)) shares (rounded
    /// down with `wholeShares`), as backtesting.py sizes `size=<fraction>`; never more than
    /// the account can pay for.
    public var positionFraction: Double = 0
    /// Trade whole shares only (rounded down), as most brokers and backtesting.py do.
    public var wholeShares = false
    /// Place the signal's ATR stop (and a target, with `takeProfit`).
    public var useStops = true
    /// A target `takeProfit` times the stop distance away; 0 for none.
    public var takeProfit: Double = 0
    /// Close a position after this many bars; 0 keeps it until a stop, a target or an
    /// opposite signal.
    public var holdBars = 0
    /// SELL only closes a long position; never short.
    public var longOnly = false
    /// The first and last bar times traded (bars before `from` still warm the indicators up).
    public var from: Date?
    public var to: Date?
    /// Bootstrap resamples for every confidence interval.
    public var bootstrapResamples = 2_000
    /// The confidence level of the intervals, e.g. 0.95.
    public var confidenceLevel = 0.95
    /// Seeds the bootstrap and the lookahead check's cut points.
    public var seed: UInt64 = 20_240_601

    public init() {}

    /// Range errors, each naming the option.
    public func validate() throws(BacktestError) {
        func check(_ ok: Bool, _ option: String, _ message: String) throws(BacktestError) {
            if !ok { throw BacktestError("--\(option): \(message)") }
        }
        try check(capital.isFinite && capital > 0 && capital <= 1e15, "capital", "\(capital) must be a positive amount up to 1e15")
        try check(commission.isFinite && (0..<0.5).contains(commission), "commission", "\(commission) must be a fraction from 0 to 0.5")
        try check(slippage.isFinite && (0..<0.5).contains(slippage), "slippage", "\(slippage) must be a fraction from 0 to 0.5")
        try check(threshold.isFinite && (0...1).contains(threshold), "threshold", "\(threshold) must be from 0 to 1")
        try check(riskPerTrade.isFinite && riskPerTrade > 0 && riskPerTrade <= 1, "risk-per-trade", "\(riskPerTrade) must be in (0, 1]")
        try check(atrStopMultiple.isFinite && atrStopMultiple > 0 && atrStopMultiple <= 100, "atr-stop", "\(atrStopMultiple) must be in (0, 100]")
        try check(maxPositionFraction.isFinite && maxPositionFraction > 0 && maxPositionFraction <= 10, "max-position", "\(maxPositionFraction) must be in (0, 10]")
        try check(positionFraction.isFinite && positionFraction >= 0 && positionFraction <= 10, "position-size", "\(positionFraction) must be from 0 to 10")
        try check(takeProfit.isFinite && takeProfit >= 0 && takeProfit <= 1_000, "take-profit", "\(takeProfit) must be from 0 to 1000")
        try check((0...1_000_000).contains(holdBars), "hold-bars", "\(holdBars) must be from 0 to 1000000")
        try check((100...100_000).contains(bootstrapResamples), "bootstrap", "\(bootstrapResamples) must be from 100 to 100000")
        try check(confidenceLevel.isFinite && confidenceLevel >= 0.5 && confidenceLevel < 1, "confidence", "\(confidenceLevel) must be in [0.5, 1)")
        if let from, let to { try check(from <= to, "from", "is after --to") }
    }
}

/// A backtest that cannot run, with what to fix.
public struct BacktestError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
