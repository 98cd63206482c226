import CZeroMQ
import Dispatch
import Synchronization
import Timekeeping

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What ``Publisher/publish(topic:payload:)`` did with a message.
public enum PublishResult: Sendable, Equatable {
    /// Queued for sending with this per-topic sequence number.
    case queued(sequence: UInt64)
    /// Dropped because the outbound queue was full or the publisher is closed. The sequence
    /// number was still used, so subscribers see the loss as a gap.
    case dropped(sequence: UInt64)
}

/// A PUB socket that any task or thread may publish on without blocking.
///
/// The socket lives on a dedicated owner thread. `publish` stamps the next per-topic
/// sequence number, appends the message to a bounded queue under a lock and wakes the owner
/// thread only when it sleeps; the owner thread sends with `ZMQ_DONTWAIT`. A full queue drops
/// the message and counts it rather than block the caller.
///
/// The socket sets `ZMQ_XPUB_NODROP`, so a peer's full high-water mark is reported instead
/// of dropping the message silently: the owner thread waits for room (briefly, bounded) and
/// counts a message it still cannot hand over as ``Statistics/droppedAtHighWaterMark``, never
/// as sent.
public final class Publisher: Sendable {
    /// Counters since start.
    public struct Statistics: Sendable, Equatable {
        public var queued: UInt64 = 0
        /// Handed to libzmq for the peer.
        public var sent: UInt64 = 0
        /// Dropped before reaching libzmq: the publisher's own queue was full, or it was closing.
        public var dropped: UInt64 = 0
        /// Dropped because the peer's high-water mark stayed full for ``Publisher/highWaterMarkPatience``.
        public var droppedAtHighWaterMark: UInt64 = 0
        public var sendErrors: UInt64 = 0
        public init() {}
    }

    /// How long the owner thread waits for room at a full high-water mark before it drops a
    /// message (meanwhile new messages queue, up to the queue limit).
    public static let highWaterMarkPatience = Duration.milliseconds(200)

    private struct Outbound {
        var topic: [UInt8]
        var payload: [UInt8]
    }

    private struct State {
        var queue: [Outbound] = []
        var sequences: [[UInt8]: UInt64] = [:]
        var ownerSleeping = false
        var closing = false
        var statistics = Statistics()
        var lastError: ZeroMQError?
    }

    /// What the owner thread shares with publishing callers.
    private final class Core: Sendable {
        let state = Mutex(State())
        let wakeup = DispatchSemaphore(value: 0)
        let exit = ThreadExit()
    }

    private let core = Core()
    /// The endpoint as libzmq resolved it (useful after binding a wildcard port).
    public let endpoint: String
    /// The most messages the outbound queue holds before dropping.
    public let queueLimit: Int

    /// Opens a PUB socket on its own thread and connects it to `endpoint` (or binds, when
    /// `bind` is true). Throws when the endpoint is malformed or cannot be bound.
    public init(
        context: Context,
        endpoint: String,
        bind: Bool = false,
        options: SocketOptions = .init(),
        queueLimit: Int = 100_000
    ) async throws(ZeroMQError) {
        self.queueLimit = queueLimit
        let core = self.core
        let started: Result<String, ZeroMQError> = await withCheckedContinuation { continuation in
            OwnerThread.start(name: "zmq-pub") {
                let socket: Socket
                let resolved: String
                do throws(ZeroMQError) {
                    socket = try Socket(context: context, type: .pub, options: options)
                    try socket.setOption(ZMQ_XPUB_NODROP, 1, name: "ZMQ_XPUB_NODROP")
                    if bind {
                        resolved = try socket.bind(endpoint)
                    } else {
                        try socket.connect(endpoint)
                        resolved = endpoint
                    }
                } catch {
                    core.exit.signal()
                    continuation.resume(returning: .failure(error))
                    return
                }
                continuation.resume(returning: .success(resolved))
                Publisher.runOwnerLoop(socket: socket, core: core)
            }
        }
        self.endpoint = try started.get()
    }

    deinit {
        core.state.withLock { $0.closing = true }
        core.wakeup.signal()
    }

