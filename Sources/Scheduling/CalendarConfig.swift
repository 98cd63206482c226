import Contracts
import Foundation
import MarketCalendar
import ServiceKit

extension MarketCalendar {
    /// The XNYS calendar with the config's special closures and early closes
    /// (`market_hours.special_closures`, `market_hours.early_closes`).
    public static func configured(_ config: TickwireConfig) throws(ConfigError) -> MarketCalendar {
        let zone: TimeZone
        do {
            zone = try newYork()
        } catch {
            throw ConfigError(path: "market_hours", message: "\(error)")
        }
        let closures = config.marketHours.specialClosures.compactMap { closure in
            LocalDate(closure.date).map { SpecialClosure($0, name: closure.name) }
        }
        var earlyCloses: [LocalDate: LocalTime] = [:]
        for early in config.marketHours.earlyCloses {
            if let date = LocalDate(early.date), let time = LocalTime(early.close) { earlyCloses[date] = time }
        }
        return MarketCalendar(timeZone: zone, extraClosures: closures, extraEarlyCloses: earlyCloses)
    }
}

extension MarketPhase {
    /// The bus's enum for this phase.
    public var sessionPhase: SessionPhase {
        switch self {
        case .closed: .closed
        case .preMarket: .preMarket
        case .regular: .regular
        case .postMarket: .postMarket
        }
    }
}

extension MarketSession {
    /// The bus message for `status`, as the scheduler publishes it.
    public init(status: MarketStatus, calendar: MarketCalendar, displayZone: String, clock: SchedulerClock, now: Int64, changed: Bool) {
        self.init()
        exchange = "XNYS"
        phase = status.phase.sessionPhase
        nextPhase = status.nextPhase.sessionPhase
        nextChangeNs = status.nextChange
        timezone = displayZone
        tradingDay = status.tradingDay.description
        earlyClose = status.earlyClose
        holiday = status.holiday ?? ""
        phaseStartNs = status.since
        clockNs = now
        simulatedClock = clock.isSimulated
        clockSpeed = clock.speed
        // The regular session of the trading day, or of the next trading day while closed
        // after today's close (or on a day without one).
        let session = status.session.flatMap { $0.close > now ? $0 : nil }
            ?? calendar.session(on: calendar.localDate(of: calendar.nextOpen(after: now)))
        regularOpenNs = session?.open ?? 0
        regularCloseNs = session?.close ?? 0
        self.changed = changed
    }
}
