import Foundation
import Testing

@testable import MarketData

@Suite("Replay times")
struct ReplayTimeTests {
    func resolve(_ text: String, zone: String = "UTC") -> Int64? {
        guard let timestamp = ReplayTimeParser.parse(Substring(text)), let zone = ReplayZone(identifier: zone) else { return nil }
        var resolver = ReplayTimeResolver(zone: zone)
        return resolver.resolve(timestamp)?.time
    }

    @Test("accepted forms: epoch s/ms/µs/ns with fractions, dates, ISO-8601 with Z, UTC or offsets, or none (UTC)")
    func forms() {
        let base: Int64 = 1_704_205_800_000_000_000  // 2024-01-02T14:30:00Z
        let cases: [(String, Int64)] = [
            ("1704205800", base),
            ("1704205800.25", base + 250_000_000),
            ("1704205800250", base + 250_000_000),
            ("1704205800250.5", base + 250_500_000),
            ("1704205800250000", base + 250_000_000),
            ("1704205800250000001", base + 250_000_001),
            ("2024-01-02", utc("2024-01-02T00:00:00Z")),
            ("2024-01-02 14:30", base),
            ("2024-01-02 14:30:00", base),
            ("2024-01-02T14:30:00Z", base),
            ("2024-01-02t14:30:00z", base),
            ("2024-01-02T14:30:00.123456789Z", base + 123_456_789),
            ("2024-01-02T14:30:00,5Z", base + 500_000_000),
            ("2024-01-02T14:30:00.1234567891Z", base + 123_456_789),
            ("2024-01-02 14:30:00 UTC", base),
            ("2024-01-02T09:30:00-05:00", base),
            ("2024-01-02T20:00:00+0530", base),
            ("2024-01-02T15:30:00+01", base),
            ("2024-01-02 15:30:00 +01:00", base),
            ("1969-12-31T23:59:59Z", -1_000_000_000),
            ("2024-02-29", utc("2024-02-29T00:00:00Z")),
        ]
        for (text, expected) in cases {
            #expect(resolve(text) == expected, "\(text)")
        }
    }

    @Test("rejected: impossible dates and times, unknown zones, junk")
    func rejected() {
        for text in [
            "", "abc", "2023-02-29", "2024-13-01", "2024-01-32", "2024-01-02T24:00:00", "2024-01-02T14:60",
            "2024-01-02T14:30:60", "2024-01-02T14:30:00+25:00", "2024-01-02 14:30:00 PST", "2024-1-2", "2024-01-02T",
            "2024-01-02T14:30:00.", "1.2.3", "99999999999999999999", "2024/01/02",
        ] {
            #expect(ReplayTimeParser.parse(Substring(text)) == nil, "\(text)")
        }
    }

    @Test("days from civil agree with Foundation from 1900 to 2100")
    func civilDays() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        var date = try #require(calendar.date(from: DateComponents(year: 1900, month: 1, day: 1)))
        let end = try #require(calendar.date(from: DateComponents(year: 2100, month: 12, day: 31)))
        while date <= end {
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            let days = ReplayTimeParser.daysFromCivil(
                year: Int64(parts.year ?? 0), month: Int64(parts.month ?? 0), day: Int64(parts.day ?? 0))
            #expect(days * 86_400 == Int64(date.timeIntervalSince1970))
            date = try #require(calendar.date(byAdding: .day, value: 13, to: date))
        }
    }

    @Test("New York wall clock to UTC around both DST changes: EST −5, EDT −4, repeated hour = first, skipped hour = read before the change")
    func newYorkDST() {
        let cases: [(String, String)] = [
            ("2025-03-07 15:58:00", "2025-03-07T20:58:00Z"),
            ("2025-03-09 01:59:00", "2025-03-09T06:59:00Z"),
            ("2025-03-09 02:30:00", "2025-03-09T07:30:00Z"),  // does not exist; 03:30 EDT
            ("2025-03-09 03:00:00", "2025-03-09T07:00:00Z"),
            ("2025-03-10 09:30:00", "2025-03-10T13:30:00Z"),
            ("2024-11-03 00:30:00", "2024-11-03T04:30:00Z"),
            ("2024-11-03 01:30:00", "2024-11-03T05:30:00Z"),  // twice; the first (EDT)
            ("2024-11-03 02:00:00", "2024-11-03T07:00:00Z"),
            ("2024-11-04 09:30:00", "2024-11-04T14:30:00Z"),
        ]
        for (local, expected) in cases {
            #expect(resolve(local, zone: "America/New_York") == utc(expected), "\(local)")
        }
    }

    @Test("a resolver reused over consecutive rows gives the same answers as a fresh one for each (the offset cache)")
    func cacheAgreesWithFreshResolver() throws {
        let zone = try #require(ReplayZone(identifier: "America/New_York"))
        var reused = ReplayTimeResolver(zone: zone)
        let start = ReplayTimeParser.daysFromCivil(year: 2024, month: 11, day: 2) * 86_400
        for step in stride(from: Int64(0), to: 3 * 86_400, by: 420) {
            var fresh = ReplayTimeResolver(zone: zone)
            #expect(reused.utcSeconds(local: start + step) == fresh.utcSeconds(local: start + step), "local +\(step) s")
        }
    }

    @Test("Europe/Berlin and explicit UTC names; unknown zones are refused")
    func otherZones() {
        #expect(resolve("2006-01-02 09:01:00", zone: "Europe/Berlin") == utc("2006-01-02T08:01:00Z"))
        #expect(resolve("2024-07-01 09:00:00", zone: "Europe/Berlin") == utc("2024-07-01T07:00:00Z"))
        #expect(resolve("2024-07-01T09:00:00Z", zone: "Europe/Berlin") == utc("2024-07-01T09:00:00Z"))
        #expect(resolve("2024-07-01 09:00:00", zone: "utc") == utc("2024-07-01T09:00:00Z"))
        #expect(ReplayZone(identifier: "Mars/Olympus") == nil)
    }

    @Test("bare times of day are spotted, other fields are not")
    func timeOfDay() {
        #expect(ReplayTimeParser.isTimeOfDay("09:01:00"))
        #expect(ReplayTimeParser.isTimeOfDay("09:01"))
        #expect(!ReplayTimeParser.isTimeOfDay("3602.00"))
        #expect(!ReplayTimeParser.isTimeOfDay("9:01"))
        #expect(!ReplayTimeParser.isTimeOfDay("2006-01-02"))
    }
}
