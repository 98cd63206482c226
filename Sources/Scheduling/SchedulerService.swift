import Contracts
import Foundation
import Logging
import MarketCalendar
import ServiceKit
import ServiceLifecycle
import Timekeeping

/// Publishes `market.session` on every phase change and every `status_interval_seconds`, and
/// the timers `timer.status_report` (every `report_interval_seconds` of scheduler time) and
/// `timer.end_of_day` (at each regular close), on the real or a simulated clock.
public struct SchedulerService: Service {
    let environment: ServiceEnvironment
    let calendar: MarketCalendar
    let clock: SchedulerClock

    public init(environment: ServiceEnvironment, calendar: MarketCalendar, clock: SchedulerClock) {
        self.environment = environment
        self.calendar = calendar
        self.clock = clock
    }

    public func run() async throws {
        let config = environment.config
        let logger = environment.logger
        let statusInterval = Nanoseconds.duration(seconds: config.scheduler.statusIntervalSeconds)
        let reportInterval = Nanoseconds.clampingSeconds(config.scheduler.reportIntervalSeconds)
        let zone = TimeZone(identifier: config.marketHours.timezone) ?? calendar.timeZone
        if clock.isSimulated {
            logger.notice(
                "simulated clock from \(Instants.iso8601(clock.now(), in: zone)) at \(clock.speed)x: a trading day takes \(String(format: "%.1f", 6.5 * 3600 / clock.speed / 60)) minutes")
        }
        let reportTopic = try Topic.timer("status_report")
        let endOfDayTopic = try Topic.timer("end_of_day")
        var lastPhase: MarketPhase?
        var nextPeriodic = ContinuousClock.now
        var nextReport = Nanoseconds.adding(clock.now(), reportInterval)
        var reports: UInt64 = 0
        var endsOfDay: UInt64 = 0
        var pendingClose: TradingDay?

        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let now = clock.now()
            let status = calendar.status(at: now, includeExtendedHours: true)
            // End of day: once per regular session seen open, at its close.
            if let session = pendingClose, now >= session.close {
                endsOfDay += 1
                publishTimer(on: endOfDayTopic, name: "end_of_day", day: session.date, now: now, count: endsOfDay)
                pendingClose = nil
            }
            if let session = status.session, now < session.close, now >= session.preOpen { pendingClose = session }

            if status.phase != lastPhase {
                publish(status, now: now, changed: true)
                if let lastPhase {
                    logger.info("session \(lastPhase.rawValue) → \(status.phase.rawValue) at \(Instants.iso8601(now, in: zone))")
                } else {
                    logger.info("session \(status.phase.rawValue) (\(status.tradingDay)); next \(status.nextPhase.rawValue) at \(Instants.iso8601(status.nextChange, in: zone))")
                }
                lastPhase = status.phase
                nextPeriodic = .now + statusInterval
            } else if ContinuousClock.now >= nextPeriodic {
                publish(status, now: now, changed: false)
                nextPeriodic = nextPeriodic + statusInterval
                if nextPeriodic < .now { nextPeriodic = .now + statusInterval }
            }
            if now >= nextReport {
                reports += 1
                publishTimer(on: reportTopic, name: "status_report", day: status.tradingDay, now: now, count: reports)
                // A simulated clock may have run past several periods: fire once, then realign.
                let behind = Nanoseconds.subtracting(now, nextReport)
                nextReport = Nanoseconds.adding(now, reportInterval - behind % reportInterval)
            }

            // Sleep until the next thing due, at most a second (bounded; a slow clock check).
            var wait = min(nextPeriodic - .now, clock.realDuration(until: status.nextChange), clock.realDuration(until: nextReport))
            if let close = pendingClose?.close { wait = min(wait, clock.realDuration(until: close)) }
            let pause = max(.milliseconds(1), min(wait, .seconds(1)))
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
    }

    func publish(_ status: MarketStatus, now: Int64, changed: Bool) {
        let message = MarketSession(
            status: status, calendar: calendar, displayZone: environment.config.marketHours.timezone, clock: clock,
            now: now, changed: changed)
        environment.publish(.session(message), on: .marketSession, eventTime: now)
        environment.counters.add(changed ? "session.changes" : "session.periodic")
    }

    func publishTimer(on topic: Topic, name: String, day: LocalDate, now: Int64, count: UInt64) {
        var timer = TimerEvent()
        timer.name = name
        timer.tradingDay = day.description
        timer.clockNs = now
        timer.count = count
        environment.publish(.timer(timer), on: topic, eventTime: now)
        environment.counters.add("timers.\(name)")
        environment.logger.info("timer \(name) #\(count) (\(day))")
    }
}
