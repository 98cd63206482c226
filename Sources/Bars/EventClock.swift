import Contracts
import Timekeeping

/// The clock event times are checked against: the wall clock live; a replay or a backtest
/// passes its own (the data's time), so that its events are not "in the future".
public struct ReferenceClock: Sendable {
    /// The reference instant, UTC nanoseconds.
    public var now: @Sendable () -> Int64
    /// A reading that never steps backwards, in nanoseconds from any origin: how much time
    /// passed between two events.
    public var monotonic: @Sendable () -> Int64

    public init(now: @escaping @Sendable () -> Int64, monotonic: @escaping @Sendable () -> Int64) {
        self.now = now
        self.monotonic = monotonic
    }

    /// The system's wall clock, and the monotonic clock for elapsed time (so a step of the wall
    /// clock neither stalls nor rushes closing bars).
    public static let wall = ReferenceClock(
        now: { WallClock.nanoseconds() },
        monotonic: { Nanoseconds.of(ContinuousClock.now - monotonicOrigin) })

    /// A replay's or a test's clock: `now` serves for both readings.
    public static func replay(_ now: @escaping @Sendable () -> Int64) -> ReferenceClock {
        ReferenceClock(now: now, monotonic: now)
    }

    private static let monotonicOrigin = ContinuousClock.now
}

/// Exchange time as the processor (and the ingestor's bar history) knows it: the newest event
/// time seen, advanced by the time since it was seen, so bars still close when every ticker
/// goes quiet.
///
/// An event more than `maxLeadNs` ahead of the reference clock is refused and does not move
/// the clock: one trade stamped in 2262 would otherwise close every open bar and make every
/// later trade late. Within the lead a trade does move it, so the lead also bounds how early
/// one trade stamped ahead can close bars (by at most the lead; the clock catches up after).
/// Every operation is total (saturating arithmetic).
public struct EventClock: Sendable {
    public let reference: ReferenceClock
    /// How far ahead of the reference an event may be, in nanoseconds (not negative).
    public let maxLeadNs: Int64
    /// The newest event time taken, nil before the first.
    public private(set) var newestEvent: Int64?
    private var seenAt: Int64 = 0

    public init(maxLeadNs: Int64, reference: ReferenceClock = .wall) {
        self.maxLeadNs = max(0, maxLeadNs)
        self.reference = reference
    }

    /// Whether `eventTime` lies at most `maxLeadNs` ahead of the reference clock.
    public func accepts(_ eventTime: Int64) -> Bool {
        eventTime <= Nanoseconds.adding(reference.now(), maxLeadNs)
    }

    /// Takes `eventTime` into the clock when ``accepts(_:)`` does; returns false, changing
    /// nothing, when it lies too far ahead. Older times are accepted and change nothing.
    @discardableResult
    public mutating func observe(eventTime: Int64) -> Bool {
        guard accepts(eventTime) else { return false }
        if newestEvent.map({ eventTime > $0 }) ?? true {
            newestEvent = eventTime
            seenAt = reference.monotonic()
        }
        return true
    }

    /// The newest event time plus the time since it was seen; the reference clock before any
    /// event.
    public func watermark() -> Int64 {
        guard let newestEvent else { return reference.now() }
        let elapsed = max(0, Nanoseconds.subtracting(reference.monotonic(), seenAt))
        return Nanoseconds.adding(newestEvent, elapsed)
    }
}
