import Bus
import Dispatch
import Foundation
import Synchronization
import Testing

/// A wildcard TCP endpoint on loopback: libzmq picks a free port; read the bound endpoint.
public let loopbackWildcard = "tcp://127.0.0.1:*"

/// A fresh `inproc://` name, unique across the whole test run (inproc needs one Context).
public func uniqueInprocEndpoint(_ label: String = "test") -> String {
    "inproc://tickwire-\(label)-\(UUID().uuidString.lowercased())"
}

/// Runs `body` with a new context and terminates the context afterwards, whether `body`
/// threw or not. Termination is bounded: if a socket was left open it records an issue
/// instead of hanging the run.
public func withContext<T>(
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (Context) async throws -> T
) async throws -> T {
    let context = try Context()
    let result: Result<T, any Error>
    do {
        result = .success(try await body(context))
    } catch {
        result = .failure(error)
    }
    try await withTimeout(seconds: 10, "Context.terminate()", sourceLocation: sourceLocation) {
        await context.terminate()
    }
    return try result.get()
}

/// Counts up from 1, from any task.
public final class Counter: Sendable {
    private let value = Mutex<UInt64>(0)

    public init() {}

    /// The next number: 1, 2, 3, …
    public func next() -> UInt64 {
        value.withLock { value in
            value += 1
            return value
        }
    }

    public var current: UInt64 { value.withLock { $0 } }
}

/// A raw socket (PUB by default) on a thread of its own, for sending exactly the frames a
/// test wants (malformed ones included). `send` queues; the owner thread sends.
public final class RawPublisher: Sendable {
    private struct State {
        var queue: [[[UInt8]]] = []
        var closing = false
        var exited = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
        var sent = 0
        var notQueued = 0
        var failure: ZeroMQError?
    }

    private final class Core: Sendable {
        let state = Mutex(State())
        let wakeup = DispatchSemaphore(value: 0)
    }

    private let core = Core()
    /// The endpoint as bound (resolved) or connected.
    public let endpoint: String

    /// Opens the socket on its own thread and binds it to `endpoint` or connects it.
    public init(
        context: Context,
        endpoint: String,
        bind: Bool = false,
        type: SocketType = .pub
    ) async throws(ZeroMQError) {
        let core = self.core
        let started: Result<String, ZeroMQError> = await withCheckedContinuation { continuation in
            let thread = Thread {
                let socket: Socket
                let resolved: String
                do throws(ZeroMQError) {
                    var options = SocketOptions()
                    options.lingerMilliseconds = 0
                    socket = try Socket(context: context, type: type, options: options)
                    if bind {
                        resolved = try socket.bind(endpoint)
                    } else {
                        try socket.connect(endpoint)
                        resolved = endpoint
                    }
                } catch {
                    core.state.withLock { $0.exited = true; $0.failure = error }
                    continuation.resume(returning: .failure(error))
                    return
                }
                continuation.resume(returning: .success(resolved))
                RawPublisher.run(socket: socket, core: core)
            }
            thread.name = "test-raw-pub"
            thread.start()
        }
        self.endpoint = try started.get()
    }

    deinit {
        core.state.withLock { $0.closing = true }
        core.wakeup.signal()
    }

    /// Queues one multipart message.
    public func send(_ frames: [[UInt8]]) {
        core.state.withLock { $0.queue.append(frames) }
        core.wakeup.signal()
    }

    /// Messages the socket accepted so far.
    public var sent: Int { core.state.withLock { $0.sent } }

    /// Messages still waiting for the owner thread.
    public var pending: Int { core.state.withLock { $0.queue.count } }

    /// The error that stopped the owner thread, if any.
    public var failure: ZeroMQError? { core.state.withLock { $0.failure } }

