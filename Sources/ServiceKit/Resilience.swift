/// When and how often to retry a failed operation: exponential backoff with jitter.
///
/// Attempt `n` (1-based, counting retries) waits `initialDelay × multiplier^(n-1)`, capped at
/// `maximumDelay`, plus a random 0…`jitter` fraction of that.
public struct RetryPolicy: Sendable, Equatable {
    /// Retries after the first attempt.
    public var maxRetries = 3
    public var initialDelay: Duration = .seconds(1)
    public var multiplier = 2.0
    /// Upper bound of one delay before jitter.
    public var maximumDelay: Duration = .seconds(60)
    /// The most extra delay, as a fraction of the delay (0.25 = up to +25 %).
    public var jitter = 0.25

    public init() {}

    public init(maxRetries: Int, initialDelay: Duration, multiplier: Double = 2, maximumDelay: Duration = .seconds(60), jitter: Double = 0.25) {
        self.maxRetries = maxRetries
        self.initialDelay = initialDelay
        self.multiplier = multiplier
        self.maximumDelay = maximumDelay
        self.jitter = jitter
    }

    /// The delay before retry `retry` (1-based) given a random `unit` in 0..<1 for the jitter.
    /// Never traps: a delay that is not a number is 0, one beyond what `Int64` nanoseconds
    /// hold (about 292 years) is clamped.
    public func delay(beforeRetry retry: Int, unit: Double) -> Duration {
        let base = initialDelay.inSeconds * pow(multiplier, Double(max(0, retry - 1)))
        let capped = min(base, maximumDelay.inSeconds)
        let nanoseconds = capped * (1 + jitter * unit) * 1e9
        guard nanoseconds > 0 else { return .zero }  // also NaN (0 × ∞)
        guard nanoseconds < 9.2e18 else { return .nanoseconds(Int64.max) }
        return .nanoseconds(Int64(nanoseconds.rounded()))
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// Runs `operation`, retrying failures by `policy` while `shouldRetry` says so. Sleeps on
/// `clock` (a test clock in tests) and stops at once when the task is cancelled.
/// `onRetry` hears each failure before its delay.
public func withRetry<C: Clock, R>(
    _ policy: RetryPolicy,
    clock: C,
    random: @Sendable () -> Double = { Double.random(in: 0..<1) },
    shouldRetry: (any Error) -> Bool = { _ in true },
    onRetry: (_ retry: Int, _ delay: Duration, _ error: any Error) -> Void = { _, _, _ in },
    _ operation: () async throws -> R
) async throws -> R where C.Duration == Duration {
    var retry = 0
    while true {
        do {
            return try await operation()
        } catch {
            retry += 1
            guard retry <= policy.maxRetries, shouldRetry(error), !Task.isCancelled else { throw error }
            let delay = policy.delay(beforeRetry: retry, unit: random())
            onRetry(retry, delay, error)
            try await clock.sleep(for: delay)
        }
    }
}

/// A circuit breaker: after `failureThreshold` consecutive failures it opens and refuses
/// calls for `openDuration`; then it lets one trial call through (half-open), closing on
/// success and opening again on failure. A plain value: keep it where its callers are
/// serialised (an actor, a lock or one task).
public struct CircuitBreaker<C: Clock>: Sendable where C.Duration == Duration, C.Instant: Sendable {
    public enum State: Sendable, Equatable {
        case closed(consecutiveFailures: Int)
        case open(until: C.Instant)
        case halfOpen
    }

    /// What a caller should do now.
    public enum Decision: Sendable, Equatable {
        case proceed
        /// The circuit is open; try again after `retryAfter`.
        case reject(retryAfter: Duration)
    }

    public var failureThreshold = 5
    public var openDuration: Duration = .seconds(60)
    public private(set) var state: State = .closed(consecutiveFailures: 0)
    /// Times the circuit opened.
    public private(set) var trips = 0

    public init(failureThreshold: Int = 5, openDuration: Duration = .seconds(60)) {
        self.failureThreshold = failureThreshold
        self.openDuration = openDuration
    }

    /// Asks whether a call may go ahead at `now`; moves open → half-open when it is time.
    public mutating func decide(at now: C.Instant) -> Decision {
        switch state {
        case .closed: return .proceed
        case .halfOpen: return .reject(retryAfter: .zero)  // the trial call is in flight
        case .open(let until):
            if now >= until {
                state = .halfOpen
                return .proceed
            }
            return .reject(retryAfter: now.duration(to: until))
        }
    }

    /// Records a success: the circuit closes.
    public mutating func recordSuccess() {
        state = .closed(consecutiveFailures: 0)
    }

    /// Records a failure at `now`. Returns true when this failure opened the circuit.
    @discardableResult
    public mutating func recordFailure(at now: C.Instant) -> Bool {
        switch state {
        case .closed(let failures):
            if failures + 1 >= failureThreshold {
                state = .open(until: now.advanced(by: openDuration))
                trips += 1
                return true
            }
            state = .closed(consecutiveFailures: failures + 1)
            return false
        case .halfOpen, .open:
            state = .open(until: now.advanced(by: openDuration))
            trips += 1
            return true
        }
    }

    public var isOpen: Bool {
        if case .closed = state { return false }
        return true
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
