import Foundation
import Timekeeping

/// A bar file that could not be read, with the line where it went wrong.
public struct BarsCSVError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var line: Int          // 1-based; 0 when about the whole file
    public var reason: String

    public var description: String {
        line > 0 ? "\(path):\(line): \(reason)" : "\(path): \(reason)"
    }
}

/// One row of a bar file: the timestamp as written, and the bar.
public struct BarRow: Sendable, Equatable {
    public var timestamp: String
    public var bar: OHLCV
}

/// Reads OHLCV bar files as people have them: a header naming `timestamp` (or `date`,
/// `time`, `datetime`), `open`, `high`, `low`, `close` and `volume` in any order and case,
/// other columns ignored; rows oldest-first or newest-first (as Alpha Vantage writes them).
/// Rows come back oldest-first.
///
/// Timestamps: `YYYY-MM-DD` (or `YYYY/MM/DD`), `YYYY-MM-DD HH:MM[:SS[.fff]]` or with `T`,
/// optionally with `Z` or `±HH:MM`, or Unix seconds; or separate `date` and `time` columns. Times without a UTC offset are in `timeZone` (the
/// exchange's, as Alpha Vantage's are).
///
/// What is refused, each with `file:line` and the reason: text that is not UTF-8 or holds a
/// NUL byte (a binary file), a line longer than ``maxLineBytes``, a time outside
/// ``BarTime``'s range (1800 to 2200), a price that is not finite or whose magnitude exceeds
/// ``maxPrice``, a volume that is negative, not finite or above ``maxVolume``, high below low,
/// and repeated or unordered times. Files larger than ``maxFileBytes`` and anything that is
/// not a regular file are refused whole.
public enum BarsCSV {
    /// The largest file read: 1 GiB (about ten million rows).
    public static let maxFileBytes = 1 << 30
    /// The longest line: 64 KiB (a bar row is about 100 bytes).
    public static let maxLineBytes = 1 << 16
    /// The largest price magnitude: 1e12 (prices may be negative, as some futures' were).
    public static let maxPrice = 1e12
    /// The largest volume of one bar: 1e15 (a million times the busiest stock's daily share
    /// volume); `1e20` is an error.
    public static let maxVolume = 1e15

