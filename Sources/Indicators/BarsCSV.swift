import Foundation

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
public enum BarsCSV {
    public static func read(path: String, timeZone: TimeZone) throws -> [BarRow] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw BarsCSVError(path: path, line: 0, reason: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(text, path: path, timeZone: timeZone)
    }

    public static func parse(_ text: String, path: String = "<input>", timeZone: TimeZone) throws -> [BarRow] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            .map { (number: $0.offset + 1, text: $0.element.trimmingCharacters(in: .whitespaces)) }
            .filter { !$0.text.isEmpty }
        guard !lines.isEmpty else { throw BarsCSVError(path: path, line: 0, reason: "the file is empty") }
        var header = lines.removeFirst()
        if header.text.hasPrefix("\u{FEFF}") { header.text.removeFirst() }  // a UTF-8 byte-order mark
        let names = header.text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: ["\""]).lowercased() }
        func column(_ candidates: [String]) throws -> Int {
            for name in candidates { if let i = names.firstIndex(of: name) { return i } }
            throw BarsCSVError(
                path: path, line: header.number,
                reason: "the header has no '\(candidates[0])' column (found: \(names.joined(separator: ", ")))")
        }
        let time = try column(["timestamp", "datetime", "date", "time"])
        // Date and time in two columns (`Date,Time,Open,…`): joined with a space.
        let separateTime = names[time] == "date" ? names.firstIndex(of: "time") : nil
        let open = try column(["open"]), high = try column(["high"]), low = try column(["low"])
        let close = try column(["close"]), volume = try column(["volume"])

        var rows: [BarRow] = []
        rows.reserveCapacity(lines.count)
        for line in lines {
            let cells = line.text.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: ["\""]) }
            guard cells.count == names.count else {
                throw BarsCSVError(
                    path: path, line: line.number,
                    reason: "expected \(names.count) fields as in the header, found \(cells.count)")
            }
            func number(_ index: Int) throws -> Double {
                guard let value = Double(cells[index]), value.isFinite else {
                    throw BarsCSVError(
                        path: path, line: line.number,
                        reason: "\(names[index]) '\(cells[index])' is not a finite number")
                }
                return value
            }
            let stamp = separateTime.map { cells[time] + " " + cells[$0] } ?? cells[time]
            guard let instant = Timestamp.parse(stamp, timeZone: timeZone) else {
                throw BarsCSVError(
                    path: path, line: line.number,
                    reason: "\(names[time]) '\(stamp)' is not a date or time (expected e.g. 2024-03-14 or 2024-03-14 09:31:00)")
            }
            let bar = OHLCV(
                time: instant, open: try number(open), high: try number(high), low: try number(low),
                close: try number(close), volume: try number(volume))
            guard bar.high >= bar.low else {
                throw BarsCSVError(path: path, line: line.number, reason: "high \(bar.high) is below low \(bar.low)")
            }
            guard bar.volume >= 0 else {
                throw BarsCSVError(path: path, line: line.number, reason: "volume \(bar.volume) is negative")
            }
            rows.append(BarRow(timestamp: stamp, bar: bar))
        }
        // Newest-first files are reversed; after that, time must strictly increase.
        if rows.count > 1 && rows[0].bar.time > rows[rows.count - 1].bar.time {
            rows.reverse()
            lines.reverse()
        }
        for i in rows.indices.dropFirst() where rows[i].bar.time <= rows[i - 1].bar.time {
            throw BarsCSVError(
                path: path, line: lines[i].number,
                reason: "timestamp '\(rows[i].timestamp)' is out of order or repeated (after '\(rows[i - 1].timestamp)')")
        }
        return rows
    }
}

/// Parses the timestamp forms bar files use into UTC nanoseconds.
public enum Timestamp {
    public static func parse(_ text: String, timeZone: TimeZone) -> Int64? {
        if let seconds = Double(text), !text.contains("-") {
            return Int64((seconds * 1e9).rounded())
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
        else { return nil }
        var hour = 0, minute = 0, second = 0, nanos = 0
        var i = 10
        if i < scalars.count && (scalars[i] == 32 || scalars[i] == 84) {  // ' ' or 'T'
            guard let h = digits(i + 1, 2), scalars.count > i + 3, scalars[i + 3] == 58, let m = digits(i + 4, 2),
                h < 24, m < 60
            else { return nil }
            hour = h; minute = m
            i += 6
            if i < scalars.count && scalars[i] == 58 {
                guard let s = digits(i + 1, 2), s < 61 else { return nil }
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
                else if scalars.count != i + 3 { return nil }
                offsetSeconds = (scalars[i] == 45 ? -1 : 1) * (h * 3600 + m * 60)
            } else {
                return nil
            }
        }
        var components = DateComponents()
        components.year = year; components.month = month; components.day = day
        components.hour = hour; components.minute = minute; components.second = second
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = offsetSeconds.flatMap { TimeZone(secondsFromGMT: $0) } ?? timeZone
        guard let date = calendar.date(from: components),
            calendar.component(.day, from: date) == day  // rejects 2024-02-30
        else { return nil }
        return Int64(date.timeIntervalSince1970.rounded()) * 1_000_000_000 + Int64(nanos)
    }
}