    /// Publishes one message on `topic`. `payload` receives the message's sequence number and
    /// returns the encoded payload frame; it runs under the publisher's lock, so sequence
    /// numbers reach the wire in order. Never blocks on the network.
    @discardableResult
    public func publish<E: Error>(
        topic: [UInt8],
        payload: (_ sequence: UInt64) throws(E) -> [UInt8]
    ) throws(E) -> PublishResult {
        let limit = queueLimit
        let (result, wake) = try core.state.withLock { (state) throws(E) -> (PublishResult, Bool) in
            let sequence = (state.sequences[topic] ?? 0) &+ 1
            guard !state.closing, state.queue.count < limit else {
                // The number is used up: subscribers see the drop as a gap.
                state.sequences[topic] = sequence
                state.statistics.dropped &+= 1
                return (.dropped(sequence: sequence), false)
            }
            // Encoded before the number is taken: a payload that fails to encode leaves no gap.
            let bytes = try payload(sequence)
            state.sequences[topic] = sequence
            state.queue.append(Outbound(topic: topic, payload: bytes))
            state.statistics.queued &+= 1
            let wake = state.ownerSleeping
            state.ownerSleeping = false
            return (.queued(sequence: sequence), wake)
        }
        if wake { core.wakeup.signal() }
        return result
    }

    /// Counters since start.
    public var statistics: Statistics { core.state.withLock { $0.statistics } }

    /// The last send error, if any (the owner thread keeps going after errors).
    public var lastError: ZeroMQError? { core.state.withLock { $0.lastError } }

    /// Sends what is queued, closes the socket and waits for the owner thread to finish.
    /// Messages published afterwards are dropped.
    public func close() async {
        core.state.withLock { $0.closing = true }
        core.wakeup.signal()
        await core.exit.wait()
    }

    /// Empty polls of the queue (each yielding the CPU) before the owner thread sleeps.
    static let spinsBeforeSleep = 64

    private static func runOwnerLoop(socket: Socket, core: Core) {
        var batch: [Outbound] = []
        var terminated = false
        var idleSpins = 0
        var stalledSince: ContinuousClock.Instant?
        while !terminated {
            let closing = core.state.withLock { state -> Bool in
                if state.queue.isEmpty {
                    if !state.closing { state.ownerSleeping = true }
                    return state.closing
                }
                swap(&state.queue, &batch)
                return false
            }
            if batch.isEmpty {
                if closing { break }
                if idleSpins < Publisher.spinsBeforeSleep {
                    // Under load the next message is microseconds away: yield the core
                    // instead of paying a futex sleep and wake per message.
                    idleSpins += 1
                    core.state.withLock { $0.ownerSleeping = false }
                    sched_yield()
                    continue
                }
                _ = core.wakeup.wait(timeout: .now() + .milliseconds(250))
                core.state.withLock { $0.ownerSleeping = false }
                continue
            }
            idleSpins = 0
            var sent: UInt64 = 0
            var full: UInt64 = 0
            var failures: UInt64 = 0
            var lastError: ZeroMQError?
            for item in batch {
                do throws(ZeroMQError) {
                    if try send(item, on: socket, stalledSince: &stalledSince) { sent += 1 } else { full += 1 }
                } catch {
                    if error.isTermination { terminated = true; break }
                    failures += 1
                    lastError = error
                }
            }
            batch.removeAll(keepingCapacity: true)
            core.state.withLock {
                $0.statistics.sent &+= sent
                $0.statistics.droppedAtHighWaterMark &+= full
                $0.statistics.sendErrors &+= failures
                if let lastError { $0.lastError = lastError }
            }
        }
        socket.close()
        core.state.withLock { $0.closing = true }
        core.exit.signal()
    }

    /// Sends one message; at a full high-water mark waits for room until the peer has been
    /// full for ``highWaterMarkPatience`` (`stalledSince` remembers since when, across
    /// messages, so a stuck peer costs one wait, not one per message). Returns `false` when
    /// the message had to be dropped.
    private static func send(
        _ item: Outbound, on socket: Socket, stalledSince: inout ContinuousClock.Instant?
    ) throws(ZeroMQError) -> Bool {
        while true {
            let queued = try item.topic.withBytes { (topic) throws(ZeroMQError) -> Bool in
                // Only the first frame can be refused; once it is queued the rest is guaranteed.
                guard try socket.send(topic, more: true) else { return false }
                return try item.payload.withBytes { (payload) throws(ZeroMQError) -> Bool in try socket.send(payload) }
            }
            if queued {
                stalledSince = nil
                return true
            }
            let since = stalledSince ?? ContinuousClock.now
            stalledSince = since
            let left = since + highWaterMarkPatience - ContinuousClock.now
            guard left > .zero else { return false }
            _ = try socket.waitWritable(timeoutMilliseconds: Nanoseconds.timeoutMilliseconds(left))
        }
    }
}
