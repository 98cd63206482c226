import Foundation
import Timekeeping

/// Maps a UTC instant to its exchange-local calendar day, for indicators that reset each
/// session (session VWAP). Caches the current day's bounds, so the common case is two
/// comparisons.
public struct SessionDay: Sendable {
    public let timeZone: TimeZone
    private var dayStart = Int64.max
    private var dayEnd = Int64.min
    private var key = 0

    public init(timeZone: TimeZone) {
        self.timeZone = timeZone
    }

    /// A key that changes exactly when the exchange-local date changes. A time outside
    /// ``BarTime``'s range is taken as that range's nearest end (never a trap).
    public mutating func key(for timeNs: Int64) -> Int {
        if timeNs >= dayStart && timeNs < dayEnd { return key }
        let time = BarTime.clamped(timeNs)
        let seconds = Nanoseconds.floorDivide(time, Nanoseconds.perSecond) ?? 0
        let offset = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds))))
        // Within BarTime's range none of this can overflow; the helpers make sure of it.
        let localDay = Nanoseconds.floorDivide(Nanoseconds.adding(seconds, offset), 86_400) ?? 0
        key = Int(localDay)
        // Bounds in UTC for the rest of this local day (an offset change mid-day only
        // makes the cache miss earlier or later by the DST hour, never give a wrong key
        // beyond a recomputation).
        let dayStartSeconds = Nanoseconds.subtracting(Nanoseconds.multiplying(localDay, 86_400), offset)
        dayStart = Nanoseconds.multiplying(dayStartSeconds, Nanoseconds.perSecond)
        dayEnd = Nanoseconds.adding(dayStart, Nanoseconds.perDay)
        if !(timeNs >= dayStart && timeNs < dayEnd) {
            // Outside the range (or an odd offset): cache just this instant.
            dayStart = timeNs
            dayEnd = Nanoseconds.adding(timeNs, 1)
        }
        return key
    }
}