    public static func read(path: String, timeZone: TimeZone) throws -> [BarRow] {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw BarsCSVError(path: path, line: 0, reason: "cannot read the file: \(error.localizedDescription)")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw BarsCSVError(path: path, line: 0, reason: "not a regular file")
        }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        guard size <= Int64(maxFileBytes) else {
            throw BarsCSVError(
                path: path, line: 0, reason: "the file has \(size) bytes; at most \(maxFileBytes) are read")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw BarsCSVError(path: path, line: 0, reason: "cannot read the file: \(error.localizedDescription)")
        }
        guard data.count <= maxFileBytes else {
            throw BarsCSVError(path: path, line: 0, reason: "the file has grown past \(maxFileBytes) bytes while read")
        }
        return try data.withUnsafeBytes { bytes in try parse(bytes: bytes, path: path, timeZone: timeZone) }
    }

    public static func parse(_ text: String, path: String = "<input>", timeZone: TimeZone) throws -> [BarRow] {
        var text = text
        return try text.withUTF8 { utf8 in
            try parse(bytes: UnsafeRawBufferPointer(utf8), path: path, timeZone: timeZone)
        }
    }

    /// One line of the file, as text, with its 1-based number.
    private struct Line {
        var number: Int
        var text: String
    }

    /// Splits `bytes` into non-empty, trimmed lines (`\n`, `\r\n`, or `\r` alone when the file
    /// has no `\n`), checking length, UTF-8 and NUL bytes.
    private static func lines(_ bytes: UnsafeRawBufferPointer, path: String, _ body: (Line) throws -> Void) throws {
        let newline: UInt8 = 0x0A, carriageReturn: UInt8 = 0x0D
        let separator = bytes.contains(newline) ? newline : carriageReturn
        func tooLong(_ line: Int) -> BarsCSVError {
            BarsCSVError(path: path, line: line, reason: "the line is longer than \(maxLineBytes) bytes")
        }
        var start = 0
        var number = 0
        while start < bytes.count {
            number += 1
            var end = start
            while end < bytes.count && bytes[end] != separator {
                end += 1
                // Stops at once on a huge line (one byte of slack for a `\r` before the `\n`).
                guard end - start <= maxLineBytes + 1 else { throw tooLong(number) }
            }
            let next = end + 1
            if separator == newline && end > start && bytes[end - 1] == carriageReturn { end -= 1 }
            guard end - start <= maxLineBytes else { throw tooLong(number) }
            let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            guard !slice.contains(0) else {
                throw BarsCSVError(path: path, line: number, reason: "the line holds a NUL byte (a binary file?)")
            }
            guard let text = String(validating: slice, as: UTF8.self) else {
                throw BarsCSVError(path: path, line: number, reason: "the line is not UTF-8 text (a binary file?)")
            }
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty { try body(Line(number: number, text: trimmed)) }
            start = next
        }
    }

    static func parse(bytes: UnsafeRawBufferPointer, path: String, timeZone: TimeZone) throws -> [BarRow] {
        var header: Line?
        var names: [String] = []
        var time = 0, open = 0, high = 0, low = 0, close = 0, volume = 0
        var separateTime: Int?
        var rows: [BarRow] = []
        var rowLines: [Int] = []
        try lines(bytes, path: path) { line in
            guard header != nil else {
                var first = line
                if first.text.hasPrefix("\u{FEFF}") { first.text.removeFirst() }  // a UTF-8 byte-order mark
                header = first
                names = first.text.split(separator: ",", omittingEmptySubsequences: false)
                    .map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: ["\""]).lowercased() }
                func column(_ candidates: [String]) throws -> Int {
                    for name in candidates { if let i = names.firstIndex(of: name) { return i } }
                    throw BarsCSVError(
                        path: path, line: first.number,
                        reason: "the header has no '\(candidates[0])' column (found: \(names.joined(separator: ", ")))")
                }
                time = try column(["timestamp", "datetime", "date", "time"])
                // Date and time in two columns (`Date,Time,Open,…`): joined with a space.
                separateTime = names[time] == "date" ? names.firstIndex(of: "time") : nil
                open = try column(["open"]); high = try column(["high"]); low = try column(["low"])
                close = try column(["close"]); volume = try column(["volume"])
                return
            }
            let cells = line.text.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: ["\""]) }
            func fail(_ reason: String) -> BarsCSVError { BarsCSVError(path: path, line: line.number, reason: reason) }
            guard cells.count == names.count else {
                throw fail("expected \(names.count) fields as in the header, found \(cells.count)")
            }
            func number(_ index: Int, limit: Double) throws -> Double {
                guard let value = Double(cells[index]), value.isFinite else {
                    throw fail("\(names[index]) '\(cells[index])' is not a finite number")
                }
                guard abs(value) <= limit else {
                    throw fail("\(names[index]) \(cells[index]) is out of range (magnitude at most \(limit))")
                }
                return value
            }
            let stamp = separateTime.map { cells[time] + " " + cells[$0] } ?? cells[time]
            let instant: Int64
            switch Timestamp.parseChecked(stamp, timeZone: timeZone) {
            case .instant(let value) where BarTime.isSupported(value):
                instant = value
            case .instant, .outOfRange:
                throw fail("\(names[time]) '\(stamp)' lies outside \(BarTime.rangeDescription)")
            case .invalid:
                throw fail(
                    "\(names[time]) '\(stamp)' is not a date or time (expected e.g. 2024-03-14 or 2024-03-14 09:31:00)")
            }
            let bar = OHLCV(
                time: instant, open: try number(open, limit: maxPrice), high: try number(high, limit: maxPrice),
                low: try number(low, limit: maxPrice), close: try number(close, limit: maxPrice),
                volume: try number(volume, limit: .infinity))
            guard bar.high >= bar.low else { throw fail("high \(bar.high) is below low \(bar.low)") }
            guard bar.volume >= 0 else { throw fail("volume \(bar.volume) is negative") }
            guard bar.volume <= maxVolume else {
                throw fail("volume \(bar.volume) is out of range (at most \(maxVolume))")
            }
            rows.append(BarRow(timestamp: stamp, bar: bar))
            rowLines.append(line.number)
        }
        guard header != nil else { throw BarsCSVError(path: path, line: 0, reason: "the file is empty") }
        // Newest-first files are reversed; after that, time must strictly increase.
        if rows.count > 1 && rows[0].bar.time > rows[rows.count - 1].bar.time {
            rows.reverse()
            rowLines.reverse()
        }
        for i in rows.indices.dropFirst() where rows[i].bar.time <= rows[i - 1].bar.time {
            throw BarsCSVError(
                path: path, line: rowLines[i],
                reason: "timestamp '\(rows[i].timestamp)' is out of order or repeated (after '\(rows[i - 1].timestamp)')")
        }
        return rows
    }
}