    /// Sends what is queued, closes the socket and waits for the thread to end.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = core.state.withLock { state -> Bool in
                state.closing = true
                if state.exited { return true }
                state.exitWaiters.append(continuation)
                return false
            }
            if exited { continuation.resume() } else { core.wakeup.signal() }
        }
    }

    private static func run(socket: Socket, core: Core) {
        var failure: ZeroMQError?
        loop: while true {
            let (batch, closing) = core.state.withLock { state -> ([[[UInt8]]], Bool) in
                defer { state.queue.removeAll() }
                return (state.queue, state.closing)
            }
            var sent = 0
            var notQueued = 0
            for frames in batch {
                do throws(ZeroMQError) {
                    if try socket.send(frames: frames) { sent += 1 } else { notQueued += 1 }
                } catch {
                    failure = error
                    break
                }
            }
            core.state.withLock {
                $0.sent += sent
                $0.notQueued += notQueued
            }
            if failure != nil || (closing && batch.isEmpty) { break loop }
            if batch.isEmpty { _ = core.wakeup.wait(timeout: .now() + .milliseconds(5)) }
        }
        socket.close()
        let waiters = core.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.exited = true
            state.failure = state.failure ?? failure
            defer { state.exitWaiters = [] }
            return state.exitWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Beats the slow-joiner problem without sleeping blindly: keeps calling `publish` (every
/// 2 ms) until `iterator` yields an element that `isWarmUp` recognises, then stops publishing
/// and returns. Elements before it are skipped and counted (the return value).
///
/// Bounded: after `seconds` it calls `giveUp` (which must make `iterator` end, e.g. by closing
/// the subscription), records an issue and throws ``TimeoutError``. Warm-ups published after
/// the first one seen may still arrive later; tests skip them by topic.
@discardableResult
public func warmUp<Iterator: AsyncIteratorProtocol>(
    _ iterator: inout Iterator,
    seconds: Double = 10,
    sourceLocation: SourceLocation = #_sourceLocation,
    publish: @escaping @Sendable () -> Void,
    giveUp: @escaping @Sendable () async -> Void,
    isWarmUp: (Iterator.Element) -> Bool
) async throws -> Int {
    let pump = Task {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(hangGuard(seconds)))
        while !Task.isCancelled && clock.now < deadline {
            publish()
            try? await Task.sleep(for: .milliseconds(2))
        }
        if !Task.isCancelled { await giveUp() }
    }
    var skipped = 0
    while let element = try await iterator.next() {
        if isWarmUp(element) {
            pump.cancel()
            await pump.value
            return skipped
        }
        skipped += 1
    }
    pump.cancel()
    await pump.value
    let error = TimeoutError(seconds: hangGuard(seconds), what: "warm-up")
    Issue.record("\(error): the subscriber never saw a warm-up message", sourceLocation: sourceLocation)
    throw error
}

/// Thrown by ``collect(_:from:sourceLocation:where:)`` when the sequence ends too soon.
public struct EndedEarly: Error, Sendable, CustomStringConvertible {
    public var expected: Int
    public var received: Int

    public init(expected: Int, received: Int) {
        self.expected = expected
        self.received = received
    }

    public var description: String { "the sequence ended after \(received) of \(expected) messages" }
}

/// Reads from `iterator` until `count` elements that `keep` accepts have arrived, skipping the
/// others (e.g. late warm-ups). Throws ``EndedEarly`` (recording an issue) when the
/// iterator ends first; bound the wait itself by closing the source from a timer, e.g. with
/// ``closeAfter(seconds:_:)``.
public func collect<Iterator: AsyncIteratorProtocol>(
    _ count: Int,
    from iterator: inout Iterator,
    sourceLocation: SourceLocation = #_sourceLocation,
    where keep: (Iterator.Element) -> Bool
) async throws -> [Iterator.Element] {
    var kept: [Iterator.Element] = []
    while kept.count < count, let element = try await iterator.next() {
        if keep(element) { kept.append(element) }
    }
    if kept.count < count {
        let error = EndedEarly(expected: count, received: kept.count)
        Issue.record("\(error)", sourceLocation: sourceLocation)
        throw error
    }
    return kept
}

/// A watchdog: after `seconds` (a hang guard: ``hangGuard(_:)``) it runs `action` (typically closing a subscription so that a
/// blocked iterator ends). Cancel the returned task once the guarded work finished.
@discardableResult
public func closeAfter(seconds: Double, _ action: @escaping @Sendable () async -> Void) -> Task<Void, Never> {
    Task {
        do {
            try await Task.sleep(for: .seconds(hangGuard(seconds)))
        } catch {
            return
        }
        await action()
    }
}
