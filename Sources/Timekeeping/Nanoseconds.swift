/// Instants and durations as the bus carries them: `Int64` nanoseconds (instants count from
/// 1970-01-01T00:00:00Z, so they span the years 1677 to 2262).
///
/// Every function here is total: arithmetic saturates at `Int64.min`/`Int64.max` or, in the
/// `checked…` forms, returns `nil`; conversions from `Double` refuse NaN, infinities and
/// values out of range. Code that handles times from outside (frames, provider payloads,
/// files, settings) uses these instead of `+`, `*` and `Int64(_:)`, which trap on overflow.
public enum Nanoseconds {
    public static let perMicrosecond: Int64 = 1_000
    public static let perMillisecond: Int64 = 1_000_000
    public static let perSecond: Int64 = 1_000_000_000
    public static let perMinute: Int64 = 60 * perSecond
    public static let perHour: Int64 = 3_600 * perSecond
    public static let perDay: Int64 = 86_400 * perSecond

    // MARK: Saturating arithmetic

    /// `a + b`, clamped to `Int64`'s range.
    @inlinable
    public static func adding(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard overflow else { return sum }
        return b > 0 ? .max : .min
    }

    /// `a - b`, clamped to `Int64`'s range.
    @inlinable
    public static func subtracting(_ a: Int64, _ b: Int64) -> Int64 {
        let (difference, overflow) = a.subtractingReportingOverflow(b)
        guard overflow else { return difference }
        return b < 0 ? .max : .min
    }

    /// `a * b`, clamped to `Int64`'s range.
    @inlinable
    public static func multiplying(_ a: Int64, _ b: Int64) -> Int64 {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        guard overflow else { return product }
        return (a < 0) == (b < 0) ? .max : .min
    }

    // MARK: Checked arithmetic

    /// `a + b`, or `nil` when it does not fit.
    @inlinable
    public static func checkedAdding(_ a: Int64, _ b: Int64) -> Int64? {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : sum
    }

    /// `a - b`, or `nil` when it does not fit.
    @inlinable
    public static func checkedSubtracting(_ a: Int64, _ b: Int64) -> Int64? {
        let (difference, overflow) = a.subtractingReportingOverflow(b)
        return overflow ? nil : difference
    }

    /// `a * b`, or `nil` when it does not fit.
    @inlinable
    public static func checkedMultiplying(_ a: Int64, _ b: Int64) -> Int64? {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : product
    }

    // MARK: Units

    /// `seconds` (fractions allowed) in nanoseconds, rounded to the nearest; `nil` when not
    /// finite or outside the instant range (about ±292 years).
    public static func checkedSeconds(_ seconds: Double) -> Int64? {
        checkedScaling(seconds, by: 1e9)
    }

    /// `milliseconds` (fractions allowed) in nanoseconds; `nil` when not finite or out of range.
    public static func checkedMilliseconds(_ milliseconds: Double) -> Int64? {
        checkedScaling(milliseconds, by: 1e6)
    }

    /// `microseconds` (fractions allowed) in nanoseconds; `nil` when not finite or out of range.
    public static func checkedMicroseconds(_ microseconds: Double) -> Int64? {
        checkedScaling(microseconds, by: 1e3)
    }

    /// Whole `seconds` in nanoseconds, or `nil` when it does not fit.
    @inlinable
    public static func checkedSeconds(_ seconds: Int64) -> Int64? { checkedMultiplying(seconds, perSecond) }

    /// Whole `milliseconds` in nanoseconds, or `nil` when it does not fit.
    @inlinable
    public static func checkedMilliseconds(_ milliseconds: Int64) -> Int64? {
        checkedMultiplying(milliseconds, perMillisecond)
    }

    /// Whole `microseconds` in nanoseconds, or `nil` when it does not fit.
    @inlinable
    public static func checkedMicroseconds(_ microseconds: Int64) -> Int64? {
        checkedMultiplying(microseconds, perMicrosecond)
    }

    /// `seconds` in nanoseconds, clamped to `Int64`'s range; NaN is 0.
    public static func clampingSeconds(_ seconds: Double) -> Int64 {
        clamping(seconds * 1e9)
    }

    /// `value` rounded to the nearest integer and clamped to `Int64`'s range; NaN is 0.
    public static func clamping(_ value: Double) -> Int64 {
        guard !value.isNaN else { return 0 }
        // 2^63 is exactly representable; anything at or above it does not fit.
        if value >= 9_223_372_036_854_775_808.0 { return .max }
        if value < -9_223_372_036_854_775_808.0 { return .min }
        return Int64(value.rounded())
    }

    /// `nanoseconds` as seconds.
    @inlinable
    public static func seconds(_ nanoseconds: Int64) -> Double { Double(nanoseconds) / 1e9 }

    // MARK: Duration

    /// `duration` in nanoseconds, clamped to `Int64`'s range.
    public static func of(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return adding(multiplying(seconds, perSecond), attoseconds / 1_000_000_000)
    }

    /// `nanoseconds` as a `Duration`.
    @inlinable
    public static func duration(_ nanoseconds: Int64) -> Duration { .nanoseconds(nanoseconds) }

    /// `seconds` as a `Duration`, clamped to what nanoseconds can hold; NaN and negatives are 0.
    public static func duration(seconds: Double) -> Duration {
        guard seconds > 0 else { return .zero }
        return .nanoseconds(clampingSeconds(seconds))
    }

    /// `duration` in whole milliseconds, rounded up, clamped to `0...Int32.max` (what
    /// `poll` and socket timeouts take).
    public static func timeoutMilliseconds(_ duration: Duration) -> Int {
        let nanoseconds = of(duration)
        guard nanoseconds > 0 else { return 0 }
        let milliseconds = nanoseconds / perMillisecond + (nanoseconds % perMillisecond == 0 ? 0 : 1)
        return Int(min(milliseconds, Int64(Int32.max)))
    }

    // MARK: Alignment

    /// The largest multiple of `interval` at or below `instant` (floor, also for negatives);
    /// `nil` when `interval` is not positive or the multiple is below `Int64.min`.
    public static func floor(_ instant: Int64, toMultipleOf interval: Int64) -> Int64? {
        guard interval > 0 else { return nil }
        let remainder = instant % interval
        guard remainder < 0 else { return instant - remainder }
        return checkedSubtracting(instant - remainder, interval)
    }

    /// `a / b` rounded towards negative infinity; `nil` when `b` is 0 or the quotient overflows.
    public static func floorDivide(_ a: Int64, _ b: Int64) -> Int64? {
        guard b != 0, !(a == .min && b == -1) else { return nil }
        let quotient = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
    }

    private static func checkedScaling(_ value: Double, by factor: Double) -> Int64? {
        guard value.isFinite else { return nil }
        let scaled = (value * factor).rounded()
        guard scaled >= -9_223_372_036_854_775_808.0, scaled < 9_223_372_036_854_775_808.0 else { return nil }
        return Int64(scaled)
    }
}
