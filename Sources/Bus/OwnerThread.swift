import Foundation

/// Starts the dedicated thread that owns a socket. Everything that touches the socket
/// happens inside `body`, so the socket never leaves its thread.
enum OwnerThread {
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }
}
