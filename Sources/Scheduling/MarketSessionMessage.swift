import Contracts
import MarketCalendar
import SessionClient

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
