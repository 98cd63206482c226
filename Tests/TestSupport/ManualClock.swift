import Synchronization

/// A clock that only moves when a test says so.
///
/// `sleep(until:)` suspends until ``advance(by:)`` (or ``advance(to:)``) moves `now` to or
/// past the deadline, or until the sleeping task is cancelled, which throws
/// `CancellationError`. Every sleeper is recorded, so a test can wait until the code under
/// test is asleep before advancing.
public final class ManualClock: Clock, Sendable {
    /// A point on the manual time line: the time elapsed since the clock was made.
    public struct Instant: InstantProtocol, Sendable, Hashable, CustomStringConvertible {
        public var offset: Duration

        public init(offset: Duration) { self.offset = offset }

        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        public var description: String { "ManualClock.Instant(\(offset))" }
    }

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Instant
        var nextID: UInt64 = 0
        var sleepers: [UInt64: Sleeper] = [:]
        /// Every deadline ever slept until, in the order the sleeps began.
        var sleepLog: [Instant] = []
    }

    private let state: Mutex<State>

    public init(now: Instant = Instant(offset: .zero)) {
        state = Mutex(State(now: now))
    }

    public var now: Instant { state.withLock { $0.now } }

    public var minimumResolution: Duration { .nanoseconds(1) }

    /// Tasks currently asleep on this clock.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// The earliest deadline of a task asleep on this clock.
    public var nextDeadline: Instant? { state.withLock { $0.sleepers.values.map(\.deadline).min() } }

    /// Every deadline slept until so far (including sleeps that ended at once).
    public var sleepLog: [Instant] { state.withLock { $0.sleepLog } }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.withLock { state -> UInt64 in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Decided under the lock, resumed outside it.
                let immediate: Result<Void, any Error>? = state.withLock { state in
                    state.sleepLog.append(deadline)
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            // If the sleeper is not registered yet, the check of Task.isCancelled above runs
            // after this and ends the sleep.
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock forward by `duration` and wakes every sleeper whose deadline passed.
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "a ManualClock never goes back")
        let due = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now = state.now.advanced(by: duration)
            return Self.takeDue(&state)
        }
        for continuation in due { continuation.resume() }
    }

    /// Moves the clock forward to `instant` (no-op when it is already there or later).
    public func advance(to instant: Instant) {
        let due = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            if instant > state.now { state.now = instant }
            return Self.takeDue(&state)
        }
        for continuation in due { continuation.resume() }
    }

    private static func takeDue(_ state: inout State) -> [CheckedContinuation<Void, any Error>] {
        let now = state.now
        let due = state.sleepers.filter { $0.value.deadline <= now }
            .sorted { $0.value.deadline < $1.value.deadline }
        for (id, _) in due { state.sleepers[id] = nil }
        return due.map(\.value.continuation)
    }
}
