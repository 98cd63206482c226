import Dispatch
import Synchronization

/// One message as it came off the wire: the first frame (the topic), the second frame (the
/// payload) and how many frames the message had. Anything but two frames is malformed, but
/// it is still delivered so that the reader can count it.
public struct RawMessage: Sendable, Equatable {
    public var topic: [UInt8]
    public var payload: [UInt8]
    public var frameCount: Int

    public init(topic: [UInt8], payload: [UInt8], frameCount: Int = 2) {
        self.topic = topic
        self.payload = payload
        self.frameCount = frameCount
    }
}

/// A SUB socket read as an `AsyncSequence` of ``RawMessage``.
///
/// The socket lives on a dedicated owner thread that waits in `zmq_poll` with a bounded
/// timeout and hands messages over in batches; awaiting tasks are suspended, never parked,
/// so the cooperative pool is never blocked. The hand-over buffer is bounded: when the
/// consumer falls behind, the owner thread stops reading, libzmq's receive queue fills, and
/// the publisher drops (subscribers see that as sequence gaps). Iterate from one task.
public final class Subscription: AsyncSequence, Sendable {
    public typealias Element = RawMessage
    public typealias Failure = ZeroMQError

    /// Tuning for the owner thread.
    public struct Configuration: Sendable {
        /// The socket's options.
        public var socket = SocketOptions()
        /// The most messages waiting for the consumer before the owner thread stops reading.
        public var bufferLimit = 50_000
        /// The longest one `zmq_poll` waits, in milliseconds: bounds how late a stop is seen.
        public var pollTimeoutMilliseconds = 100
        /// The most messages read in one go before handing them over.
        public var batchLimit = 1_024

        public init() {}
    }

    private enum Command {
        case subscribe([UInt8])
        case unsubscribe([UInt8])
    }

    private struct State {
        var buffer: [RawMessage] = []
        var waiter: CheckedContinuation<[RawMessage], Never>?
        var commands: [Command] = []
        var stopRequested = false
        var finished = false
        var failure: ZeroMQError?
        var producerWaiting = false
        var received: UInt64 = 0
    }

    /// What the owner thread shares with the consumer.
    private final class Core: Sendable {
        let state = Mutex(State())
        let space = DispatchSemaphore(value: 0)
        let exit = ThreadExit()
    }

    private let core = Core()
    public let endpoint: String

    /// Opens a SUB socket on its own thread, connects it to `endpoint` and subscribes to each
    /// of `prefixes` (byte prefixes of the topic frame; an empty prefix receives everything).
    public init(
        context: Context,
        endpoint: String,
        prefixes: [[UInt8]],
        configuration: Configuration = .init()
    ) async throws(ZeroMQError) {
        self.endpoint = endpoint
        let core = self.core
        let started: Result<Void, ZeroMQError> = await withCheckedContinuation { continuation in
            OwnerThread.start(name: "zmq-sub") {
                let socket: Socket
                do throws(ZeroMQError) {
                    socket = try Socket(context: context, type: .sub, options: configuration.socket)
                    for prefix in prefixes { try socket.subscribe(prefix) }
                    try socket.connect(endpoint)
                } catch {
                    core.state.withLock { $0.finished = true; $0.failure = error }
                    core.exit.signal()
                    continuation.resume(returning: .failure(error))
                    return
                }
                continuation.resume(returning: .success(()))
                Subscription.runOwnerLoop(socket: socket, core: core, configuration: configuration)
            }
        }
        try started.get()
    }

    deinit {
        core.state.withLock { $0.stopRequested = true }
        core.space.signal()
    }

    /// Adds a topic prefix while running.
    public func subscribe(_ prefix: [UInt8]) {
        core.state.withLock { $0.commands.append(.subscribe(prefix)) }
    }

    /// Removes a topic prefix while running.
    public func unsubscribe(_ prefix: [UInt8]) {
        core.state.withLock { $0.commands.append(.unsubscribe(prefix)) }
    }

    /// Messages handed to the consumer so far.
    public var received: UInt64 { core.state.withLock { $0.received } }

    /// Stops reading, closes the socket and waits for the owner thread to finish. An iterator
    /// still running returns the messages already buffered, then `nil`.
    public func close() async {
        core.state.withLock { $0.stopRequested = true }
        core.space.signal()
        await core.exit.wait()
    }

    public func makeAsyncIterator() -> Iterator { Iterator(subscription: self) }

    /// Reads batches from the owner thread and returns them one message at a time.
    public struct Iterator: AsyncIteratorProtocol {
        let subscription: Subscription
        private var batch: [RawMessage] = []
        private var index = 0

