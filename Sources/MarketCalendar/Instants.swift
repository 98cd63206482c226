import Foundation

/// Instants as Tickwire's bus carries them — `Int64` nanoseconds since 1970-01-01T00:00:00Z —
/// and their conversions to `Date`, exchange-local dates and ISO 8601 text.
public enum Instants {
    public static let nanosecondsPerSecond: Int64 = 1_000_000_000

    /// `date` as UTC nanoseconds, rounded down (exact for whole seconds; a `Date` holds about
    /// microsecond precision in this era).
    public static func nanoseconds(_ date: Date) -> Int64 {
        let interval = date.timeIntervalSince1970
        let seconds = interval.rounded(.down)
        let fraction = Int64(((interval - seconds) * 1e9).rounded(.down))
        return Int64(seconds) * nanosecondsPerSecond + fraction
    }

    /// UTC `nanoseconds` as a `Date` (to `Date`'s precision).
    public static func date(_ nanoseconds: Int64) -> Date {
        let (seconds, fraction) = split(nanoseconds)
        return Date(timeIntervalSince1970: Double(seconds) + Double(fraction) / 1e9)
    }

    /// `nanoseconds` as ISO 8601 / RFC 3339 local time in `timeZone` with its UTC offset, e.g.
    /// "2024-03-14T09:30:00-04:00" (UTC prints "+00:00"). Fractional seconds appear only when
    /// not zero, as 3, 6 or 9 digits.
    public static func iso8601(_ nanoseconds: Int64, in timeZone: TimeZone) -> String {
        let (seconds, fraction) = split(nanoseconds)
        let offset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds)))
        let local = seconds + Int64(offset)
        let days = floorDivide(local, 86_400)
        let secondOfDay = Int(local - days * 86_400)
        let date = LocalDate(daysSinceEpoch: Int(days))
        var text = "\(date)T\(pad(secondOfDay / 3600)):\(pad(secondOfDay / 60 % 60)):\(pad(secondOfDay % 60))"
        if fraction != 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 9 - digits.count) + digits
            while digits.count > 3 && digits.hasSuffix("000") { digits.removeLast(3) }
            text += "." + digits
        }
        let sign = offset < 0 ? "-" : "+"
        let magnitude = abs(offset)
        text += "\(sign)\(pad(magnitude / 3600)):\(pad(magnitude / 60 % 60))"
        if magnitude % 60 != 0 { text += ":\(pad(magnitude % 60))" }
        return text
    }

    /// `date` as ISO 8601 local time in `timeZone` with its UTC offset (see the `Int64` form).
    public static func iso8601(_ date: Date, in timeZone: TimeZone) -> String {
        iso8601(nanoseconds(date), in: timeZone)
    }

    /// Whole seconds (rounded down) and the nanoseconds past them (0..<1e9).
    static func split(_ nanoseconds: Int64) -> (seconds: Int64, fraction: Int64) {
        let seconds = floorDivide(nanoseconds, nanosecondsPerSecond)
        return (seconds, nanoseconds - seconds * nanosecondsPerSecond)
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    private static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
