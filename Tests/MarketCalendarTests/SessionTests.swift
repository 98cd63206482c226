import Foundation
import MarketCalendar
import Testing

@Suite("XNYS days and sessions")
struct SessionTests {
    @Test("session bounds in both daylight-saving regimes, as UTC instants")
    func bounds() throws {
        let winter = try #require(xnys.session(on: day("2024-01-10")))
        #expect(winter.open == utc(1_704_897_000))  // 14:30Z
        #expect(winter.preOpen == ny("2024-01-10", "04:00") && winter.close == ny("2024-01-10", "16:00"))
        #expect(winter.postClose == ny("2024-01-10", "20:00") && !winter.earlyClose)
        let summer = try #require(xnys.session(on: day("2024-07-10")))
        #expect(summer.open == utc(1_720_618_200))  // 13:30Z
        #expect(summer.close - summer.open == 23_400 * 1_000_000_000)
    }

    @Test("the weekends of the 2024 clock changes")
    func daylightSavingWeekends() throws {
        // Spring forward on Sunday 2024-03-10: Friday opens 14:30Z, Monday 13:30Z.
        #expect(xnys.session(on: day("2024-03-10")) == nil && xnys.holiday(on: day("2024-03-10")) == nil)
        #expect(xnys.session(on: day("2024-03-08"))?.close == utc(1_709_931_600))
        let monday = try #require(xnys.session(on: day("2024-03-11")))
        #expect(monday.open == utc(1_710_163_800))
        #expect(monday.preOpen == ny("2024-03-11", "04:00") && monday.postClose == ny("2024-03-11", "20:00"))
        // Fall back on Sunday 2024-11-03: Friday opens 13:30Z, Monday 14:30Z.
        #expect(xnys.session(on: day("2024-11-01"))?.open == utc(1_730_467_800))
        #expect(xnys.session(on: day("2024-11-04"))?.open == utc(1_730_730_600))
        // Both 01:30s of 2024-11-03 are on that local date.
        #expect(xnys.localDate(of: utc(1_730_611_800)) == day("2024-11-03"))  // 01:30 EDT
        #expect(xnys.localDate(of: utc(1_730_615_400)) == day("2024-11-03"))  // 01:30 EST
        #expect(xnys.localDate(of: ny("2024-11-03", "23:59:59")) == day("2024-11-03"))
        #expect(xnys.localDate(of: ny("2024-11-04", "00:00")) == day("2024-11-04"))
        #expect(xnys.nextOpen(after: ny("2024-03-08", "16:00")) == utc(1_710_163_800))
        #expect(xnys.nextOpen(after: ny("2024-11-01", "16:00")) == utc(1_730_730_600))
    }

    @Test("every session 2000–2035 sits at 04:00/09:30/close/20:00 (17:00 early) New York time")
    func allSessionsAgreeWithFoundationCalendar() {
        var count = 0
        for session in xnys.sessions(from: day("2000-01-01"), to: day("2035-12-31")) {
            let date = session.date.description
            #expect(session.preOpen == ny(date, "04:00") && session.open == ny(date, "09:30"), "\(date)")
            #expect(session.close == ny(date, session.earlyClose ? "13:00" : "16:00"), "\(date)")
            #expect(session.postClose == ny(date, session.earlyClose ? "17:00" : "20:00"), "\(date)")
            count += 1
        }
        #expect(count == 9_049)
    }

