import Contracts
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceKit
import ServiceLifecycle
import Synchronization

/// The live dashboard: subscribes to ticks, bars (which also resolve signals' outcomes),
/// signals, heartbeats (the signal generator's PSI, the notifier's outbox), alerts and the
/// session, keeps a bounded ``DashboardState`` and serves it on `host:port`:
/// - `GET /`: the page (self-contained: inline CSS, script and SVG, nothing loaded from
///   elsewhere);
/// - `GET /state`: the state as JSON;
/// - `GET /events`: Server-Sent Events, the state whenever it changed, checked every 250 ms.
public struct DashboardService: Service {
    /// Where the page is served.
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public init(host: String = "127.0.0.1", port: Int = 8700) {
            self.host = host
            self.port = port
        }
    }

    let environment: ServiceEnvironment
    let configuration: Configuration
    let state = Shared()
    let onBound: @Sendable (Int) -> Void

    final class Shared: Sendable {
        let value = Mutex(DashboardState())
        /// Set when the service stops, so that open event streams end and the server can.
        let stopping = Mutex(false)
    }

    public init(environment: ServiceEnvironment, configuration: Configuration, onBound: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.environment = environment
        self.configuration = configuration
        self.onBound = onBound
    }

    public func run() async throws {
        let subscription = try await environment.subscribe(
            ["tick.", "bar.", "signal.", "status.", "alert.", "market."].map { TopicPattern(prefix: $0) })
        let state = self.state, counters = environment.counters
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // However the subscription ends, open event streams end with it.
                defer { state.stopping.withLock { $0 = true } }
                for try await delivery in subscription.cancelOnGracefulShutdown() {
                    counters.addIn()
                    let now = WallClock.nanoseconds()
                    state.value.withLock { $0.apply(delivery, nowNs: now) }
                }
            }
            group.addTask { try await serve() }
            while let _ = try await group.next() {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
            }
            group.cancelAll()
        }
        await subscription.close()
    }

    /// The HTTP side; a port it cannot bind ends the service with the error (the dashboard
    /// is all this process is for).
    func serve() async throws {
        let state = self.state
        let router = Router()
        router.get("/") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: DashboardPage.contentSecurityPolicy],
                body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
        }
        router.get("state") { _, _ -> Response in
            let body = state.value.withLock { $0.snapshot(nowNs: WallClock.nanoseconds()) }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get("events") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    var sent: UInt64? = nil
                    var lastWrite = ContinuousClock.now
                    // Ends when the client goes (the write throws) or the service stops.
                    while !Task.isCancelled && !state.stopping.withLock({ $0 }) {
                        // A change, or every 2 s regardless: keeps heartbeat ages moving on the
                        // page and proxies from closing the stream.
                        let due = ContinuousClock.now - lastWrite > .seconds(2)
                        let event: (version: UInt64, body: Data)? = state.value.withLock { value in
                            value.version == sent && !due ? nil : (value.version, value.snapshot(nowNs: WallClock.nanoseconds()))
                        }
                        if let event {
                            var buffer = ByteBuffer(string: "data: ")
                            buffer.writeBytes(event.body)
                            buffer.writeString("\n\n")
                            try await writer.write(buffer)
                            sent = event.version
                            lastWrite = .now
                        }
                        try await Task.sleep(for: .milliseconds(250))
                    }
                    try await writer.finish(nil)
                })
        }
        var quiet = environment.logger
        quiet.logLevel = .warning
        let logger = environment.logger, onBound = self.onBound, host = configuration.host
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("dashboard on http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)/")
                onBound(port)
            },
            logger: quiet)
        try await app.run()
    }
}
