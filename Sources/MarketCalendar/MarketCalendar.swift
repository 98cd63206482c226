import Foundation

/// The New York Stock Exchange's (XNYS) trading calendar: which days trade, each day's session
/// bounds as UTC instants, and the market's phase at any instant.
///
/// - Regular session 09:30–16:00 America/New_York (13:00 on early-close days); pre-market
///   04:00–09:30; after-hours 16:00–20:00, or 13:00–17:00 on early-close days (the NYSE's late
///   trading sessions close at 5:00 p.m. then). Whether extended hours count is the caller's
///   choice, per query.
/// - Holidays by rule with the NYSE's observance (Saturday -> Friday, Sunday -> Monday, except a
///   Saturday New Year's Day closes no day), the special closures published since 2000, and the
///   13:00 early closes (see `XNYSRules`). Verified against `exchange_calendars` for 2000–2035.
/// - Configuration can add closures and early closes without a release; they override the
///   rules.
///
/// Every query is a few integer operations and time-zone offset look-ups per day: nothing is
/// cached, so a calendar is a plain value, cheap to copy and share.
public struct MarketCalendar: Sendable {
    /// The NYSE with its published rules and nothing added.
    public static func xnys() throws(MissingTimeZone) -> MarketCalendar {
        MarketCalendar(timeZone: try newYork())
    }

    /// America/New_York, from the system's time zone database; a clear error, not a wrong
    /// calendar, when the database lacks it (no tzdata).
    public static func newYork() throws(MissingTimeZone) -> TimeZone {
        guard let zone = TimeZone(identifier: "America/New_York") else { throw MissingTimeZone(identifier: "America/New_York") }
        return zone
    }

    /// Local session times.
    public static let preOpenTime = LocalTime(hour: 4)
    public static let openTime = LocalTime(hour: 9, minute: 30)
    public static let closeTime = LocalTime(hour: 16)
    public static let postCloseTime = LocalTime(hour: 20)
    /// The regular close on the rules' early-close days.
    public static let earlyCloseTime = LocalTime(hour: 13)
    /// The end of after-hours trading on an early-close day.
    public static let earlyPostCloseTime = LocalTime(hour: 17)

    /// The exchange's time zone, in which the session times are wall-clock times.
    public let timeZone: TimeZone
    private let extraClosures: [LocalDate: String]
    private let extraEarlyCloses: [LocalDate: LocalTime]
    /// Configured overrides that change nothing, sorted: closures on weekends, and early closes
    /// on days that do not trade or whose time is not after 09:30 and at most 16:00. For a
    /// caller to warn about.
    public let ignoredOverrides: [LocalDate]

    /// A calendar in `timeZone` (America/New_York for the NYSE).
    ///
    /// - Parameters:
    ///   - extraClosures: days the exchange does not trade, whatever the rules say.
    ///   - extraEarlyCloses: the regular close, local time, of days that trade; replaces the
    ///     rules' close (13:00 or 16:00) — 16:00 cancels a rule's early close. A close before
    ///     16:00 makes it an early-close day, whose after-hours end at 17:00.
    public init(timeZone: TimeZone,
                extraClosures: [SpecialClosure] = [],
                extraEarlyCloses: [LocalDate: LocalTime] = [:]) {
        self.timeZone = timeZone
        var closures = [LocalDate: String]()
        var ignored = Set<LocalDate>()
        for closure in extraClosures {
            if closure.date.isWeekend { ignored.insert(closure.date); continue }
            closures[closure.date] = closure.name ?? closures[closure.date] ?? "Special closure"
        }
        self.extraClosures = closures
        var earlyCloses = [LocalDate: LocalTime]()
        for (date, time) in extraEarlyCloses {
            let trades = !date.isWeekend && closures[date] == nil && XNYSRules.holiday(on: date) == nil
            if trades && time > Self.openTime && time <= Self.closeTime {
                earlyCloses[date] = time
            } else {
                ignored.insert(date)
            }
        }
        self.extraEarlyCloses = earlyCloses
        self.ignoredOverrides = ignored.sorted()
    }

    // MARK: Days

    /// Why the exchange does not trade on `date`, a weekday: a holiday ("Good Friday",
    /// "Independence Day (observed)"), a special closure ("Hurricane Sandy") or a configured
    /// one. Nil on trading days and weekends.
    public func holiday(on date: LocalDate) -> String? {
        if date.isWeekend { return nil }
        return extraClosures[date] ?? XNYSRules.holiday(on: date)
    }

    /// Whether the exchange trades on `date`.
    public func isTradingDay(_ date: LocalDate) -> Bool {
        !date.isWeekend && extraClosures[date] == nil && XNYSRules.holiday(on: date) == nil
    }

    /// The session on `date`, nil when the exchange does not trade that day.
    public func session(on date: LocalDate) -> TradingDay? {
        guard isTradingDay(date) else { return nil }
        let close = extraEarlyCloses[date] ?? (XNYSRules.closesEarly(date) ? Self.earlyCloseTime : Self.closeTime)
        let early = close < Self.closeTime
        return TradingDay(
            date: date,
            preOpen: instant(date, Self.preOpenTime),
            open: instant(date, Self.openTime),
            close: instant(date, close),
            postClose: instant(date, early ? Self.earlyPostCloseTime : Self.postCloseTime),
            earlyClose: early)
    }

