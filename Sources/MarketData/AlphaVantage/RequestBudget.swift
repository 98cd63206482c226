import Foundation
import ServiceKit
import Synchronization
import Timekeeping

/// A REST provider's rate limit as a budget to spend, not a wall to run into.
///
/// ## Semantics
/// With `P` = requests per minute and `D` = requests per day (each rounded down to a whole
/// number when it is 1 or more; a rate below 1 is used as is, e.g. 0.5/min = one per 2 min):
///
/// 1. **Even spacing.** Consecutive request starts are at least
///    `interval = max(60 s / P, 86 400 s / D)` apart: the one steady rate that satisfies both
///    limits. With the free key (5/min, 25/day) that is one request every 3 456 s (57.6 min);
///    the daily quota is spread over the whole day, never burnt in a burst.
/// 2. **Both windows, always.** A request may start at `t` only if fewer than `P` starts lie
///    in `(t − 60 s, t]` and fewer than `D` in `(t − 86 400 s, t]` (rolling windows; every
///    calendar minute or day is then within the limit too). Spacing alone already
///    guarantees this; the check also holds against back-offs and rounding.
/// 3. **Back-off.** After the provider says "too many", no request starts before the window
///    in question frees: ``backOff(_:)`` with `.minute` blocks for 60 s; `.day` blocks until
///    the oldest start still inside the 24 h window leaves it (so at most one probe per
///    freed slot; if the log is empty, 24 h from now).
///
/// Unused slots are not saved up: after a quiet period (a closed market) the next request
/// goes at once, the one after waits a full `interval`. So there are never bursts, at the
/// price that a budget spread over 24 h is only partly usable during a 6.5 h session.
/// A start is recorded when ``acquire()`` returns (the actual time, not the planned slot);
/// a cancelled wait records nothing.
///
/// Generic over `Clock` so tests drive it with a manual clock. A rate that is not finite or
/// not positive means "no limit" for that window (config validation rejects those).
public final class RequestBudget<C: Clock>: Sendable where C.Duration == Duration, C.Instant: Sendable {
    public enum Window: Sendable, Equatable {
        case minute
        case day
    }

    private struct State {
        /// Start times, oldest first, within the longest window kept.
        var starts: [C.Instant] = []
        /// No start before this (a back-off).
        var blockedUntil: C.Instant?
    }

    public let requestsPerMinute: Double
    public let requestsPerDay: Double
    /// The minimum spacing of two starts.
    public let interval: Duration
    /// The most starts in any 60 s window, nil when unlimited.
    public let minuteCapacity: Int?
    /// The most starts in any 24 h window, nil when unlimited.
    public let dayCapacity: Int?
    public let clock: C
    private let state = Mutex(State())

    public static var minute: Duration { .seconds(60) }
    public static var day: Duration { .seconds(86_400) }

    public init(requestsPerMinute: Double, requestsPerDay: Double, clock: C) {
        self.requestsPerMinute = requestsPerMinute
        self.requestsPerDay = requestsPerDay
        self.clock = clock
        let perMinute = Self.effectiveRate(requestsPerMinute)
        let perDay = Self.effectiveRate(requestsPerDay)
        interval = Self.interval(perMinute: perMinute, perDay: perDay)
        minuteCapacity = perMinute.map { max(1, Int(min($0, 1e15).rounded(.down))) }
        dayCapacity = perDay.map { max(1, Int(min($0, 1e15).rounded(.down))) }
    }

    /// The rate used for spacing: whole numbers from 1 up, fractions below 1 as they are,
    /// nil for "no limit".
    static func effectiveRate(_ rate: Double) -> Double? {
        guard rate.isFinite, rate > 0 else { return nil }
        return rate >= 1 ? rate.rounded(.down) : rate
    }

    /// `max(60 s / perMinute, 86 400 s / perDay)`, rounded up to the nanosecond (clamped to
    /// what `Int64` nanoseconds hold, for rates far below what config validation allows).
    static func interval(perMinute: Double?, perDay: Double?) -> Duration {
        var seconds = 0.0
        if let perMinute { seconds = max(seconds, 60 / perMinute) }
        if let perDay { seconds = max(seconds, 86_400 / perDay) }
        return .nanoseconds(Nanoseconds.clamping((seconds * 1e9).rounded(.up)))
    }

    /// The spacing in seconds for these limits (as ``interval``), for planning.
    public static func intervalSeconds(requestsPerMinute: Double, requestsPerDay: Double) -> Double {
        interval(perMinute: effectiveRate(requestsPerMinute), perDay: effectiveRate(requestsPerDay)).inSeconds
    }

    /// Waits (cancellably, on ``clock``) until a request may start, then records the start.
    /// Throws `CancellationError` when the task is cancelled; nothing is recorded then.
    public func acquire() async throws {
        while true {
            try Task.checkCancellation()
            let wait: C.Instant? = state.withLock { state in
                let now = clock.now
                prune(&state, now: now)
                let next = earliestStart(state, now: now)
                if next <= now {
                    state.starts.append(now)
                    return nil
                }
                return next
            }
            guard let wait else { return }
            try await clock.sleep(until: wait, tolerance: nil)
        }
    }

    /// When the next request could start, without taking the slot.
    public func nextStart() -> C.Instant {
        state.withLock { state in
            let now = clock.now
            prune(&state, now: now)
            return earliestStart(state, now: now)
        }
    }

    /// Blocks new starts until `window` frees (see the type's documentation).
    public func backOff(_ window: Window) {
        state.withLock { state in
            let now = clock.now
            prune(&state, now: now)
            let until: C.Instant
            switch window {
            case .minute:
                until = now.advanced(by: Self.minute)
            case .day:
                until = (state.starts.first ?? now).advanced(by: Self.day)
            }
            if let blocked = state.blockedUntil, blocked >= until { return }
            state.blockedUntil = until
        }
    }

    /// The starts recorded within the last 24 h (or 60 s when there is no daily limit),
    /// oldest first.
    public var recentStarts: [C.Instant] {
        state.withLock { state in
            prune(&state, now: clock.now)
            return state.starts
        }
    }

    private func earliestStart(_ state: State, now: C.Instant) -> C.Instant {
        var earliest = now
        if let last = state.starts.last { earliest = max(earliest, last.advanced(by: interval)) }
        if let blocked = state.blockedUntil { earliest = max(earliest, blocked) }
        let count = state.starts.count
        if let capacity = minuteCapacity, count >= capacity {
            earliest = max(earliest, state.starts[count - capacity].advanced(by: Self.minute))
        }
        if let capacity = dayCapacity, count >= capacity {
            earliest = max(earliest, state.starts[count - capacity].advanced(by: Self.day))
        }
        return earliest
    }

    /// Drops starts that no window can see any more.
    private func prune(_ state: inout State, now: C.Instant) {
        let kept = dayCapacity == nil ? Self.minute : Self.day
        let horizon = now.advanced(by: .zero - kept)
        if let firstKept = state.starts.firstIndex(where: { $0 > horizon }) {
            if firstKept > 0 { state.starts.removeFirst(firstKept) }
        } else {
            state.starts.removeAll()
        }
        if let blocked = state.blockedUntil, blocked <= now { state.blockedUntil = nil }
    }
}
