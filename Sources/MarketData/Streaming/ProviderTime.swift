import Timekeeping

/// Exact conversions of the providers' time formats to UTC nanoseconds since the Unix epoch.
/// Every conversion is total: a value outside what `Int64` nanoseconds hold (before 1677 or
/// after 2262) gives `nil`, never a trap.
public enum ProviderTime {
    /// Unix milliseconds → nanoseconds; `nil` if not positive or out of range.
    public static func nanoseconds(milliseconds: Int64) -> Int64? {
        guard milliseconds > 0 else { return nil }
        return Nanoseconds.checkedMilliseconds(milliseconds)
    }

    /// An RFC 3339 / ISO 8601 date-time with a time zone → UTC nanoseconds, exactly.
    ///
    /// Accepts `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1 to 9 digits (more are cut to
    /// nanoseconds), then `Z` or `±HH:MM` (also `±HHMM`). `t`/`z` may be lower case; with
    /// `allowSpace` a space may separate date and time. A time without a zone is ambiguous
    /// and gives `nil`, as does anything out of range (month 13, 24:00, leap second 60, a
    /// year after 2262).
    public static func nanoseconds(rfc3339 text: String, allowSpace: Bool = false) -> Int64? {
        guard let (seconds, fraction) = seconds(rfc3339: text, allowSpace: allowSpace),
            let scaled = Nanoseconds.checkedSeconds(seconds)
        else { return nil }
        return Nanoseconds.checkedAdding(scaled, fraction)
    }

    /// Whether `text` is a well-formed RFC 3339 time (whether or not nanoseconds can hold it).
    public static func looksLikeRFC3339(_ text: String, allowSpace: Bool = false) -> Bool {
        seconds(rfc3339: text, allowSpace: allowSpace) != nil
    }

    /// An RFC 3339 time as whole UTC seconds since the epoch and nanoseconds (years 0000 to
    /// 9999, so this never overflows); see ``nanoseconds(rfc3339:allowSpace:)``.
    static func seconds(rfc3339 text: String, allowSpace: Bool) -> (seconds: Int64, nanoseconds: Int64)? {
        var scanner = Scanner(Array(text.utf8))
        guard let year = scanner.digits(4), scanner.skip("-"), let month = scanner.digits(2), scanner.skip("-"),
            let day = scanner.digits(2)
        else { return nil }
        guard scanner.skip("T") || scanner.skip("t") || (allowSpace && scanner.skip(" ")) else { return nil }
        guard let hour = scanner.digits(2), scanner.skip(":"), let minute = scanner.digits(2), scanner.skip(":"),
            let second = scanner.digits(2)
        else { return nil }
        var fraction: Int64 = 0
        if scanner.skip(".") || scanner.skip(",") {
            var count = 0
            while let digit = scanner.digit() {
                if count < 9 { fraction = fraction * 10 + Int64(digit) }
                count += 1
            }
            guard count > 0 else { return nil }
            if count < 9 {
                for _ in count..<9 { fraction *= 10 }
            }
        }
        var offsetSeconds: Int64 = 0
        if scanner.skip("Z") || scanner.skip("z") {
            offsetSeconds = 0
        } else if let sign = scanner.sign() {
            guard let offsetHours = scanner.digits(2) else { return nil }
            _ = scanner.skip(":")
            guard let offsetMinutes = scanner.digits(2), offsetHours < 24, offsetMinutes < 60 else { return nil }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return nil
        }
        guard scanner.atEnd else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month), hour < 24,
            minute < 60, second < 60
        else { return nil }
        // Four-digit years: |days| < 4e6, so none of this can overflow.
        let days = daysFromCivil(year: year, month: month, day: day)
        return (days * 86_400 + hour * 3_600 + minute * 60 + second - offsetSeconds, fraction)
    }

    /// An epoch number whose unit is told by its size: below 1e11 seconds (up to the year 5138),
    /// below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds. The ranges do not
    /// overlap for any time after 1973-03-03 (the first 1e11 ms), which is what makes them
    /// unambiguous. `nil` for zero, negative or non-finite values and for times after 2262.
    public static func nanoseconds(epoch value: Double) -> Int64? {
        guard value.isFinite, value > 0 else { return nil }
        // Whole units exactly, the fraction rounded to the nanosecond.
        let whole = value.rounded(.down)
        let scale: Int64
        switch value {
        case ..<1e11: scale = Nanoseconds.perSecond
        case ..<1e14: scale = Nanoseconds.perMillisecond
        case ..<1e17: scale = Nanoseconds.perMicrosecond
        default: scale = 1
        }
        guard whole < 9_223_372_036_854_775_808.0,
            let base = Nanoseconds.checkedMultiplying(Int64(whole), scale)
        else { return nil }
        return Nanoseconds.checkedAdding(base, Nanoseconds.clamping((value - whole) * Double(scale)))
    }

    /// An integer epoch (same size rule as ``nanoseconds(epoch:)-(Double)``), exactly.
    public static func nanoseconds(epoch value: Int64) -> Int64? {
        guard value > 0 else { return nil }
        let scale: Int64
        switch value {
        case ..<100_000_000_000: scale = 1_000_000_000
        case ..<100_000_000_000_000: scale = 1_000_000
        case ..<100_000_000_000_000_000: scale = 1_000
        default: scale = 1
        }
        return Nanoseconds.checkedMultiplying(value, scale)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index == bytes.count }

        mutating func skip(_ character: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        mutating func digit() -> Int? {
            guard index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") else {
                return nil
            }
            defer { index += 1 }
            return Int(bytes[index] - UInt8(ascii: "0"))
        }

        mutating func digits(_ count: Int) -> Int64? {
            var value: Int64 = 0
            for _ in 0..<count {
                guard let digit = digit() else { return nil }
                value = value * 10 + Int64(digit)
            }
            return value
        }

        mutating func sign() -> Int64? {
            if skip("+") { return 1 }
            if skip("-") { return -1 }
            return nil
        }
    }
}
