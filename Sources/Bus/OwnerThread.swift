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