    /// The sessions of the trading days from `start` through `end`, both included, in order.
    public func sessions(from start: LocalDate, to end: LocalDate) -> [TradingDay] {
        guard start <= end else { return [] }
        var result = [TradingDay]()
        result.reserveCapacity(start.days(to: end) * 5 / 7 + 2)
        var date = start
        while date <= end {
            if let session = session(on: date) { result.append(session) }
            date = date.adding(days: 1)
        }
        return result
    }

    // MARK: Instants

    /// The exchange-local date at `instant` (UTC nanoseconds).
    public func localDate(of instant: Int64) -> LocalDate {
        let seconds = Instants.split(instant).seconds
        let offset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds)))
        return LocalDate(daysSinceEpoch: Int(Instants.floorDivide(seconds + Int64(offset), 86_400)))
    }

    /// The instant (UTC nanoseconds) of wall-clock `time` on `date` in the exchange's time zone.
    /// Meant for times that exist exactly once that day (the NYSE's do: New York changes its
    /// clocks at 02:00).
    public func instant(_ date: LocalDate, _ time: LocalTime) -> Int64 {
        let local = Int64(date.daysSinceEpoch) * 86_400 + Int64(time.secondsOfDay)
        // The offset at `local` read as UTC is a guess, off by at most the offset itself;
        // the offset at the guessed instant is right unless a change lies in between.
        let guess = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(local)))
        let offset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(local - Int64(guess))))
        return (local - Int64(offset)) * Instants.nanosecondsPerSecond
    }

    /// The market's phase at `instant` (UTC nanoseconds), when it began and what comes next.
    ///
    /// Phases are half-open intervals: 09:30:00 is `regular`, 16:00:00 is `postMarket` (with
    /// extended hours) or `closed`. Without extended hours pre- and post-market are `closed`.
    public func status(at instant: Int64, includeExtendedHours: Bool) -> MarketStatus {
        let date = localDate(of: instant)
        let today = session(on: date)
        let first: MarketPhase = includeExtendedHours ? .preMarket : .regular
        func start(_ session: TradingDay) -> Int64 { includeExtendedHours ? session.preOpen : session.open }
        func end(_ session: TradingDay) -> Int64 { includeExtendedHours ? session.postClose : session.close }
        func make(_ phase: MarketPhase, _ since: Int64, _ next: MarketPhase, _ change: Int64) -> MarketStatus {
            MarketStatus(phase: phase, since: since, nextPhase: next, nextChange: change, tradingDay: date,
                         session: today, holiday: today == nil ? holiday(on: date) : nil)
        }
        if let today {
            switch today.phase(at: instant) {
            case .preMarket where includeExtendedHours:
                return make(.preMarket, today.preOpen, .regular, today.open)
            case .regular:
                return make(.regular, today.open, includeExtendedHours ? .postMarket : .closed, today.close)
            case .postMarket where includeExtendedHours:
                return make(.postMarket, today.close, .closed, today.postClose)
            default:
                if instant < start(today) {
                    return make(.closed, end(previousSession(before: date)), first, start(today))
                }
                return make(.closed, end(today), first, start(nextSession(after: date)))
            }
        }
        return make(.closed, end(previousSession(before: date)), first, start(nextSession(after: date)))
    }

    /// The first regular-session open strictly after `instant` (UTC nanoseconds): during a
    /// session, or at its open, that is the next trading day's.
    public func nextOpen(after instant: Int64) -> Int64 {
        var date = localDate(of: instant)
        while true {
            if let session = session(on: date), session.open > instant { return session.open }
            date = date.adding(days: 1)
        }
    }

    /// The first regular-session close strictly after `instant` (UTC nanoseconds): during a
    /// session, today's close; at or after it, the next trading day's.
    public func nextClose(after instant: Int64) -> Int64 {
        var date = localDate(of: instant)
        while true {
            if let session = session(on: date), session.close > instant { return session.close }
            date = date.adding(days: 1)
        }
    }

    /// `status(at:includeExtendedHours:)` for a `Date`.
    public func status(at date: Date, includeExtendedHours: Bool) -> MarketStatus {
        status(at: Instants.nanoseconds(date), includeExtendedHours: includeExtendedHours)
    }

    /// `nextOpen(after:)` for a `Date`.
    public func nextOpen(after date: Date) -> Date { Instants.date(nextOpen(after: Instants.nanoseconds(date))) }

    /// `nextClose(after:)` for a `Date`.
    public func nextClose(after date: Date) -> Date { Instants.date(nextClose(after: Instants.nanoseconds(date))) }

    /// The first session after `date`. Terminates: only finitely many weekdays are closed
    /// beyond the rules, which leave most weekdays open.
    private func nextSession(after date: LocalDate) -> TradingDay {
        var day = date.adding(days: 1)
        while true {
            if let session = session(on: day) { return session }
            day = day.adding(days: 1)
        }
    }

    /// The last session before `date`.
    private func previousSession(before date: LocalDate) -> TradingDay {
        var day = date.adding(days: -1)
        while true {
            if let session = session(on: day) { return session }
            day = day.adding(days: -1)
        }
    }
}

/// The system's time zone database has no entry for the exchange's zone.
public struct MissingTimeZone: Error, Sendable, Equatable, CustomStringConvertible {
    public var identifier: String
    public var description: String {
        "the time zone database has no \(identifier): install tzdata (apt-get install -y tzdata)"
    }
}