/// Parses the timestamp forms bar files use into UTC nanoseconds.
public enum Timestamp {
    /// What ``parseChecked(_:timeZone:)`` found.
    public enum Parsed: Sendable, Equatable {
        /// UTC nanoseconds.
        case instant(Int64)
        /// A date or number that does not fit in Int64 nanoseconds (before 1677 or after 2262).
        case outOfRange
        /// Not a form this parser knows.
        case invalid
    }

    /// UTC nanoseconds, or nil when `text` is not a known form or does not fit in Int64
    /// nanoseconds (before 1677 or after 2262). Never traps.
    public static func parse(_ text: String, timeZone: TimeZone) -> Int64? {
        if case .instant(let value) = parseChecked(text, timeZone: timeZone) { return value }
        return nil
    }

    /// Like ``parse(_:timeZone:)``, telling a time out of range from text that is no time.
    public static func parseChecked(_ text: String, timeZone: TimeZone) -> Parsed {
        if let seconds = Double(text), !text.contains("-") {
            guard seconds.isFinite else { return .invalid }
            return Nanoseconds.checkedSeconds(seconds).map { .instant($0) } ?? .outOfRange
        }
        let scalars = Array(text.utf8)
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= scalars.count else { return nil }
            var value = 0
            for i in start..<start + count {
                let c = scalars[i]
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
            }
            return value
        }
        let separator = scalars.count >= 10 && scalars[4] == 47 ? UInt8(47) : UInt8(45)  // '/' or '-'
        guard let year = digits(0, 4), scalars.count >= 10, scalars[4] == separator, let month = digits(5, 2),
            scalars[7] == separator, let day = digits(8, 2), (1...12).contains(month), (1...31).contains(day)
        else { return .invalid }
        var hour = 0, minute = 0, second = 0, nanos = 0
        var i = 10
        if i < scalars.count && (scalars[i] == 32 || scalars[i] == 84) {  // ' ' or 'T'
            guard let h = digits(i + 1, 2), scalars.count > i + 3, scalars[i + 3] == 58, let m = digits(i + 4, 2),
                h < 24, m < 60
            else { return .invalid }
            hour = h; minute = m
            i += 6
            if i < scalars.count && scalars[i] == 58 {
                guard let s = digits(i + 1, 2), s < 61 else { return .invalid }
                second = s
                i += 3
                if i < scalars.count && scalars[i] == 46 {  // fraction
                    i += 1
                    var scale = 100_000_000
                    while i < scalars.count, scalars[i] >= 48 && scalars[i] <= 57 {
                        nanos += Int(scalars[i] - 48) * scale
                        scale /= 10
                        i += 1
                    }
                }
            }
        }
        var offsetSeconds: Int?
        if i < scalars.count {
            if scalars[i] == 90 && i == scalars.count - 1 {  // Z
                offsetSeconds = 0
            } else if scalars[i] == 43 || scalars[i] == 45, let h = digits(i + 1, 2) {
                var m = 0
                if scalars.count == i + 6 && scalars[i + 3] == 58, let mm = digits(i + 4, 2) { m = mm }
                else if scalars.count == i + 5, let mm = digits(i + 3, 2) { m = mm }
                else if scalars.count != i + 3 { return .invalid }
                offsetSeconds = (scalars[i] == 45 ? -1 : 1) * (h * 3600 + m * 60)
            } else {
                return .invalid
            }
        }
        var components = DateComponents()
        components.year = year; components.month = month; components.day = day
        components.hour = hour; components.minute = minute; components.second = second
        var calendar = Calendar(identifier: .gregorian)
        if let offsetSeconds {
            // Real offsets lie within ±14 h; an impossible one is an error, not the exchange's zone.
            guard abs(offsetSeconds) <= 18 * 3600, let zone = TimeZone(secondsFromGMT: offsetSeconds) else {
                return .invalid
            }
            calendar.timeZone = zone
        } else {
            calendar.timeZone = timeZone
        }
        guard let date = calendar.date(from: components),
            calendar.component(.day, from: date) == day  // rejects 2024-02-30
        else { return .invalid }
        guard let whole = Nanoseconds.checkedSeconds(date.timeIntervalSince1970.rounded()),
            let instant = Nanoseconds.checkedAdding(whole, Int64(nanos))
        else { return .outOfRange }
        return .instant(instant)
    }
}
