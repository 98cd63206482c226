import Foundation

/// Starts the dedicated thread that owns a socket. Everything that touches the socket
/// happens inside `body`, so the socket never leaves its thread.
enum OwnerThread {
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            // Named from inside: on Linux only the running thread can name itself, and the
            // name is what `top -H`, `perf` and debuggers show.
            Thread.current.name = name
            body()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

import Synchronization

/// Lets any number of tasks wait, without blocking, for an owner thread to finish.
final class ThreadExit: Sendable {
    private struct State {
        var done = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// The owner thread's last act: wakes every waiter, now and later.
    func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the owner thread has finished.
    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.done { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}
