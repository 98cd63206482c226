import Timekeeping

/// The instants and lengths bars may have.
///
/// Bus instants are `Int64` nanoseconds, which end in 1677 and 2262; a time near those ends
/// overflows as soon as a bar length or a UTC offset is added. Bars, bar files and the
/// session calendar therefore accept only times from 1800-01-01 to 2200-01-01 (UTC), which
/// leaves decades of room on both sides, and bar lengths up to 366 days. Everything outside
/// is refused where it enters (a bar file line, a trade, a provider bar), and the types
/// below clamp it rather than trap if it gets through.
public enum BarTime {
    /// 1800-01-01T00:00:00Z.
    public static let earliest: Int64 = -5_364_662_400 * Nanoseconds.perSecond
    /// 2200-01-01T00:00:00Z.
    public static let latest: Int64 = 7_258_118_400 * Nanoseconds.perSecond
    /// The longest bar: 366 days (a year of daily data in one bar, a leap year included).
    public static let maxIntervalNs: Int64 = 366 * Nanoseconds.perDay

    /// Whether `instant` lies in `earliest...latest`.
    @inlinable
    public static func isSupported(_ instant: Int64) -> Bool { instant >= earliest && instant <= latest }

    /// `instant` moved into `earliest...latest`.
    @inlinable
    public static func clamped(_ instant: Int64) -> Int64 { min(max(instant, earliest), latest) }

    /// `intervalNs` moved into `1...maxIntervalNs`.
    @inlinable
    public static func clampedInterval(_ intervalNs: Int64) -> Int64 { min(max(intervalNs, 1), maxIntervalNs) }

    /// What the supported range is, for error messages.
    public static let rangeDescription = "1800-01-01 to 2200-01-01 UTC"
}
