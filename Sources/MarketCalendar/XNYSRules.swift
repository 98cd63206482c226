/// The New York Stock Exchange's holiday and early-close rules, as checked against
/// `exchange_calendars` (XNYS) for 2000-01-01...2035-12-31 by the tests. Dates before 2000 get
/// today's rules, which do not describe the exchange's older history.
enum XNYSRules {
    /// Why the exchange is closed on `date`, a weekday, by rule or by a published special
    /// closure; nil when the rules keep it open (weekends are the caller's business).
    static func holiday(on date: LocalDate) -> String? {
        if let special = specialClosures[date] { return special }
        let weekday = date.weekday
        switch date.month {
        case 1:
            // New Year's Day: a Sunday one is observed on Monday; a Saturday one closes no day
            // (NYSE Rule 7.2: no Friday December 31 closure).
            if date.day == 1 && !date.isWeekend { return "New Year's Day" }
            if date.day == 2 && weekday == .monday { return "New Year's Day (observed)" }
            // Martin Luther King Jr. Day: third Monday, observed by the NYSE since 1998.
            if date.year >= 1998 && weekday == .monday && (15...21).contains(date.day) {
                return "Martin Luther King Jr. Day"
            }
        case 2:
            if weekday == .monday && (15...21).contains(date.day) { return "Washington's Birthday" }
        case 3, 4:
            if date == easterSunday(date.year).adding(days: -2) { return "Good Friday" }
        case 5:
            if weekday == .monday && date.day >= 25 { return "Memorial Day" }
        case 6:
            if date.year >= 2022, let name = observed(date, day: 19, name: "Juneteenth National Independence Day") {
                return name
            }
        case 7:
            return observed(date, day: 4, name: "Independence Day")
        case 9:
            if weekday == .monday && date.day <= 7 { return "Labor Day" }
        case 11:
            if weekday == .thursday && (22...28).contains(date.day) { return "Thanksgiving Day" }
        case 12:
            return observed(date, day: 25, name: "Christmas Day")
        default:
            break
        }
        return nil
    }

    /// Whether the rules close `date` (a trading day) early, at 13:00.
    static func closesEarly(_ date: LocalDate) -> Bool {
        if specialEarlyCloses.contains(date) { return true }
        let weekday = date.weekday
        switch (date.month, date.day) {
        case (7, 3):
            // The day before Independence Day when July 4 is a Tuesday, Wednesday or Friday;
            // when it is a Thursday, Wednesday July 3 only since 2013 (see July 5 below).
            switch weekday {
            case .monday, .tuesday, .thursday: return true
            case .wednesday: return date.year >= 2013
            default: return false
            }
        case (7, 5):
            // Before 2013, when July 4 was a Thursday the Friday after it closed early instead.
            return weekday == .friday && date.year < 2013
        case (11, 23...29):
            // The day after Thanksgiving.
            return weekday == .friday
        case (12, 24):
            // Christmas Eve, unless it is the Friday that observes a Saturday Christmas.
            return weekday != .friday && !date.isWeekend
        default:
            return false
        }
    }

    /// Published closures outside the rules, since 2000.
    static let specialClosures: [LocalDate: String] = {
        var closures = [LocalDate: String]()
        for day in 11...14 { closures[LocalDate(year: 2001, month: 9, day: day)] = "September 11 attacks" }
        closures[LocalDate(year: 2004, month: 6, day: 11)] = "National Day of Mourning for Ronald Reagan"
        closures[LocalDate(year: 2007, month: 1, day: 2)] = "National Day of Mourning for Gerald Ford"
        for day in 29...30 { closures[LocalDate(year: 2012, month: 10, day: day)] = "Hurricane Sandy" }
        closures[LocalDate(year: 2018, month: 12, day: 5)] = "National Day of Mourning for George H. W. Bush"
        closures[LocalDate(year: 2025, month: 1, day: 9)] = "National Day of Mourning for Jimmy Carter"
        return closures
    }()

    /// Published 13:00 closes outside the rules: Y2K eve, and the Friday after Christmas 2003.
    static let specialEarlyCloses: Set<LocalDate> = [
        LocalDate(year: 1999, month: 12, day: 31),
        LocalDate(year: 2003, month: 12, day: 26),
    ]

    /// `name` if `date` is the weekday observing the holiday on `day` of `date.month`: the day
    /// itself, the Friday before a Saturday one, or the Monday after a Sunday one.
    private static func observed(_ date: LocalDate, day: Int, name: String) -> String? {
        switch date.day - day {
        case 0: return date.isWeekend ? nil : name
        case -1: return date.weekday == .friday ? "\(name) (observed)" : nil
        case 1: return date.weekday == .monday ? "\(name) (observed)" : nil
        default: return nil
        }
    }

    /// Easter Sunday of `year` (Gregorian; the anonymous / Meeus-Jones-Butcher computus).
    static func easterSunday(_ year: Int) -> LocalDate {
        let a = year % 19
        let b = year / 100
        let c = year % 100
        let d = b / 4
        let e = b % 4
        let f = (b + 8) / 25
        let g = (b - f + 1) / 3
        let h = (19 * a + b - d - g + 15) % 30
        let i = c / 4
        let k = c % 4
        let l = (32 + 2 * e + 2 * i - h - k) % 7
        let m = (a + 11 * h + 22 * l) / 451
        let month = (h + l - 7 * m + 114) / 31
        let day = (h + l - 7 * m + 114) % 31 + 1
        return LocalDate(year: year, month: month, day: day)
    }
}
