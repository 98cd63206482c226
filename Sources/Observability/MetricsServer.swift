import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// What `/health` and `/ready` answer: 200 when true, 503 when not, with `body` (JSON).
public struct HealthReport: Sendable {
    /// The process is alive and its services run (liveness).
    public var live: Bool
    /// It is doing its work: connected and not shutting down (readiness).
    public var ready: Bool
    public var body: String

    public init(live: Bool, ready: Bool, body: String) {
        self.live = live
        self.ready = ready
        self.body = body
    }
}

/// The HTTP server every service runs beside its work: `GET /metrics` (the Prometheus text
/// format), `/health` and `/ready`. A port it cannot bind is logged and the service goes on
/// without it: monitoring must never stop trading.
public struct MetricsServer: Service {
    /// Where it listens.
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    let configuration: Configuration
    let scrape: @Sendable () -> String
    let health: @Sendable () -> HealthReport
    let logger: Logger
    let onBound: @Sendable (Int) -> Void
    let onFailure: @Sendable () -> Void

    /// - Parameters:
    ///   - scrape: the `/metrics` body, made at each request.
    ///   - health: the `/health` and `/ready` answer, made at each request.
    ///   - onBound: told the port once listening (the one the system picked, for port 0).
    ///   - onFailure: told when the server cannot run (the port is taken).
    public init(
        configuration: Configuration, logger: Logger, scrape: @escaping @Sendable () -> String,
        health: @escaping @Sendable () -> HealthReport, onBound: @escaping @Sendable (Int) -> Void = { _ in },
        onFailure: @escaping @Sendable () -> Void = {}
    ) {
        self.configuration = configuration
        self.scrape = scrape
        self.health = health
        self.logger = logger
        self.onBound = onBound
        self.onFailure = onFailure
    }

    /// The router: the three endpoints, each a GET.
    func router() -> Router<BasicRequestContext> {
        let router = Router()
        let scrape = self.scrape, health = self.health
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: scrape())))
        }
        router.get("health") { _, _ -> Response in
            let report = health()
            return Self.json(report.live ? .ok : .serviceUnavailable, report.body)
        }
        router.get("ready") { _, _ -> Response in
            let report = health()
            return Self.json(report.ready ? .ok : .serviceUnavailable, report.body)
        }
        return router
    }

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body + "\n")))
    }

    public func run() async throws {
        var quiet = logger
        quiet.logLevel = .warning
        let onBound = self.onBound
        let app = Application(
            router: router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in onBound(channel.localAddress?.port ?? 0) },
            logger: quiet)
        do {
            try await app.run()
        } catch {
            logger.error(
                "cannot serve /metrics, /health and /ready on \(configuration.host):\(configuration.port): \(error); the service goes on without them (set metrics.port or --metrics-port)")
            onFailure()
            try? await gracefulShutdown()
        }
    }
}
