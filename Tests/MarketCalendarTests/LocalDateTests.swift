import Foundation
import MarketCalendar
import Testing

@Suite("LocalDate, LocalTime and instants")
struct LocalDateTests {
    @Test("parses and prints YYYY-MM-DD; rejects other shapes and dates that do not exist")
    func parsing() {
        #expect(LocalDate("2024-02-29") == LocalDate(year: 2024, month: 2, day: 29))
        #expect(LocalDate("0999-01-05")?.description == "0999-01-05")
        #expect(day("2024-03-14").description == "2024-03-14")
        for bad in ["2023-02-29", "1900-02-29", "2024-13-01", "2024-04-31", "2024-00-10", "2024-3-14",
                    "2024/03/14", "20240314", "2024-03-14 ", "abcd-ef-gh", "0000-01-01", "", "+024-03-14"] {
            #expect(LocalDate(bad) == nil, "\(bad)")
        }
        #expect(LocalDate("2000-02-29") != nil)
    }

    @Test("day numbers round-trip and agree with Foundation's Gregorian calendar (after its 1582 Julian switch)")
    func dayArithmetic() {
        #expect(day("1970-01-01").daysSinceEpoch == 0)
        #expect(day("1969-12-31").daysSinceEpoch == -1)
        #expect(day("2000-03-01").daysSinceEpoch == 11_017)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var previous: LocalDate?
        for n in stride(from: -700_000, through: 2_900_000, by: 37) {
            let date = LocalDate(daysSinceEpoch: n)
            #expect(date.daysSinceEpoch == n)
            if let previous { #expect(previous < date) }
            previous = date
            guard n > -140_000 && n < 200_000 else { continue }  // 1586...2517
            let expected = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(n) * 86_400))
            #expect([date.year, date.month, date.day] == [expected.year, expected.month, expected.day], "day \(n)")
        }
        #expect(day("2024-02-28").adding(days: 1) == day("2024-02-29"))
        #expect(day("2024-03-01").adding(days: -1) == day("2024-02-29"))
        #expect(day("2023-12-31").adding(days: 1) == day("2024-01-01"))
        #expect(day("2024-01-01").days(to: day("2025-01-01")) == 366)
        #expect(day("2025-01-01").days(to: day("2024-01-01")) == -366)
    }

    @Test("weekdays")
    func weekdays() {
        #expect(day("1970-01-01").weekday == .thursday)
        #expect(day("2024-03-14").weekday == .thursday)
        #expect(day("2022-01-01").weekday == .saturday)
        #expect(day("2023-01-01").weekday == .sunday)
        #expect(day("1969-12-29").weekday == .monday)
        #expect(day("2024-03-16").isWeekend && day("2024-03-17").isWeekend && !day("2024-03-18").isWeekend)
    }

    @Test("local times parse HH:MM and HH:MM:SS")
    func times() {
        #expect(LocalTime("09:30") == LocalTime(hour: 9, minute: 30))
        #expect(LocalTime("15:59:59")?.secondsOfDay == 57_599)
        #expect(LocalTime("13:00")?.description == "13:00")
        #expect(LocalTime(hour: 9, minute: 5, second: 7).description == "09:05:07")
        for bad in ["24:00", "9:30", "09:60", "09:30:60", "0930", "09:30:", "ab:cd", ""] {
            #expect(LocalTime(bad) == nil, "\(bad)")
        }
        #expect(LocalTime("09:29:59")! < LocalTime("09:30")!)
    }

    @Test("ISO 8601 with the zone's offset at that instant")
    func iso8601() {
        let open = utc(1_710_423_000)  // 2024-03-14 09:30 EDT
        #expect(Instants.iso8601(open, in: newYork) == "2024-03-14T09:30:00-04:00")
        #expect(Instants.iso8601(utc(1_704_897_000), in: newYork) == "2024-01-10T09:30:00-05:00")
        #expect(Instants.iso8601(open, in: TimeZone(identifier: "UTC")!) == "2024-03-14T13:30:00+00:00")
        #expect(Instants.iso8601(open, in: TimeZone(identifier: "Asia/Kolkata")!) == "2024-03-14T19:00:00+05:30")
        #expect(Instants.iso8601(open, in: TimeZone(identifier: "Europe/London")!) == "2024-03-14T13:30:00+00:00")
        #expect(Instants.iso8601(open + 500_000_000, in: TimeZone(identifier: "UTC")!) == "2024-03-14T13:30:00.500+00:00")
        #expect(Instants.iso8601(open + 1_500, in: TimeZone(identifier: "UTC")!) == "2024-03-14T13:30:00.000001500+00:00")
        #expect(Instants.iso8601(-500_000_000, in: TimeZone(identifier: "UTC")!) == "1969-12-31T23:59:59.500+00:00")
        #expect(Instants.iso8601(Date(timeIntervalSince1970: 1_710_423_000), in: newYork)
            == "2024-03-14T09:30:00-04:00")
    }

    @Test("Date <-> nanoseconds")
    func dates() {
        #expect(Instants.nanoseconds(Date(timeIntervalSince1970: 1_710_423_000)) == utc(1_710_423_000))
        #expect(Instants.nanoseconds(Date(timeIntervalSince1970: -1.5)) == -1_500_000_000)
        #expect(Instants.date(utc(1_710_423_000)) == Date(timeIntervalSince1970: 1_710_423_000))
        #expect(Instants.date(-1_500_000_000) == Date(timeIntervalSince1970: -1.5))
    }
}
