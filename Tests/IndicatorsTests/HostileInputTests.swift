import Foundation
import Indicators
import Testing
import Timekeeping

/// Times and values from outside that used to trap (issue 11): bars, alignment and session
/// days must be total, and bar files must fail with `file:line`.
@Suite("Hostile times and values")
struct HostileTimesTests {
    static let newYork = TimeZone(identifier: "America/New_York") ?? .gmt
    static let second: Int64 = 1_000_000_000
    /// 2024-03-14 09:30 New York.
    static let open: Int64 = 1_710_423_000 * second
    /// 0001-01-01 and 9999-12-31 have no Int64 nanoseconds; these are the nearest instants
    /// far from now that do: 1677-09-22 and 2262-04-11.
    static let extremes: [Int64] = [
        .max, .min, .max - 1, .min + 1, 0, -1, 9_000_000_000 * second, -9_000_000_000 * second,
    ]

    @Test("a trade at any instant is refused or taken without trapping; Int64.max and Int64.min are out of range")
    func builderAtExtremes() {
        for time in Self.extremes {
            var builder = BarBuilder(
                intervalNs: 60 * Self.second, lateToleranceNs: 2 * Self.second, timeZone: Self.newYork)
            let outcome = builder.add(time: time, price: 10, size: 1)
            #expect(outcome == (BarTime.isSupported(time) ? .accepted : .outOfRange), "time \(time)")
            _ = builder.nextCloseTime
            var closed: [BuiltBar] = []
            builder.close(asOf: .max) { closed.append($0) }
            builder.close(asOf: .min) { closed.append($0) }
            builder.skip(through: time)
            #expect(closed.count == (outcome == .accepted ? 1 : 0))
        }
        // 0 and -1 (1970) are ordinary instants: one bar each side of midnight UTC.
        var builder = BarBuilder(intervalNs: 60 * Self.second, lateToleranceNs: 0, timeZone: .gmt)
        #expect(builder.add(time: -1, price: 10, size: 1) == .accepted)
        #expect(builder.add(time: 0, price: 11, size: 1) == .accepted)
        var closed: [BuiltBar] = []
        builder.close(asOf: 60 * Self.second) { closed.append($0) }
        #expect(closed.map(\.start) == [-60 * Self.second, 0])
    }

    @Test("the supported range's ends: 1800-01-01 and 2200-01-01 are in, a nanosecond beyond is out")
    func rangeEnds() {
        var builder = BarBuilder(intervalNs: 86_400 * Self.second, lateToleranceNs: 0, timeZone: Self.newYork)
        #expect(builder.add(time: BarTime.earliest, price: 10, size: 1) == .accepted)
        #expect(builder.add(time: BarTime.latest, price: 10, size: 1) == .accepted)
        #expect(builder.add(time: BarTime.earliest - 1, price: 10, size: 1) == .outOfRange)
        #expect(builder.add(time: BarTime.latest + 1, price: 10, size: 1) == .outOfRange)
        var closed: [BuiltBar] = []
        builder.close(asOf: .max) { closed.append($0) }
        #expect(closed.count == 2)
        #expect(closed.allSatisfy { $0.end > $0.start })
    }

    @Test("bar lengths and tolerances out of range are clamped, not trapped on")
    func oddIntervals() {
        for interval: Int64 in [0, -1, .min, .max] {
            var alignment = BarAlignment(intervalNs: interval, timeZone: Self.newYork)
            #expect((1...BarTime.maxIntervalNs).contains(alignment.intervalNs))
            for time in Self.extremes { _ = alignment.start(of: time) }
            var builder = BarBuilder(intervalNs: interval, lateToleranceNs: .max, timeZone: Self.newYork)
            #expect(builder.add(time: Self.open, price: 10, size: 1) == .accepted)
            #expect(builder.nextCloseTime == .max)
            var closed: [BuiltBar] = []
            builder.close(asOf: .max) { closed.append($0) }
            #expect(closed.count == 1)
        }
        let negative = BarBuilder(intervalNs: 60 * Self.second, lateToleranceNs: -5, timeZone: Self.newYork)
        #expect(negative.lateToleranceNs == 0)
    }

