import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// A `ws://` or `wss://` URL taken apart.
struct WebSocketTarget: Sendable, Equatable {
    var tls: Bool
    var host: String
    var port: Int
    /// Path and query as sent in the request line, e.g. `/stocks` or `/?token=…`.
    var target: String
    /// Whether the port was written out (then the Host header carries it).
    var explicitPort: Bool

    init?(_ url: String) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "ws" || scheme == "wss", let host = components.host, !host.isEmpty
        else { return nil }
        tls = scheme == "wss"
        self.host = host
        port = components.port ?? (tls ? 443 : 80)
        explicitPort = components.port != nil
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        target = path + (components.percentEncodedQuery.map { "?\($0)" } ?? "")
    }

    var isIPAddress: Bool {
        host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
    }

    var hostHeader: String {
        let name = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return explicitPort ? "\(name):\(port)" : name
    }
}

/// Finds out why a WebSocket upgrade was refused. WSClient only says "upgrade failed", but a
/// 401 (bad key: stop) and a 503 (outage: retry) call for opposite reactions, so after a refusal
/// the same upgrade request is sent once more on a plain connection and the status line of the
/// answer is read. Bounded by the caller's deadline; `nil` when nothing readable came back.
enum UpgradeProbe {
    static func status(url: String, group: any EventLoopGroup) async throws -> Int? {
        guard let target = WebSocketTarget(url) else { return nil }
        let channel = try await ClientBootstrap(group: group).connect(host: target.host, port: target.port) {
            channel in
            channel.eventLoop.makeCompletedFuture {
                if target.tls {
                    let context = try NIOSSLContext(configuration: .makeClientConfiguration())
                    let handler = try NIOSSLClientHandler(
                        context: context, serverHostname: target.isIPAddress ? nil : target.host)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let request =
            "GET \(target.target) HTTP/1.1\r\nHost: \(target.hostHeader)\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            var head: [UInt8] = []
            for try await chunk in inbound {
                head += chunk.readableBytesView
                if let status = statusCode(ofResponseHead: head) { return status }
                if head.count > 8192 { break }
            }
            return statusCode(ofResponseHead: head)
        }
    }

    /// The status code of `HTTP/1.x NNN …`, once the first line is complete.
    static func statusCode(ofResponseHead bytes: [UInt8]) -> Int? {
        guard let end = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = String(decoding: bytes[..<end], as: UTF8.self)
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), parts[1].count == 3, let code = Int(parts[1]) else {
            return nil
        }
        return code
    }
}
