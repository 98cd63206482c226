import CZeroMQ
import Synchronization

/// The bus's forwarder: publishers connect to its XSUB side, subscribers to its XPUB side.
///
/// Messages flow XSUB → XPUB; subscriptions flow XPUB → XSUB so publishers filter at the
/// source. The loop runs on its own thread with a bounded poll, forwards frames without
/// copying and counts what passes.
public final class Proxy: Sendable {
    /// Counters since start.
    public struct Statistics: Sendable, Equatable {
        public var messages: UInt64 = 0
        public var frames: UInt64 = 0
        public var bytes: UInt64 = 0
        /// Messages that were not the bus's two frames (forwarded without a gate, dropped with one).
        public var malformed: UInt64 = 0
        /// Messages the gate refused, by reason (malformed ones included).
        public var refused: [ProxyRefusal: UInt64] = [:]
        /// Subscribe and unsubscribe frames passed upstream.
        public var subscriptionChanges: UInt64 = 0
        public init() {}
    }

    private struct State {
        var statistics = Statistics()
        var stopRequested = false
        var failure: ZeroMQError?
    }

    private final class Core: Sendable {
        let state = Mutex(State())
        let exit = ThreadExit()
    }

    private let core = Core()
    /// The XSUB endpoint as bound (publishers connect here).
    public let frontend: String
    /// The XPUB endpoint as bound (subscribers connect here).
    public let backend: String

    /// Binds the XSUB side to `frontend` and the XPUB side to `backend` and starts
    /// forwarding on a thread of its own. With a `gate`, every published message must pass
    /// it (see ``ProxyGate``); refused ones are dropped and counted.
    public init(
        context: Context,
        frontend: String,
        backend: String,
        options: SocketOptions = .init(),
        gate: (any ProxyGate)? = nil,
        pollTimeoutMilliseconds: Int = 100
    ) async throws(ZeroMQError) {
        let core = self.core
        let started: Result<(String, String), ZeroMQError> = await withCheckedContinuation { continuation in
            OwnerThread.start(name: "zmq-proxy") {
                let xsub: Socket
                let xpub: Socket
                let bound: (String, String)
                do throws(ZeroMQError) {
                    xsub = try Socket(context: context, type: .xsub, options: options)
                    xpub = try Socket(context: context, type: .xpub, options: options)
                    bound = (try xsub.bind(frontend), try xpub.bind(backend))
                } catch {
                    core.state.withLock { $0.failure = error }
                    core.exit.signal()
                    continuation.resume(returning: .failure(error))
                    return
                }
                continuation.resume(returning: .success(bound))
                if var gate {
                    Proxy.run(xsub: xsub, xpub: xpub, core: core, pollTimeoutMilliseconds: pollTimeoutMilliseconds) {
                        (local, xsub, xpub) throws(ZeroMQError) -> Bool in
                        guard let outcome = try xsub.forward(to: xpub, checking: &gate) else { return false }
                        local.messages &+= 1
                        switch outcome {
                        case .forwarded(let bytes):
                            local.frames &+= 2
                            local.bytes &+= UInt64(bytes)
                        case .refused(let refusal):
                            local.refused[refusal, default: 0] &+= 1
                            if refusal == .malformed { local.malformed &+= 1 }
                        }
                        return true
                    }
                } else {
                    Proxy.run(xsub: xsub, xpub: xpub, core: core, pollTimeoutMilliseconds: pollTimeoutMilliseconds) {
                        (local, xsub, xpub) throws(ZeroMQError) -> Bool in
                        guard let moved = try xsub.forward(to: xpub) else { return false }
                        local.messages &+= 1
                        local.frames &+= UInt64(moved.frames)
                        local.bytes &+= UInt64(moved.bytes)
                        if moved.frames != 2 { local.malformed &+= 1 }
                        return true
                    }
                }
            }
        }
        let bound = try started.get()
        self.frontend = bound.0
        self.backend = bound.1
    }

    deinit {
        core.state.withLock { $0.stopRequested = true }
    }

    /// Counters since start.
    public var statistics: Statistics { core.state.withLock { $0.statistics } }

    /// Why the loop stopped, if it stopped on an error.
    public var failure: ZeroMQError? { core.state.withLock { $0.failure } }

    /// Stops forwarding, closes both sockets and waits for the thread to finish.
    public func close() async {
        core.state.withLock { $0.stopRequested = true }
        await core.exit.wait()
    }

    /// The forwarding loop. `forwardOne` moves one message upstream → downstream and
    /// returns `false` when none was waiting.
    private static func run(
        xsub: Socket, xpub: Socket, core: Core, pollTimeoutMilliseconds: Int,
        forwardOne: (inout Statistics, Socket, Socket) throws(ZeroMQError) -> Bool
    ) {
        var items = [
            zmq_pollitem_t(socket: xsub.handle, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0),
            zmq_pollitem_t(socket: xpub.handle, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0),
        ]
        var local = Statistics()
        var failure: ZeroMQError?
        /// Messages forwarded per wake-up before the loop checks for stop and subscriptions.
        let batchLimit = 4_096
        while true {
            let stop = core.state.withLock { state -> Bool in
                state.statistics = local
                return state.stopRequested
            }
            if stop { break }
            do throws(ZeroMQError) {
                guard try poll(&items, timeoutMilliseconds: pollTimeoutMilliseconds) > 0 else { continue }
                if items[0].revents & Int16(ZMQ_POLLIN) != 0 {
                    // Drain a bounded batch so subscriptions and stop requests are not starved.
                    for _ in 0..<batchLimit {
                        guard try forwardOne(&local, xsub, xpub) else { break }
                    }
                }
                if items[1].revents & Int16(ZMQ_POLLIN) != 0 {
                    while try xpub.forward(to: xsub) != nil { local.subscriptionChanges &+= 1 }
                }
            } catch {
                if !error.isTermination { failure = error }
                break
            }
        }
        xsub.close()
        xpub.close()
        core.state.withLock { state in
            state.statistics = local
            state.failure = failure
        }
        core.exit.signal()
    }
}

/// Why the proxy dropped a published message.
public enum ProxyRefusal: String, Sendable, CaseIterable {
    /// The sender's connection carries no authenticated identity.
    case unauthenticated
    /// The identity may not publish this topic kind.
    case notPermitted = "not_permitted"
    /// The envelope names another producer than the authenticated identity.
    case producerMismatch = "producer_mismatch"
    /// Not the bus's two frames, or a payload the gate cannot read.
    case malformed
}

/// Decides, on the proxy's thread, whether a published message may pass. It sees the
/// identity the sender's connection was authenticated as (`User-Id`, `nil` without one), the
/// topic frame and the payload; the buffers are valid only during the call.
public protocol ProxyGate: Sendable {
    mutating func admit(
        userID: UnsafePointer<CChar>?, topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer
    ) -> ProxyRefusal?
}
