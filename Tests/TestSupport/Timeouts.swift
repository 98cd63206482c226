import Synchronization
import Testing

/// Thrown (and recorded as a test issue) when a bounded wait runs out.
public struct TimeoutError: Error, Sendable, CustomStringConvertible {
    public var seconds: Double
    public var what: String

    public init(seconds: Double, what: String) {
        self.seconds = seconds
        self.what = what
    }

    public var description: String { "\(what) did not finish within \(seconds) s" }
}

/// Resumes one continuation with whichever result arrives first.
private final class FirstResult<T: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<Result<T, any Error>, Never>)
        case finished(Result<T, any Error>)
        case delivered
    }

    private let state = Mutex(State.empty)

    func offer(_ result: Result<T, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<Result<T, any Error>, Never>? in
            switch state {
            case .empty:
                state = .finished(result)
                return nil
            case .waiting(let continuation):
                state = .delivered
                return continuation
            case .finished, .delivered:
                return nil
            }
        }
        waiter?.resume(returning: result)
    }

    func wait() async -> Result<T, any Error> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, any Error>, Never>) in
            let ready = state.withLock { state -> Result<T, any Error>? in
                switch state {
                case .empty:
                    state = .waiting(continuation)
                    return nil
                case .finished(let result):
                    state = .delivered
                    return result
                case .waiting, .delivered:
                    preconditionFailure("FirstResult.wait() called twice")
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// How long a hang guard of `seconds` really waits: guards of 5 s or more wait 3× as long.
/// They only stop a hung test; on a 2-core machine running 600 tests at once, a task can wait
/// ~10 s for a cooperative-pool thread before its first step (seen in CI), which is not a
/// hang. Timing claims are checked with their own clocks, never with a guard. Shorter
/// guards are kept as they are.
public func hangGuard(_ seconds: Double) -> Double {
    seconds >= 5 ? seconds * 3 : seconds
}

/// Runs `body` and returns its result, or records an issue and throws ``TimeoutError`` when it
/// has not finished after `seconds` (a hang guard: see ``hangGuard(_:)``). The body is cancelled on timeout; even if it ignores
/// cancellation the caller does not wait for it, so a hung body cannot hang the test run.
public func withTimeout<T: Sendable>(
    seconds: Double,
    _ what: String = "operation",
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let first = FirstResult<T>()
    let work = Task {
        do {
            first.offer(.success(try await body()))
        } catch {
            first.offer(.failure(error))
        }
    }
    let timer = Task {
        try? await Task.sleep(for: .seconds(hangGuard(seconds)))
        first.offer(.failure(TimeoutError(seconds: hangGuard(seconds), what: what)))
    }
    let result = await withTaskCancellationHandler {
        await first.wait()
    } onCancel: {
        work.cancel()
    }
    timer.cancel()
    switch result {
    case .success(let value):
        return value
    case .failure(let error as TimeoutError):
        work.cancel()
        Issue.record("\(error)", sourceLocation: sourceLocation)
        throw error
    case .failure(let error):
        throw error
    }
}

/// Polls `condition` every `interval` until it holds; records an issue and throws
/// ``TimeoutError`` when it still does not hold after `seconds` (a hang guard: see
/// ``hangGuard(_:)``).
public func waitUntil(
    seconds: Double = 10,
    interval: Duration = .milliseconds(2),
    _ what: String = "condition",
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: .seconds(hangGuard(seconds)))
    while true {
        if try condition() { return }
        if clock.now >= deadline {
            let error = TimeoutError(seconds: hangGuard(seconds), what: what)
            Issue.record("\(error)", sourceLocation: sourceLocation)
            throw error
        }
        try await Task.sleep(for: interval)
    }
}

/// A value several tasks add to, e.g. the issues a subscription reports.
public final class Collector<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])

    public init() {}

    public func append(_ item: Element) { items.withLock { $0.append(item) } }

    public var values: [Element] { items.withLock { $0 } }

    public var count: Int { items.withLock { $0.count } }
}
