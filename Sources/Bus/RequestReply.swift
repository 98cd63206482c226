import CZeroMQ
import Synchronization
import Timekeeping

/// Answers requests on a ROUTER socket, on a thread of its own.
///
/// The wire is ZeroMQ's REQ/REP envelope, so REQ, DEALER (with an empty delimiter frame, as
/// ``Requester`` sends) and Python `zmq.REQ` clients all work. `handler` gets the request's
/// frames (after the envelope) and returns the reply's frames; it runs on the owner thread,
/// so it must be quick and must not block (read a locked snapshot, not the network).
/// A request that does not fit the envelope is counted and dropped.
public final class Replier: Sendable {
    public typealias Handler = @Sendable (_ request: [[UInt8]]) -> [[UInt8]]

    private struct State {
        var stopRequested = false
        var answered: UInt64 = 0
        var malformed: UInt64 = 0
        var failure: ZeroMQError?
    }

    private final class Core: Sendable {
        let state = Mutex(State())
        let exit = ThreadExit()
    }

    private let core = Core()
    /// The endpoint as bound (a wildcard port resolved).
    public let endpoint: String

    public init(
        context: Context,
        bind endpoint: String,
        options: SocketOptions = .init(),
        pollTimeoutMilliseconds: Int = 100,
        handler: @escaping Handler
    ) async throws(ZeroMQError) {
        let core = self.core
        let started: Result<String, ZeroMQError> = await withCheckedContinuation { continuation in
            OwnerThread.start(name: "zmq-replier") {
                let socket: Socket
                let bound: String
                do throws(ZeroMQError) {
                    socket = try Socket(context: context, type: .router, options: options)
                    bound = try socket.bind(endpoint)
                } catch {
                    core.exit.signal()
                    continuation.resume(returning: .failure(error))
                    return
                }
                continuation.resume(returning: .success(bound))
                Replier.run(socket: socket, core: core, handler: handler, pollTimeoutMilliseconds: pollTimeoutMilliseconds)
            }
        }
        self.endpoint = try started.get()
    }

    deinit {
        core.state.withLock { $0.stopRequested = true }
    }

    /// Requests answered and requests dropped as malformed, since start.
    public var statistics: (answered: UInt64, malformed: UInt64) {
        core.state.withLock { ($0.answered, $0.malformed) }
    }

    /// Why the loop stopped, if it stopped on an error.
    public var failure: ZeroMQError? { core.state.withLock { $0.failure } }

    /// Stops answering, closes the socket and waits for its thread to finish.
    public func close() async {
        core.state.withLock { $0.stopRequested = true }
        await core.exit.wait()
    }

    private static func run(socket: Socket, core: Core, handler: Handler, pollTimeoutMilliseconds: Int) {
        var failure: ZeroMQError?
        while !core.state.withLock({ $0.stopRequested }) {
            do throws(ZeroMQError) {
                guard try socket.waitReadable(timeoutMilliseconds: pollTimeoutMilliseconds) else { continue }
                while let frames = try socket.receiveFrames() {
                    // [identity, (more routing ids...), empty delimiter, body...]
                    guard let delimiter = frames.firstIndex(where: \.isEmpty), delimiter > 0 else {
                        core.state.withLock { $0.malformed &+= 1 }
                        continue
                    }
                    let reply = handler(Array(frames[(delimiter + 1)...]))
                    // A ROUTER drops a reply to a peer that has gone; nothing else can fail here.
                    try socket.send(frames: Array(frames[...delimiter]) + reply)
                    core.state.withLock { $0.answered &+= 1 }
                }
            } catch {
                if !error.isTermination { failure = error }
                break
            }
        }
        socket.close()
        core.state.withLock { $0.failure = failure }
        core.exit.signal()
    }
}

/// Sends one request to a ``Replier`` (or any REP/ROUTER peer) and waits for the reply.
public enum Requester {
    /// Connects a fresh DEALER to `endpoint` on a thread of its own, sends `request`, and
    /// returns the reply's frames, or `nil` when none arrived within `timeoutMilliseconds`
    /// (the peer is down, slow or absent: libzmq connects in the background, so an absent
    /// peer is a timeout, not an error). Never blocks the caller's thread.
    /// `options` configure the DEALER (e.g. CURVE as a client of the server's key); its
    /// linger is 0 and it accepts replies up to 64 MiB.
    public static func request(
        context: Context,
        endpoint: String,
        request: [[UInt8]],
        timeoutMilliseconds: Int,
        options base: SocketOptions = .init()
    ) async throws(ZeroMQError) -> [[UInt8]]? {
        // Cancelling the calling task ends the wait within ~50 ms, as a timeout (nil): a
        // service stopping on SIGTERM does not wait out a silent peer.
        let cancelled = CancellationFlag()
        let result: Result<[[UInt8]]?, ZeroMQError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                OwnerThread.start(name: "zmq-request") {
                    continuation.resume(returning: Result { () throws(ZeroMQError) -> [[UInt8]]? in
                        var options = base
                        options.lingerMilliseconds = 0
                        // Replies (a history of many symbols) may be large; requests never are.
                        options.maxMessageBytes = 64 << 20
                        let socket = try Socket(context: context, type: .dealer, options: options)
                        defer { socket.close() }
                        try socket.connect(endpoint)
                        let deadline = ContinuousClock.now.advanced(by: .milliseconds(max(0, timeoutMilliseconds)))
                        // A DEALER with no connected peer yet refuses to queue; retry until the deadline.
                        while try !socket.send(frames: [[]] + request) {
                            guard ContinuousClock.now < deadline, !cancelled.isSet else { return nil }
                            _ = try socket.waitReadable(timeoutMilliseconds: 5)
                        }
                        while ContinuousClock.now < deadline, !cancelled.isSet {
                            let millis = min(50, max(1, Nanoseconds.timeoutMilliseconds(deadline - ContinuousClock.now)))
                            guard try socket.waitReadable(timeoutMilliseconds: millis) else { continue }
                            guard let frames = try socket.receiveFrames() else { continue }
                            // Drop the empty delimiter the replier echoes back.
                            return frames.first?.isEmpty == true ? Array(frames.dropFirst()) : frames
                        }
                        return nil
                    })
                }
            }
        } onCancel: {
            cancelled.set()
        }
        return try result.get()
    }
}

/// Set once from any thread (a task's cancellation handler), read by an owner thread's loop.
final class CancellationFlag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
