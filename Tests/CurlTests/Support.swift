import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

struct SupportError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One request a ``LocalHTTPServer`` received.
struct Received: Sendable {
    var method: String
    var path: String
    /// Lower-cased names; repeated headers joined with ", ".
    var headers: [String: String]
    var body: [UInt8]
}

/// What a ``LocalHTTPServer`` answers.
struct Reply: Sendable {
    var status: Int = 200
    var contentType: String?
    var cacheControl: String?
    var body: [UInt8] = []
}

/// A Hummingbird server on 127.0.0.1 that records every request and answers with `respond`.
/// Stopped by graceful shutdown of its service group.
final class LocalHTTPServer: Sendable {
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    private let recorded: Collector<Received>

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var received: [Received] { recorded.values }

    private init(port: Int, group: ServiceGroup, task: Task<Void, any Error>, recorded: Collector<Received>) {
        self.port = port
        self.group = group
        self.task = task
        self.recorded = recorded
    }

    static func start(_ respond: @escaping @Sendable (Received) -> Reply) async throws -> LocalHTTPServer {
        let recorded = Collector<Received>()
        let port = Mutex<Int?>(nil)
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers {
                let name = field.name.canonicalName
                headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
            }
            let record = Received(
                method: request.method.rawValue, path: request.uri.path, headers: headers,
                body: Array(buffer.readableBytesView))
            recorded.append(record)
            let reply = respond(record)
            var fields = HTTPFields()
            if let contentType = reply.contentType { fields[.contentType] = contentType }
            if let cacheControl = reply.cacheControl { fields[.cacheControl] = cacheControl }
            return Response(
                status: .init(code: reply.status), headers: fields,
                body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
        }
        let app = Application(
            responder: responder, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port ?? 0 } })
        var logger = Logger(label: "curl-tests-http")
        logger.logLevel = .critical
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        try await waitUntil(seconds: 10, "local HTTP server listening") { port.withLock { $0 != nil } }
        return LocalHTTPServer(port: port.withLock { $0 } ?? 0, group: group, task: task, recorded: recorded)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        let task = self.task
        _ = try? await withTimeout(seconds: 10, "local HTTP server stop") { _ = await task.result }
    }
}

/// Runs `body` with a ``LocalHTTPServer`` answering with `respond`, then stops the server
/// whether `body` threw or not.
func withServer<T>(
    _ respond: @escaping @Sendable (Received) -> Reply, _ body: (LocalHTTPServer) async throws -> T
) async throws -> T {
    let server = try await LocalHTTPServer.start(respond)
    let result: Result<T, any Error>
    do {
        result = .success(try await body(server))
    } catch {
        result = .failure(error)
    }
    await server.stop()
    return try result.get()
}

/// A TCP socket on 127.0.0.1 that is listening (connections complete in the backlog, but
/// nothing is ever accepted or answered) or merely bound (so connecting is refused). Closed
/// on deinit.
final class LoopbackSocket: Sendable {
    let port: Int
    private let descriptor: Int32

    init(listening: Bool) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SupportError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, !listening || listen(fd, 16) == 0 else {
            close(fd)
            throw SupportError("bind/listen failed")
        }
        var actual = sockaddr_in()
        let named = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            close(fd)
            throw SupportError("getsockname failed")
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: actual.sin_port))
    }

    deinit { close(descriptor) }
}
