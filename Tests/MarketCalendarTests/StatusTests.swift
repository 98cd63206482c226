import Foundation
import MarketCalendar
import Testing

@Suite("Phases, next open and next close")
struct StatusTests {
    @Test("09:29:59 vs 09:30:00 and 15:59:59 vs 16:00:00, winter and summer", arguments: ["2024-01-10", "2024-07-10"])
    func boundaries(date: String) {
        func phase(_ time: String, _ extended: Bool) -> MarketPhase {
            xnys.status(at: ny(date, time), includeExtendedHours: extended).phase
        }
        #expect(phase("03:59:59", true) == .closed)
        #expect(phase("04:00:00", true) == .preMarket)
        #expect(phase("09:29:59", true) == .preMarket)
        #expect(phase("09:29:59", false) == .closed)
        #expect(phase("09:30:00", true) == .regular)
        #expect(phase("09:30:00", false) == .regular)
        #expect(phase("15:59:59", false) == .regular)
        #expect(phase("16:00:00", false) == .closed)
        #expect(phase("16:00:00", true) == .postMarket)
        #expect(phase("19:59:59", true) == .postMarket)
        #expect(phase("20:00:00", true) == .closed)
        // One nanosecond either side of the open.
        #expect(xnys.status(at: ny(date, "09:30") - 1, includeExtendedHours: false).phase == .closed)
        #expect(xnys.status(at: ny(date, "16:00") - 1, includeExtendedHours: false).phase == .regular)
    }

    @Test("status reports when the phase began and what follows")
    func transitions() {
        // Thursday 2024-03-14 (EDT).
        let pre = xnys.status(at: ny("2024-03-14", "08:00"), includeExtendedHours: true)
        #expect(pre.phase == .preMarket && pre.since == ny("2024-03-14", "04:00"))
        #expect(pre.nextPhase == .regular && pre.nextChange == utc(1_710_423_000))
        #expect(pre.tradingDay == day("2024-03-14") && pre.session?.date == day("2024-03-14") && !pre.earlyClose)
        #expect(pre.holiday == nil)

        let early = xnys.status(at: ny("2024-03-14", "08:00"), includeExtendedHours: false)
        #expect(early.phase == .closed && early.since == ny("2024-03-13", "16:00"))
        #expect(early.nextPhase == .regular && early.nextChange == ny("2024-03-14", "09:30"))

        let regular = xnys.status(at: ny("2024-03-14", "12:00"), includeExtendedHours: false)
        #expect(regular.phase == .regular && regular.since == ny("2024-03-14", "09:30"))
        #expect(regular.nextPhase == .closed && regular.nextChange == ny("2024-03-14", "16:00"))
        let regularExtended = xnys.status(at: ny("2024-03-14", "12:00"), includeExtendedHours: true)
        #expect(regularExtended.nextPhase == .postMarket && regularExtended.nextChange == ny("2024-03-14", "16:00"))

        let post = xnys.status(at: ny("2024-03-14", "17:00"), includeExtendedHours: true)
        #expect(post.phase == .postMarket && post.since == ny("2024-03-14", "16:00"))
        #expect(post.nextPhase == .closed && post.nextChange == ny("2024-03-14", "20:00"))

        let evening = xnys.status(at: ny("2024-03-14", "17:00"), includeExtendedHours: false)
        #expect(evening.phase == .closed && evening.since == ny("2024-03-14", "16:00"))
        #expect(evening.nextPhase == .regular && evening.nextChange == ny("2024-03-15", "09:30"))

        let night = xnys.status(at: ny("2024-03-14", "21:00"), includeExtendedHours: true)
        #expect(night.phase == .closed && night.since == ny("2024-03-14", "20:00"))
        #expect(night.nextPhase == .preMarket && night.nextChange == ny("2024-03-15", "04:00"))
    }