    @Test("holidays by rule and observance")
    func holidays() {
        let expected: [(String, String?)] = [
            ("2024-01-01", "New Year's Day"),
            ("2023-01-02", "New Year's Day (observed)"),  // Sunday 2023-01-01
            ("2021-12-31", nil),  // New Year's Day 2022 is a Saturday: no Friday closure
            ("2022-01-03", nil),
            ("2024-01-15", "Martin Luther King Jr. Day"),
            ("2024-02-19", "Washington's Birthday"),
            ("2024-03-29", "Good Friday"),
            ("2025-04-18", "Good Friday"),
            ("2000-04-21", "Good Friday"),
            ("2024-05-27", "Memorial Day"),
            ("2021-06-18", nil),  // Juneteenth before the NYSE observed it
            ("2022-06-20", "Juneteenth National Independence Day (observed)"),  // Sunday 2022-06-19
            ("2022-06-17", nil),
            ("2023-06-19", "Juneteenth National Independence Day"),
            ("2027-06-18", "Juneteenth National Independence Day (observed)"),  // Saturday 2027-06-19
            ("2020-07-03", "Independence Day (observed)"),  // Saturday July 4
            ("2021-07-05", "Independence Day (observed)"),  // Sunday July 4
            ("2024-09-02", "Labor Day"),
            ("2024-11-28", "Thanksgiving Day"),
            ("2021-12-24", "Christmas Day (observed)"),  // Saturday Christmas
            ("2022-12-26", "Christmas Day (observed)"),  // Sunday Christmas
            ("2024-10-14", nil),  // Columbus Day: the NYSE trades
            ("2024-11-11", nil),  // Veterans Day: the NYSE trades
            ("2001-09-11", "September 11 attacks"),
            ("2001-09-14", "September 11 attacks"),
            ("2001-09-17", nil),
            ("2004-06-11", "National Day of Mourning for Ronald Reagan"),
            ("2007-01-02", "National Day of Mourning for Gerald Ford"),
            ("2012-10-29", "Hurricane Sandy"),
            ("2012-10-30", "Hurricane Sandy"),
            ("2012-10-31", nil),
            ("2018-12-05", "National Day of Mourning for George H. W. Bush"),
            ("2025-01-09", "National Day of Mourning for Jimmy Carter"),
            ("2022-01-01", nil),  // a weekend day is no holiday, whatever falls on it
        ]
        for (date, name) in expected {
            #expect(xnys.holiday(on: day(date)) == name, "\(date)")
            #expect(xnys.isTradingDay(day(date)) == (name == nil && !day(date).isWeekend), "\(date)")
        }
        let newYearsEve = xnys.session(on: day("2021-12-31"))
        #expect(newYearsEve?.earlyClose == false && newYearsEve?.close == ny("2021-12-31", "16:00"))
    }

    @Test("early closes at 13:00, including the historic exceptions")
    func earlyCloses() {
        let early = ["2024-07-03", "2024-11-29", "2024-12-24", "2023-07-03", "2002-07-05", "2003-12-26",
                     "2013-07-03", "2019-07-03", "2026-11-27", "2026-12-24"]
        let full = ["2002-07-03",  // Wednesday before a Thursday July 4, before 2013: Friday closed early instead
                    "2013-07-05",  // since 2013 the Friday after a Thursday July 4 is a full day
                    "2015-07-02", "2020-07-02", "2026-07-02",  // July 4 on Saturday: no Thursday early close
                    "2022-07-01", "2022-12-23", "2004-12-23", "2024-12-26", "2021-12-31", "2024-11-27"]
        for date in early {
            #expect(xnys.session(on: day(date))?.earlyClose == true, "\(date)")
            #expect(xnys.session(on: day(date))?.close == ny(date, "13:00"), "\(date)")
            #expect(xnys.session(on: day(date))?.postClose == ny(date, "17:00"), "\(date)")
        }
        for date in full {
            #expect(xnys.session(on: day(date))?.earlyClose == false, "\(date)")
            #expect(xnys.session(on: day(date))?.close == ny(date, "16:00"), "\(date)")
        }
    }

    @Test("sessions(from:to:) is inclusive and ordered; an empty range gives nothing")
    func sessionsRange() {
        let week = xnys.sessions(from: day("2024-03-25"), to: day("2024-04-01"))
        #expect(week.map(\.date.description) == ["2024-03-25", "2024-03-26", "2024-03-27", "2024-03-28", "2024-04-01"])
        #expect(xnys.sessions(from: day("2024-04-01"), to: day("2024-03-25")).isEmpty)
        #expect(xnys.sessions(from: day("2024-03-29"), to: day("2024-03-31")).isEmpty)
    }

    @Test("2000–2035 holds 9,049 sessions")
    func speed() {
        let clock = ContinuousClock()
        var count = 0
        let elapsed = clock.measure {
            count = xnys.sessions(from: day("2000-01-01"), to: day("2035-12-31")).count
        }
        #expect(count == 9_049)
        // Timing is reported, not asserted: make bench measures speed.
        print("xnys: 36 years of sessions in \(elapsed)")
    }
}
