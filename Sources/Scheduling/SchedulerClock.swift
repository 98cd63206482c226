import Contracts
import Foundation

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

    public init(simulatedStart: Int64?, speed: Double) {
        precondition(speed > 0, "clock speed must be positive")
        self.simulatedStart = simulatedStart
        self.speed = simulatedStart == nil ? 1 : speed
        origin = .now
    }

    public var isSimulated: Bool { simulatedStart != nil }

    /// Now, in UTC nanoseconds.
    public func now() -> Int64 {
        guard let simulatedStart else { return WallClock.nanoseconds() }
        let elapsed = ContinuousClock.now - origin
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return simulatedStart + Int64(seconds * speed * 1e9)
    }

    /// The real time to wait until this clock reads `instant` (zero if it already has).
    public func realDuration(until instant: Int64) -> Duration {
        let ahead = instant - now()
        guard ahead > 0 else { return .zero }
        return .nanoseconds(Int64(Double(ahead) / speed))
    }
}
