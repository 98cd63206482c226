import Contracts
import Foundation
import Timekeeping

/// The scheduler's notion of now: the real clock, or a simulated one that starts at a given
/// instant and runs `speed` times faster, so a demo or a test sees a whole trading day in
/// minutes at any time of day.
public struct SchedulerClock: Sendable {
    /// Where simulated time started (nil: the real clock).
    public let simulatedStart: Int64?
    /// Simulated seconds per real second (1 for the real clock).
    public let speed: Double
    private let origin: ContinuousClock.Instant

    public static let real = SchedulerClock(simulatedStart: nil, speed: 1)

    /// A clock from `simulatedStart` at `speed` (a speed that is not a positive finite number
    /// runs at 1).
    public init(simulatedStart: Int64?, speed: Double) {
        self.simulatedStart = simulatedStart
        self.speed = simulatedStart == nil || !(speed.isFinite && speed > 0) ? 1 : speed
        origin = .now
    }

    public var isSimulated: Bool { simulatedStart != nil }

    /// Now, in UTC nanoseconds.
    public func now() -> Int64 {
        guard let simulatedStart else { return WallClock.nanoseconds() }
        let elapsed = Nanoseconds.seconds(Nanoseconds.of(ContinuousClock.now - origin))
        return Nanoseconds.adding(simulatedStart, Nanoseconds.clampingSeconds(elapsed * speed))
    }

    /// The real time to wait until this clock reads `instant` (zero if it already has).
    public func realDuration(until instant: Int64) -> Duration {
        let ahead = Nanoseconds.subtracting(instant, now())
        guard ahead > 0 else { return .zero }
        return .nanoseconds(Nanoseconds.clamping(Double(ahead) / speed))
    }
}
