import Foundation
import Timekeeping

/// A timestamp as written in a replay file, before a time zone is applied. Seconds and
/// nanoseconds apart, so that no year a file can spell overflows before the range check.
enum ReplayTimestamp: Sendable, Equatable {
    /// An absolute instant: UTC seconds since the epoch plus nanoseconds (epoch numbers, or
    /// ISO-8601 with `Z` or an offset).
    case instant(seconds: Int64, nanoseconds: Int64)
    /// A wall-clock date and time without a zone: seconds since 1970-01-01T00:00 as if it
    /// were UTC, plus nanoseconds.
    case local(seconds: Int64, nanoseconds: Int64)
    /// A date without a time (`YYYY-MM-DD`), as days since 1970-01-01.
    case date(days: Int64)
}

/// Parses the timestamp forms replay files use. Pure and allocation-free apart from the
/// input string; the accepted forms are listed in docs/providers.md:
/// - epoch numbers: seconds below 1e11, milliseconds below 1e14, microseconds below 1e17,
///   nanoseconds above; a fraction is allowed (`1710430920.5`);
/// - `YYYY-MM-DD` (a daily bar);
/// - `YYYY-MM-DD[T or space]HH:MM[:SS[.fraction]]`, optionally followed (after an optional
///   space) by `Z`, `UTC`, `±HH:MM`, `±HHMM` or `±HH`.
enum ReplayTimeParser {
    static let nanosPerSecond: Int64 = 1_000_000_000

    static func parse(_ text: Substring) -> ReplayTimestamp? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return nil }
        if bytes.allSatisfy({ isDigit($0) || $0 == UInt8(ascii: ".") }) { return parseEpoch(bytes) }
        return parseCalendar(bytes)
    }

    /// Whether `text` looks like a bare time of day, `HH:MM` or `HH:MM:SS` (used to spot a
    /// time field the header does not name).
    static func isTimeOfDay(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 5 || bytes.count == 8 else { return false }
        for (index, byte) in bytes.enumerated() {
            if index == 2 || index == 5 {
                guard byte == UInt8(ascii: ":") else { return false }
            } else if !isDigit(byte) {
                return false
            }
        }
        return true
    }

    // MARK: Epoch numbers

    private static func parseEpoch(_ bytes: [UInt8]) -> ReplayTimestamp? {
        let dot = bytes.firstIndex(of: UInt8(ascii: "."))
        let integerDigits = bytes[..<(dot ?? bytes.count)]
        guard !integerDigits.isEmpty, integerDigits.count <= 19 else { return nil }
        var integer: Int64 = 0
        for byte in integerDigits {
            let (times, overflow1) = integer.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            integer = sum
        }
        var fraction: Double = 0
        if let dot {
            let digits = bytes[(dot + 1)...]
            guard !digits.isEmpty, !digits.contains(UInt8(ascii: ".")) else { return nil }
            var scale = 0.1
            for byte in digits.prefix(18) {
                fraction += Double(byte - UInt8(ascii: "0")) * scale
                scale /= 10
            }
        }
        // The unit follows from the size: 1e11 s is the year 5138, 1e11 ms is 1973.
        let unitsPerSecond: Int64
        switch integer {
        case ..<100_000_000_000: unitsPerSecond = 1
        case ..<100_000_000_000_000: unitsPerSecond = 1_000
        case ..<100_000_000_000_000_000: unitsPerSecond = 1_000_000
        default: unitsPerSecond = 1_000_000_000
        }
        let nanosPerUnit = nanosPerSecond / unitsPerSecond
        let nanos = (integer % unitsPerSecond) * nanosPerUnit + Int64((fraction * Double(nanosPerUnit)).rounded())
        return .instant(seconds: integer / unitsPerSecond, nanoseconds: nanos)
    }

    // MARK: Calendar forms

    private static func parseCalendar(_ bytes: [UInt8]) -> ReplayTimestamp? {
        var cursor = Cursor(bytes: bytes)
        guard let year = cursor.number(digits: 4), cursor.skip(UInt8(ascii: "-")),
            let month = cursor.number(digits: 2), cursor.skip(UInt8(ascii: "-")),
            let day = cursor.number(digits: 2)
        else { return nil }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day) else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        if cursor.atEnd { return .date(days: days) }
        guard cursor.skip(UInt8(ascii: "T")) || cursor.skip(UInt8(ascii: "t")) || cursor.skip(UInt8(ascii: " ")),
            let hour = cursor.number(digits: 2), cursor.skip(UInt8(ascii: ":")),
            let minute = cursor.number(digits: 2)
        else { return nil }
        var second: Int64 = 0
        var nanos: Int64 = 0
        if cursor.skip(UInt8(ascii: ":")) {
            guard let value = cursor.number(digits: 2) else { return nil }
            second = value
            if cursor.skip(UInt8(ascii: ".")) || cursor.skip(UInt8(ascii: ",")) {
                var digits = 0
                var scale: Int64 = 100_000_000
                while let byte = cursor.peek, isDigit(byte) {
                    if digits < 9 { nanos += Int64(byte - UInt8(ascii: "0")) * scale }
                    scale /= 10
                    digits += 1
                    cursor.advance()
                }
                guard digits > 0 else { return nil }
            }
        }
        guard hour < 24, minute < 60, second < 60 else { return nil }
        // Four-digit years: |local| < 3.2e11 s, far from overflowing.
        let local = days * 86_400 + hour * 3_600 + minute * 60 + second
        if cursor.atEnd { return .local(seconds: local, nanoseconds: nanos) }
        _ = cursor.skip(UInt8(ascii: " "))
        guard let offset = cursor.zoneOffset(), cursor.atEnd else { return nil }
        return .instant(seconds: local - offset, nanoseconds: nanos)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthIndex = (month + 9) % 12
        let dayOfYear = (153 * monthIndex + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private struct Cursor {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index == bytes.count }
        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }
        mutating func advance() { index += 1 }

        mutating func skip(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            index += 1
            return true
        }

        mutating func number(digits: Int) -> Int64? {
            guard index + digits <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<(index + digits)] {
                guard ReplayTimeParser.isDigit(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            index += digits
            return value
        }

        /// `Z`, `UTC`, `±HH:MM`, `±HHMM` or `±HH`, as seconds east of UTC.
        mutating func zoneOffset() -> Int64? {
            if skip(UInt8(ascii: "Z")) || skip(UInt8(ascii: "z")) { return 0 }
            if bytes[index...].elementsEqual("UTC".utf8) {
                index = bytes.count
                return 0
            }
            let sign: Int64
            if skip(UInt8(ascii: "+")) {
                sign = 1
            } else if skip(UInt8(ascii: "-")) {
                sign = -1
            } else {
                return nil
            }
            guard let hours = number(digits: 2), hours <= 23 else { return nil }
            var minutes: Int64 = 0
            if !atEnd {
                _ = skip(UInt8(ascii: ":"))
                guard let value = number(digits: 2), value < 60 else { return nil }
                minutes = value
            }
            return sign * (hours * 3_600 + minutes * 60)
        }
    }
}