    @Test("over a weekend and a holiday, closed since the last session, until the next")
    func closedDays() {
        let sunday = xnys.status(at: ny("2024-03-10", "12:00"), includeExtendedHours: true)  // clocks changed at 02:00
        #expect(sunday.phase == .closed && sunday.session == nil && sunday.holiday == nil)
        #expect(sunday.since == ny("2024-03-08", "20:00"))
        #expect(sunday.nextPhase == .preMarket && sunday.nextChange == ny("2024-03-11", "04:00"))
        #expect(sunday.tradingDay == day("2024-03-10"))

        let mondayDawn = xnys.status(at: ny("2024-03-18", "03:00"), includeExtendedHours: true)
        #expect(mondayDawn.since == ny("2024-03-15", "20:00") && mondayDawn.nextChange == ny("2024-03-18", "04:00"))
        #expect(mondayDawn.session?.date == day("2024-03-18"))

        // Independence Day 2024 follows the early close of Wednesday July 3.
        let july4 = xnys.status(at: ny("2024-07-04", "12:00"), includeExtendedHours: false)
        #expect(july4.phase == .closed && july4.holiday == "Independence Day" && july4.session == nil)
        #expect(july4.since == ny("2024-07-03", "13:00") && july4.nextChange == ny("2024-07-05", "09:30"))
        let july4Extended = xnys.status(at: ny("2024-07-04", "12:00"), includeExtendedHours: true)
        #expect(july4Extended.since == ny("2024-07-03", "17:00") && july4Extended.nextChange == ny("2024-07-05", "04:00"))
    }

    @Test("an early-close day: regular to 13:00, after-hours to 17:00")
    func earlyCloseDay() {
        // Friday 2024-11-29, the day after Thanksgiving (EST).
        let lunch = xnys.status(at: ny("2024-11-29", "12:59:59"), includeExtendedHours: false)
        #expect(lunch.phase == .regular && lunch.earlyClose)
        #expect(lunch.nextPhase == .closed && lunch.nextChange == utc(1_732_903_200))  // 18:00Z
        #expect(xnys.status(at: ny("2024-11-29", "13:00"), includeExtendedHours: false).phase == .closed)
        let post = xnys.status(at: ny("2024-11-29", "13:00"), includeExtendedHours: true)
        #expect(post.phase == .postMarket && post.since == ny("2024-11-29", "13:00"))
        #expect(post.nextPhase == .closed && post.nextChange == ny("2024-11-29", "17:00") && post.earlyClose)
        let evening = xnys.status(at: ny("2024-11-29", "17:00"), includeExtendedHours: true)
        #expect(evening.phase == .closed && evening.since == ny("2024-11-29", "17:00") && evening.earlyClose)
        #expect(evening.nextPhase == .preMarket && evening.nextChange == ny("2024-12-02", "04:00"))
        #expect(xnys.nextClose(after: ny("2024-11-29", "09:00")) == ny("2024-11-29", "13:00"))
        #expect(xnys.nextClose(after: ny("2024-11-29", "13:00")) == ny("2024-12-02", "16:00"))
        // Thanksgiving itself.
        #expect(xnys.status(at: ny("2024-11-28", "12:00"), includeExtendedHours: true).holiday == "Thanksgiving Day")
    }

    @Test("next open and next close are strictly after the instant")
    func nextOpenAndClose() {
        // Before 09:30 on a trading day: today's.
        #expect(xnys.nextOpen(after: ny("2024-03-14", "08:00")) == ny("2024-03-14", "09:30"))
        #expect(xnys.nextClose(after: ny("2024-03-14", "08:00")) == ny("2024-03-14", "16:00"))
        #expect(xnys.nextOpen(after: ny("2024-03-14", "09:29:59")) == ny("2024-03-14", "09:30"))
        // At the open itself: the next day's open, today's close.
        #expect(xnys.nextOpen(after: ny("2024-03-14", "09:30")) == ny("2024-03-15", "09:30"))
        #expect(xnys.nextClose(after: ny("2024-03-14", "09:30")) == ny("2024-03-14", "16:00"))
        // During the session.
        #expect(xnys.nextOpen(after: ny("2024-03-14", "12:00")) == ny("2024-03-15", "09:30"))
        #expect(xnys.nextClose(after: ny("2024-03-14", "15:59:59")) == ny("2024-03-14", "16:00"))
        // At and after the close.
        #expect(xnys.nextClose(after: ny("2024-03-14", "16:00")) == ny("2024-03-15", "16:00"))
        #expect(xnys.nextOpen(after: ny("2024-03-14", "17:00")) == ny("2024-03-15", "09:30"))
        // From a Saturday; and from Friday's close before a Monday holiday (MLK Day 2024).
        #expect(xnys.nextOpen(after: ny("2024-03-16", "12:00")) == ny("2024-03-18", "09:30"))
        #expect(xnys.nextClose(after: ny("2024-03-16", "12:00")) == ny("2024-03-18", "16:00"))
        #expect(xnys.nextOpen(after: ny("2024-01-12", "16:00")) == ny("2024-01-16", "09:30"))
        #expect(xnys.nextOpen(after: ny("2024-05-24", "16:00")) == ny("2024-05-28", "09:30"))
        // Across Good Friday and the 2012 hurricane.
        #expect(xnys.nextOpen(after: ny("2024-03-28", "10:00")) == ny("2024-04-01", "09:30"))
        #expect(xnys.nextOpen(after: ny("2012-10-26", "16:00")) == ny("2012-10-31", "09:30"))
        // Date overloads.
        let saturday = Date(timeIntervalSince1970: Double(ny("2024-03-16", "12:00") / 1_000_000_000))
        #expect(xnys.nextOpen(after: saturday) == Date(timeIntervalSince1970: Double(ny("2024-03-18", "09:30") / 1_000_000_000)))
        #expect(Instants.iso8601(xnys.nextClose(after: saturday), in: newYork) == "2024-03-18T16:00:00-04:00")
        #expect(xnys.status(at: saturday, includeExtendedHours: false).nextChange == ny("2024-03-18", "09:30"))
    }

