import Contracts
import Foundation
import Logging
import MarketCalendar
import ServiceKit
import ServiceLifecycle
import Synchronization
import Timekeeping

/// Follows the scheduler's `market.session` for a service that must act only in some sessions
/// (the ingestor's polling, the signal generator's signals).
///
/// While no scheduler is heard (none yet, or no message for three status intervals) it falls
/// back to `ingestor.session_default`: `calendar` computes the phase from the same exchange
/// calendar on this machine's clock; `open` and `closed` fix it. Every change of phase or of
/// source is reported to `onChange`; losing the scheduler raises a warning alert.
public struct SessionFollower: Sendable {
    public enum Source: String, Sendable {
        case scheduler
        /// The exchange calendar on the local clock.
        case calendar
        /// `session_default` `open` or `closed`.
        case fixed
    }

    let environment: ServiceEnvironment
    let calendar: MarketCalendar
    let onChange: @Sendable (SessionPhase, Source) -> Void
    let state = SharedState()
    /// A scheduler is presumed gone after this long without `market.session`.
    public let staleAfter: Duration

    final class SharedState: Sendable {
        struct Values {
            var last: MarketSession?
            var receivedAt: ContinuousClock.Instant?
            var reported: (phase: SessionPhase, source: Source)?
        }
        let values = Mutex(Values())
    }

    public init(
        environment: ServiceEnvironment, calendar: MarketCalendar,
        onChange: @escaping @Sendable (SessionPhase, Source) -> Void
    ) {
        self.environment = environment
        self.calendar = calendar
        self.onChange = onChange
        staleAfter = Nanoseconds.duration(seconds: environment.config.scheduler.statusIntervalSeconds * 3)
    }

    /// The phase `session_default` gives without a scheduler, at `now` (UTC nanoseconds).
    public static func fallback(config: TickwireConfig, calendar: MarketCalendar, now: Int64) -> (SessionPhase, Source) {
        switch config.ingestor.sessionDefault {
        case "open": return (.regular, .fixed)
        case "closed": return (.closed, .fixed)
        default: return (calendar.status(at: now, includeExtendedHours: true).phase.sessionPhase, .calendar)
        }
    }

    /// The phase to act on now, and where it came from.
    public func current() -> (SessionPhase, Source) {
        let fresh = state.values.withLock { values -> MarketSession? in
            guard let last = values.last, let at = values.receivedAt, ContinuousClock.now - at < staleAfter else { return nil }
            return last
        }
        if let fresh { return (fresh.phase, .scheduler) }
        return Self.fallback(config: environment.config, calendar: calendar, now: WallClock.nanoseconds())
    }

    /// Subscribes and keeps `onChange` up to date until shutdown.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await listen() }
            group.addTask { await watch() }
            await group.next()
            group.cancelAll()
        }
    }

    func listen() async {
        let subscription: MessageSubscription
        do {
            subscription = try await environment.subscribe([TopicPattern(exact: .marketSession)])
        } catch {
            environment.logger.error("cannot subscribe to market.session: \(error); following ingestor.session_default")
            try? await gracefulShutdown()
            return
        }
        do {
            for try await delivery in subscription.cancelOnGracefulShutdown() {
                guard case .session(let session) = delivery.payload else { continue }
                state.values.withLock { values in
                    values.last = session
                    values.receivedAt = .now
                }
                report()
            }
        } catch {
            environment.logger.error("market.session subscription failed: \(error)")
        }
        await subscription.close()
    }

    /// Re-evaluates every second: the fallback's phase moves with the clock, and a scheduler
    /// that stops talking must be noticed.
    func watch() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            report()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
    }

    func report() {
        let (phase, source) = current()
        let previous = state.values.withLock { values -> (phase: SessionPhase, source: Source)? in
            defer { values.reported = (phase, source) }
            return values.reported
        }
        guard previous?.phase != phase || previous?.source != source else { return }
        if previous?.source != source {
            switch source {
            case .scheduler:
                environment.logger.info("following the scheduler's market.session")
            case .calendar, .fixed:
                let how = source == .calendar ? "the exchange calendar on the local clock" : "session_default '\(environment.config.ingestor.sessionDefault)'"
                if previous?.source == .scheduler {
                    environment.raiseAlert(
                        .warning, category: "scheduler.silent", title: "no market.session",
                        message: "no market.session for \(staleAfter); following \(how) until the scheduler is back")
                } else {
                    environment.logger.info("no scheduler heard yet: following \(how)")
                }
            }
        }
        environment.logger.info("market session: \(phase) (from \(source.rawValue))")
        onChange(phase, source)
    }
}