        init(subscription: Subscription) { self.subscription = subscription }

        public mutating func next() async throws(ZeroMQError) -> RawMessage? {
            if index < batch.count {
                defer { index += 1 }
                return batch[index]
            }
            batch.removeAll(keepingCapacity: true)
            index = 0
            let core = subscription.core
            // Fast path: take what is buffered without suspending.
            var spare: [RawMessage] = []
            swap(&spare, &batch)
            let (taken, wakeProducer, failure) = core.state.withLock { state -> (Bool, Bool, ZeroMQError?) in
                guard !state.buffer.isEmpty else {
                    return (false, false, state.finished ? state.failure : nil)
                }
                swap(&state.buffer, &spare)
                state.received &+= UInt64(spare.count)
                let wake = state.producerWaiting
                state.producerWaiting = false
                return (true, wake, nil)
            }
            if wakeProducer { core.space.signal() }
            if taken {
                batch = spare
                index = 1
                return batch[0]
            }
            if let failure { throw failure }
            let delivered = await Subscription.waitForBatch(core: core)
            if delivered.isEmpty {
                if let failure = core.state.withLock({ $0.failure }) { throw failure }
                return nil
            }
            batch = delivered
            index = 1
            return batch[0]
        }
    }

    private static func waitForBatch(core: Core) async -> [RawMessage] {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[RawMessage], Never>) in
                let immediate = core.state.withLock { state -> [RawMessage]? in
                    if !state.buffer.isEmpty {
                        var out: [RawMessage] = []
                        swap(&out, &state.buffer)
                        state.received &+= UInt64(out.count)
                        return out
                    }
                    if state.finished || Task.isCancelled || state.waiter != nil { return [] }
                    state.waiter = continuation
                    return nil
                }
                if let immediate {
                    core.space.signal()
                    continuation.resume(returning: immediate)
                }
            }
        } onCancel: {
            let waiter = core.state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: [])
        }
    }

    private static func runOwnerLoop(socket: Socket, core: Core, configuration: Configuration) {
        var local: [RawMessage] = []
        local.reserveCapacity(configuration.batchLimit)
        var failure: ZeroMQError?
        // Most messages repeat a recent topic: reuse its array instead of allocating one.
        var lastTopic: [UInt8] = []
        loop: while true {
            let (stop, commands, room) = core.state.withLock { state -> (Bool, [Command], Int) in
                defer { state.commands.removeAll() }
                let room = configuration.bufferLimit - state.buffer.count
                if room <= 0 { state.producerWaiting = true }
                return (state.stopRequested, state.commands, room)
            }
            if stop { break }
            do throws(ZeroMQError) {
                for command in commands {
                    switch command {
                    case .subscribe(let prefix): try socket.subscribe(prefix)
                    case .unsubscribe(let prefix): try socket.unsubscribe(prefix)
                    }
                }
                if room <= 0 {
                    _ = core.space.wait(timeout: .now() + .milliseconds(configuration.pollTimeoutMilliseconds))
                    continue
                }
                guard try socket.waitReadable(timeoutMilliseconds: configuration.pollTimeoutMilliseconds) else {
                    continue
                }
                let limit = Swift.min(room, configuration.batchLimit)
                while local.count < limit {
                    var message = RawMessage(topic: [], payload: [], frameCount: 0)
                    let frames = try socket.receive { index, bytes in
                        switch index {
                        case 0:
                            if !bytes.elementsEqual(lastTopic) { lastTopic = Array(bytes) }
                            message.topic = lastTopic
                        case 1: message.payload = Array(bytes)
                        default: break
                        }
                    }
                    guard let frames else { break }
                    message.frameCount = frames
                    local.append(message)
                }
            } catch {
                if !error.isTermination { failure = error }
                break loop
            }
            if local.isEmpty { continue }
            let waiter = core.state.withLock { state -> CheckedContinuation<[RawMessage], Never>? in
                if let waiter = state.waiter {
                    state.waiter = nil
                    state.received &+= UInt64(local.count)
                    return waiter
                }
                if state.buffer.isEmpty {
                    swap(&state.buffer, &local)
                } else {
                    state.buffer.append(contentsOf: local)
                    local.removeAll(keepingCapacity: true)
                }
                return nil
            }
            if let waiter {
                let handed = local
                local = []
                local.reserveCapacity(configuration.batchLimit)
                waiter.resume(returning: handed)
            }
        }
        socket.close()
        let waiter = core.state.withLock { state in
            state.finished = true
            state.failure = state.failure ?? failure
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: [])
        core.exit.signal()
    }
}