    @Test("configured closures and early closes override the rules")
    func overrides() throws {
        let calendar = MarketCalendar(
            timeZone: newYork,
            extraClosures: [SpecialClosure(day("2024-03-14"), name: "Exchange outage"),
                            SpecialClosure(day("2024-03-13")),
                            SpecialClosure(day("2024-03-16"), name: "A Saturday")],
            extraEarlyCloses: [day("2024-03-15"): LocalTime(hour: 14),
                               day("2024-11-29"): LocalTime(hour: 16),  // cancels the rule's 13:00
                               day("2024-03-29"): LocalTime(hour: 13),  // Good Friday: stays closed
                               day("2024-03-14"): LocalTime(hour: 13),  // closed by configuration
                               day("2024-03-19"): LocalTime(hour: 9),  // before the open
                               day("2024-03-20"): LocalTime(hour: 16, minute: 30)])  // after the close
        #expect(calendar.holiday(on: day("2024-03-14")) == "Exchange outage")
        #expect(calendar.holiday(on: day("2024-03-13")) == "Special closure")
        #expect(!calendar.isTradingDay(day("2024-03-14")) && calendar.session(on: day("2024-03-14")) == nil)
        #expect(xnys.isTradingDay(day("2024-03-14")))
        #expect(calendar.nextOpen(after: ny("2024-03-12", "16:00")) == ny("2024-03-15", "09:30"))
        let outage = calendar.status(at: ny("2024-03-14", "12:00"), includeExtendedHours: false)
        #expect(outage.phase == .closed && outage.holiday == "Exchange outage" && outage.since == ny("2024-03-12", "16:00"))

        let friday = try #require(calendar.session(on: day("2024-03-15")))
        #expect(friday.earlyClose && friday.close == ny("2024-03-15", "14:00") && friday.postClose == ny("2024-03-15", "17:00"))
        #expect(calendar.status(at: ny("2024-03-15", "14:00"), includeExtendedHours: false).phase == .closed)
        #expect(calendar.status(at: ny("2024-03-15", "13:59:59"), includeExtendedHours: false).phase == .regular)

        let blackFriday = try #require(calendar.session(on: day("2024-11-29")))
        #expect(!blackFriday.earlyClose && blackFriday.close == ny("2024-11-29", "16:00") && blackFriday.postClose == ny("2024-11-29", "20:00"))
        #expect(calendar.session(on: day("2024-03-19"))?.close == ny("2024-03-19", "16:00"))
        #expect(calendar.session(on: day("2024-03-20"))?.close == ny("2024-03-20", "16:00"))
        #expect(calendar.session(on: day("2024-03-29")) == nil)
        #expect(calendar.ignoredOverrides.map(\.description)
            == ["2024-03-14", "2024-03-16", "2024-03-19", "2024-03-20", "2024-03-29"])
        #expect(xnys.ignoredOverrides.isEmpty)
        // The rules still hold elsewhere.
        #expect(calendar.session(on: day("2024-12-24"))?.earlyClose == true)
        #expect(calendar.sessions(from: day("2024-03-11"), to: day("2024-03-15")).count == 3)
    }
}