    @Test("session days and the whole indicator set take bars stamped at any instant")
    func sessionAtExtremes() {
        var day = SessionDay(timeZone: Self.newYork)
        var keys: [Int] = []
        for time in Self.extremes.sorted() { keys.append(day.key(for: time)) }
        #expect(keys == keys.sorted(), "keys grow with time: \(keys)")
        // Far outside the range, the key is the range end's.
        #expect(day.key(for: .max) == day.key(for: BarTime.latest))
        #expect(day.key(for: .min) == day.key(for: BarTime.earliest))
        var pipeline = FeaturePipeline(timeZone: Self.newYork)
        for (index, time) in Self.extremes.enumerated() {
            pipeline.update(OHLCV(time: time, open: 10, high: 11, low: 9, close: 10 + Double(index % 3), volume: 100))
        }
        #expect(pipeline.barCount == Self.extremes.count)
    }
}

@Suite("Hostile bar files")
struct HostileBarFilesTests {
    let zone = TimeZone(identifier: "America/New_York") ?? .gmt
    static let header = "timestamp,open,high,low,close,volume\n"
    static let good = "2024-01-02,1,2,0.5,1.5,10\n"

    func error(_ text: String) -> BarsCSVError? {
        do {
            _ = try BarsCSV.parse(text, path: "bars.csv", timeZone: zone)
            return nil
        } catch let error as BarsCSVError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("a row out of range names its line", arguments: [
        ("1600-01-02,1,2,0.5,1.5,10", "outside 1800-01-01 to 2200-01-01"),
        ("1677-01-02,1,2,0.5,1.5,10", "outside 1800-01-01 to 2200-01-01"),
        ("2263-01-02,1,2,0.5,1.5,10", "outside 1800-01-01 to 2200-01-01"),
        ("2300-01-02 09:30:00,1,2,0.5,1.5,10", "outside 1800-01-01 to 2200-01-01"),
        ("9999-12-31T23:59:59Z,1,2,0.5,1.5,10", "outside 1800-01-01 to 2200-01-01"),
        ("1e20,1,2,0.5,1.5,10", "outside 1800-01-01 to 2200-01-01"),
        ("9223372036.9,1,2,0.5,1.5,10", "outside 1800-01-01 to 2200-01-01"),
        ("nan,1,2,0.5,1.5,10", "not a date or time"),
        ("inf,1,2,0.5,1.5,10", "not a date or time"),
        ("2024-01-03T09:30:00+99:00,1,2,0.5,1.5,10", "not a date or time"),
        ("2024-01-03,nan,2,0.5,1.5,10", "open 'nan' is not a finite number"),
        ("2024-01-03,1,inf,0.5,1.5,10", "high 'inf' is not a finite number"),
        ("2024-01-03,1,2,-inf,1.5,10", "low '-inf' is not a finite number"),
        ("2024-01-03,1,2,0.5,1e300,10", "close 1e300 is out of range"),
        ("2024-01-03,1,2,0.5,1.5,1e20", "volume 1e+20 is out of range"),
        ("2024-01-03,1,2,0.5,1.5,-1", "volume -1.0 is negative"),
        ("2024-01-03,1,2,0.5,1.5,nan", "volume 'nan' is not a finite number"),
    ])
    func outOfRange(row: String, reason: String) throws {
        let error = try #require(self.error(Self.header + Self.good + row + "\n"))
        #expect(error.line == 3, "\(error)")
        #expect(error.description.hasPrefix("bars.csv:3: "), "\(error)")
        #expect(error.description.contains(reason), "\(error)")
    }

    @Test("binary garbage, NUL bytes and a huge line are errors naming the line")
    func garbage() throws {
        var bytes: [UInt8] = Array((Self.header + Self.good).utf8)
        bytes += [0xFF, 0xFE, 0x00, 0x80, 0x0A]
        let binary = try #require(error(bytes: bytes))
        #expect(binary.line == 3 && binary.reason.contains("NUL"), "\(binary)")
        let invalidUTF8 = try #require(error(bytes: Array((Self.header + Self.good).utf8) + [0xC3, 0x28, 0x0A]))
        #expect(invalidUTF8.line == 3 && invalidUTF8.reason.contains("not UTF-8"), "\(invalidUTF8)")
        let long = try #require(self.error(Self.header + Self.good + String(repeating: "9", count: 2 << 20) + "\n"))
        #expect(long.line == 3 && long.reason.contains("longer than 65536 bytes"), "\(long)")
        let random = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        #expect(error(bytes: random) != nil)
    }

    @Test("a replay-style '#interval' line (huge, or 0) is no header: an error on line 1")
    func intervalHeader() throws {
        for interval in ["99999999999999999999", "1e300", "0", "-1"] {
            let error = try #require(self.error("#interval=\(interval)\n" + Self.header + Self.good))
            #expect(error.line == 1 && error.reason.contains("no 'timestamp' column"), "\(error)")
        }
    }

    @Test("line numbers count CRLF and CR-only lines once")
    func lineEndings() throws {
        let crlfHeader = Self.header.replacingOccurrences(of: "\n", with: "\r\n")
        let crlf = try #require(error(crlfHeader + Self.good + "2024-01-03,1,x,0.5,1.5,10\r\n"))
        #expect(crlf.line == 3, "\(crlf)")
        let crHeader = "timestamp,open,high,low,close,volume\r2024-01-02,1,2,0.5,1.5,10\r"
        let cr = try #require(error(crHeader + "2024-01-03,1,x,0.5,1.5,10\r"))
        #expect(cr.line == 3, "\(cr)")
        let rows = try BarsCSV.parse(crHeader, timeZone: zone)
        #expect(rows.count == 1)
    }

    @Test("a file that is not a regular file is refused with its name")
    func notAFile() {
        #expect(throws: BarsCSVError.self) { _ = try BarsCSV.read(path: "/dev/zero", timeZone: zone) }
        #expect(throws: BarsCSVError.self) { _ = try BarsCSV.read(path: "/", timeZone: zone) }
        do {
            _ = try BarsCSV.read(path: "/dev/zero", timeZone: zone)
        } catch {
            #expect("\(error)".hasPrefix("/dev/zero: "), "\(error)")
        }
    }

    @Test("timestamps out of Int64 nanoseconds are out of range, not a trap")
    func timestamps() {
        #expect(Timestamp.parseChecked("1e20", timeZone: zone) == .outOfRange)
        #expect(Timestamp.parseChecked("-1e20", timeZone: zone) == .invalid)  // a '-' makes it a date
        #expect(Timestamp.parseChecked("9999-12-31", timeZone: zone) == .outOfRange)
        #expect(Timestamp.parseChecked("0000-01-01", timeZone: zone) == .outOfRange)
        #expect(Timestamp.parseChecked("inf", timeZone: zone) == .invalid)
        #expect(Timestamp.parse("2262-04-11T23:47:16.854775807Z", timeZone: zone) == Int64.max)
        #expect(Timestamp.parse("2262-04-11T23:47:16.854775808Z", timeZone: zone) == nil)
        let unix = Timestamp.parse("1710423000", timeZone: zone)
        let expected: Int64 = 1_710_423_000 * 1_000_000_000
        #expect(unix == expected, "\(String(describing: unix)) \(expected)")
    }

    func error(bytes: [UInt8]) -> BarsCSVError? {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tickwire-bars-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let file = directory.appendingPathComponent("bars.csv").path
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            _ = try BarsCSV.read(path: file, timeZone: zone)
            return nil
        } catch let error as BarsCSVError {
            #expect(error.path.hasSuffix("bars.csv"))
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }
}
