import Contracts
import Indicators
import Timekeeping

/// Why a bar from outside (a provider's `bar.<SYMBOL>`, a history reply) was refused.
public enum BarProblem: String, Sendable, CaseIterable {
    /// The start or the end lies outside ``BarTime``'s range (1800 to 2200).
    case timeRange = "time_range"
    /// The end is not after the start, or the bar is longer than `BarTime.maxIntervalNs`.
    case span = "bar_span"
    /// A price is not finite or its magnitude exceeds `BarsCSV.maxPrice`, or high < low.
    case price = "bar_price"
    /// The volume is negative, not finite, or above `BarsCSV.maxVolume`.
    case volume = "bar_volume"

    /// The name of its counter: `rejected.time_range`, `rejected.bar_span`, ….
    public var counterName: String { "rejected." + rawValue }
}

extension Bar {
    /// What is wrong with this bar, or nil when the indicators can take it. The same bounds
    /// as a bar file's (``BarsCSV``), so live and offline bars obey one rule.
    public var problem: BarProblem? {
        guard BarTime.isSupported(startTimeNs), BarTime.isSupported(endTimeNs) else { return .timeRange }
        // Both in range: the difference cannot overflow.
        guard endTimeNs > startTimeNs, endTimeNs - startTimeNs <= BarTime.maxIntervalNs else { return .span }
        for price in [open, high, low, close] where !(price.isFinite && abs(price) <= BarsCSV.maxPrice) {
            return .price
        }
        guard high >= low else { return .price }
        guard volume.isFinite, volume >= 0, volume <= BarsCSV.maxVolume else { return .volume }
        return nil
    }
}