/// The zone a file's zone-less timestamps are in: UTC (the default) or a named IANA zone.
enum ReplayZone: Sendable, Equatable {
    case utc
    case named(TimeZone)

    init?(identifier: String) {
        if ["utc", "z", "gmt"].contains(identifier.lowercased()) {
            self = .utc
        } else if let zone = TimeZone(identifier: identifier) {
            self = .named(zone)
        } else {
            return nil
        }
    }

    var identifier: String {
        switch self {
        case .utc: "UTC"
        case .named(let zone): zone.identifier
        }
    }
}

/// Turns file timestamps into UTC nanoseconds for one zone, remembering the last offset so a
/// file of consecutive rows asks Foundation once per quarter hour, not once per row.
struct ReplayTimeResolver {
    let zone: ReplayZone
    private var cachedBlock: Int64 = .min
    private var cachedUTCMinusLocal: Int64 = 0

    init(zone: ReplayZone) { self.zone = zone }

    /// The UTC instant of a wall-clock time in the zone. Daylight saving is applied from the
    /// zone's rules; a time that occurs twice (the hour after clocks go back) is the first
    /// one; a time that does not exist (the hour skipped when clocks go forward) is read
    /// with the offset before the change (02:30 on a spring-forward night is 03:30 daylight).
    mutating func utcSeconds(local: Int64) -> Int64 {
        guard case .named(let zone) = zone else { return local }
        let block = local >= 0 ? local / 900 : (local - 899) / 900
        if block == cachedBlock { return local + cachedUTCMinusLocal }
        func offset(at seconds: Int64) -> Int64 {
            Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds))))
        }
        let before = offset(at: local - 86_400)
        let after = offset(at: local + 86_400)
        let early = local - before
        let late = local - after
        let earlyValid = offset(at: early) == before
        let lateValid = offset(at: late) == after
        let utc: Int64
        switch (earlyValid, lateValid) {
        case (true, true): utc = min(early, late)
        case (false, true): utc = late
        default: utc = early
        }
        // Far from any change (the same offset a day before and after), the whole quarter
        // hour resolves alike; near a change, every row is worked out on its own.
        if before == after {
            cachedBlock = block
            cachedUTCMinusLocal = utc - local
        }
        return utc
    }

    /// A parsed timestamp as UTC nanoseconds; for a date, the start of that day in the zone
    /// and the start of the next (a daily bar covers exactly that span). `nil` when a time
    /// lies outside ``MarketLimits/isPlausible(time:)`` (1900 to 2200).
    mutating func resolve(_ timestamp: ReplayTimestamp) -> (time: Int64, dayEnd: Int64?)? {
        switch timestamp {
        case .instant(let seconds, let nanos):
            return Self.checkedInstant(seconds: seconds, nanoseconds: nanos).map { ($0, nil) }
        case .local(let seconds, let nanos):
            guard Self.isSafeLocal(seconds) else { return nil }
            return Self.checkedInstant(seconds: utcSeconds(local: seconds), nanoseconds: nanos).map { ($0, nil) }
        case .date(let days):
            guard Self.isSafeLocal(days * 86_400) else { return nil }
            guard let start = Self.checkedInstant(seconds: utcSeconds(local: days * 86_400), nanoseconds: 0),
                let end = Self.checkedInstant(seconds: utcSeconds(local: (days + 1) * 86_400), nanoseconds: 0)
            else { return nil }
            return (start, end)
        }
    }

    /// Local seconds that the zone lookups can take (years 0000–9999 always are).
    private static func isSafeLocal(_ seconds: Int64) -> Bool { seconds.magnitude < 400_000_000_000 }

    /// `seconds` and `nanoseconds` as UTC nanoseconds within the plausible range, or nil.
    static func checkedInstant(seconds: Int64, nanoseconds: Int64) -> Int64? {
        guard let whole = Nanoseconds.checkedSeconds(seconds), let time = Nanoseconds.checkedAdding(whole, nanoseconds),
            MarketLimits.isPlausible(time: time)
        else { return nil }
        return time
    }
}
