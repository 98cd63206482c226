import CZeroMQ
import Synchronization

/// A libzmq context: the I/O threads every socket of a process shares.
///
/// libzmq documents contexts as thread safe, so a `Context` is `Sendable` and is the one
/// libzmq object that crosses threads. Sockets never do; see ``Socket``.
///
/// Terminate it explicitly with ``terminate()`` once every socket is closed; it is not
/// terminated from `deinit`, because termination can block.
public final class Context: Sendable {
    /// The raw context. Immutable, and libzmq guarantees thread safety for context calls.
    nonisolated(unsafe) let handle: UnsafeMutableRawPointer
    private let state = Mutex(State.open)

    private enum State { case open, shutDown, terminated }

    /// Creates a context with `ioThreads` background I/O threads.
    public init(ioThreads: Int32 = 1) throws(ZeroMQError) {
        handle = try zmqPointer("zmq_ctx_new") { zmq_ctx_new() }
        try zmqCheck("zmq_ctx_set(ZMQ_IO_THREADS)") { zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads) }
        // Sockets are few and long-lived; the default limit (1023) is plenty.
    }

    /// Makes every blocking call on this context's sockets return `ETERM` at once.
    /// Safe to call more than once and from any thread.
    public func shutdown() {
        let shouldCall = state.withLock { state -> Bool in
            guard case .open = state else { return false }
            state = .shutDown
            return true
        }
        if shouldCall { _ = zmq_ctx_shutdown(handle) }
    }

    /// Shuts the context down and waits, on a thread of its own, until every socket has
    /// closed and lingering messages are sent or dropped. Never blocks the caller's thread.
    public func terminate() async {
        shutdown()
        let shouldTerminate = state.withLock { state -> Bool in
            if case .terminated = state { return false }
            state = .terminated
            return true
        }
        guard shouldTerminate else { return }
        let handle = UInt(bitPattern: self.handle)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            OwnerThread.start(name: "zmq-term") {
                let pointer = UnsafeMutableRawPointer(bitPattern: handle)
                while zmq_ctx_term(pointer) == -1 && zmq_errno() == EINTR {}
                continuation.resume()
            }
        }
    }
}
