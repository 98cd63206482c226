/// One trading day's session bounds, as UTC nanoseconds since the Unix epoch (Tickwire's bus
/// instants; `Instants.date(_:)` turns one into a `Date`).
///
/// Intervals are half-open: pre-market is `preOpen..<open`, the regular session `open..<close`,
/// after-hours `close..<postClose`.
public struct TradingDay: Hashable, Sendable {
    /// The exchange-local date of the session.
    public let date: LocalDate
    /// Start of pre-market trading (04:00 local).
    public let preOpen: Int64
    /// Start of the regular session (09:30 local).
    public let open: Int64
    /// End of the regular session (16:00 local, 13:00 on early-close days).
    public let close: Int64
    /// End of after-hours trading (20:00 local; 17:00 on early-close days, when the NYSE's
    /// late trading sessions close at 5:00 p.m.).
    public let postClose: Int64
    /// Whether the regular session ends before 16:00 local.
    public let earlyClose: Bool

    public init(date: LocalDate, preOpen: Int64, open: Int64, close: Int64, postClose: Int64, earlyClose: Bool) {
        self.date = date
        self.preOpen = preOpen
        self.open = open
        self.close = close
        self.postClose = postClose
        self.earlyClose = earlyClose
    }

    /// The phase at `instant` within this day's bounds (`closed` outside `preOpen..<postClose`).
    public func phase(at instant: Int64) -> MarketPhase {
        if instant < preOpen || instant >= postClose { return .closed }
        if instant < open { return .preMarket }
        if instant < close { return .regular }
        return .postMarket
    }
}

/// Where the market is in its day. `MarketCalendar.status` reports pre- and post-market as
/// `closed` unless the caller counts extended hours.
public enum MarketPhase: String, Hashable, Sendable, CaseIterable {
    case closed
    case preMarket
    case regular
    case postMarket
}

/// The market's state at an instant: see `MarketCalendar.status(at:includeExtendedHours:)`.
public struct MarketStatus: Hashable, Sendable {
    /// The phase at the instant.
    public let phase: MarketPhase
    /// When `phase` began (UTC ns): for `closed`, the end of the previous session's last
    /// counted phase (its close, or its after-hours end with extended hours).
    public let since: Int64
    /// The phase that follows.
    public let nextPhase: MarketPhase
    /// When `nextPhase` begins (UTC ns).
    public let nextChange: Int64
    /// The exchange-local date of the instant. Sessions never cross local midnight, so while
    /// the market is in any phase but `closed` this is that session's date.
    public let tradingDay: LocalDate
    /// The session on `tradingDay`, nil when the exchange does not trade that day.
    public let session: TradingDay?
    /// Why the exchange is closed on `tradingDay` (a holiday or special closure), if it is a
    /// weekday it does not trade.
    public let holiday: String?

    /// Whether `tradingDay`'s regular session ends early.
    public var earlyClose: Bool { session?.earlyClose ?? false }

    public init(phase: MarketPhase, since: Int64, nextPhase: MarketPhase, nextChange: Int64,
                tradingDay: LocalDate, session: TradingDay?, holiday: String?) {
        self.phase = phase
        self.since = since
        self.nextPhase = nextPhase
        self.nextChange = nextChange
        self.tradingDay = tradingDay
        self.session = session
        self.holiday = holiday
    }
}

/// A closure added by configuration: the exchange does not trade on `date`.
public struct SpecialClosure: Hashable, Sendable {
    public let date: LocalDate
    /// Shown by `MarketCalendar.holiday(on:)`; "Special closure" when nil.
    public let name: String?

    public init(_ date: LocalDate, name: String? = nil) {
        self.date = date
        self.name = name
    }
}
