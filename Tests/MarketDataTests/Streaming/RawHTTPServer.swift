import Foundation
import NIOCore
import NIOPosix
import TestSupport
import Testing

/// A bare TCP server on 127.0.0.1 (port 0) that reads each HTTP request head and then either
/// writes a raw HTTP response byte for byte (e.g. `finnhub/handshake_unauthorized.http`) and
/// closes, or never answers. For refused and unanswered WebSocket upgrades.
final class RawHTTPServer: Sendable {
    enum Behaviour: Sendable {
        /// Answer every request with these bytes, then close.
        case respond(String)
        /// Read the request and say nothing until the server stops.
        case silent
    }

    let port: Int
    /// Request lines received (`GET /?token=… HTTP/1.1`).
    let requestLines: Collector<String>
    /// Connections accepted.
    let connections: Collector<Int>
    private let channel: any Channel
    private let task: Task<Void, Never>
    private let gate: Gate

    private init(
        port: Int, channel: any Channel, task: Task<Void, Never>, gate: Gate, requestLines: Collector<String>,
        connections: Collector<Int>
    ) {
        self.port = port
        self.channel = channel
        self.task = task
        self.gate = gate
        self.requestLines = requestLines
        self.connections = connections
    }

    func url(_ path: String = "/") -> String { "ws://127.0.0.1:\(port)\(path)" }

    /// Request targets (`/?token=…`).
    var requests: [String] {
        requestLines.values.map { line in
            let parts = line.split(separator: " ")
            return parts.count > 1 ? String(parts[1]) : line
        }
    }

    static func start(_ behaviour: Behaviour) async throws -> RawHTTPServer {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let port = try #require(server.channel.localAddress?.port)
        let gate = Gate()
        let requestLines = Collector<String>()
        let connections = Collector<Int>()
        let task = Task<Void, Never> {
            try? await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        connections.append(1)
                        group.addTask {
                            try? await serve(connection, behaviour: behaviour, gate: gate, requestLines: requestLines)
                        }
                    }
                }
            }
        }
        return RawHTTPServer(
            port: port, channel: server.channel, task: task, gate: gate, requestLines: requestLines,
            connections: connections)
    }

    private static func serve(
        _ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, behaviour: Behaviour, gate: Gate,
        requestLines: Collector<String>
    ) async throws {
        try await connection.executeThenClose { input, output in
            var head = ""
            for try await var chunk in input {
                head += chunk.readString(length: chunk.readableBytes) ?? ""
                if head.contains("\r\n\r\n") { break }
            }
            requestLines.append(head.components(separatedBy: "\r\n").first ?? "")
            switch behaviour {
            case .respond(let response):
                try await output.write(ByteBuffer(string: response))
            case .silent:
                await gate.wait()
            }
        }
    }

    /// Releases silent connections and closes the listener (bounded).
    func stop() async {
        gate.open()
        try? await channel.close()
        _ = try? await withTimeout(seconds: 20, "raw server stop") { [task] in await task.value }
    }
}

/// Runs `body` against a fresh raw server and always stops it afterwards.
func withRawServer<T: Sendable>(_ behaviour: RawHTTPServer.Behaviour, _ body: (RawHTTPServer) async throws -> T)
    async throws -> T
{
    let server = try await RawHTTPServer.start(behaviour)
    do {
        let value = try await body(server)
        await server.stop()
        return value
    } catch {
        await server.stop()
        throw error
    }
}
