import Foundation

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

    /// A key that changes exactly when the exchange-local date changes.
    public mutating func key(for timeNs: Int64) -> Int {
        if timeNs >= dayStart && timeNs < dayEnd { return key }
        let seconds = Double(timeNs) / 1e9
        let date = Date(timeIntervalSince1970: seconds)
        let offset = Int64(timeZone.secondsFromGMT(for: date))
        let localSeconds = Int64(seconds.rounded(.down)) + offset
        let localDay = localSeconds >= 0 ? localSeconds / 86_400 : (localSeconds - 86_399) / 86_400
        key = Int(localDay)
        // Bounds in UTC for the rest of this local day (an offset change mid-day only
        // makes the cache miss earlier or later by the DST hour, never give a wrong key
        // beyond a recomputation).
        dayStart = (localDay * 86_400 - offset) * 1_000_000_000
        dayEnd = dayStart + 86_400 * 1_000_000_000
        if !(timeNs >= dayStart && timeNs < dayEnd) { dayStart = timeNs; dayEnd = timeNs + 1 }
        return key
    }
}
