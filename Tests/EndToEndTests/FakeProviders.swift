import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

/// Fixture files of the providers (the same ones the MarketData tests use).
enum ProviderFixtures {
    static func url(_ path: String) -> URL {
        Paths.repository.appendingPathComponent("Tests/MarketDataTests/Fixtures/\(path)")
    }

    static func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: url(path))) }

    static func lines(_ path: String) throws -> [String] {
        try String(contentsOf: url(path), encoding: .utf8).split(separator: "\n").map(String.init)
    }
}

/// A Hummingbird application on 127.0.0.1 (a port the system picks), run in a service group
/// so that it stops by graceful shutdown (cancelling a NIO server can trap).
final class FakeServer: Sendable {
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    /// Set when the server stops, so handlers that hang on purpose let go.
    private let flag: StopFlag

    private init(port: Int, group: ServiceGroup, task: Task<Void, any Error>, flag: StopFlag) {
        self.port = port
        self.group = group
        self.task = task
        self.flag = flag
    }

    final class StopFlag: Sendable {
        private let value = Mutex(false)
        var isSet: Bool { value.withLock { $0 } }
        func set() { value.withLock { $0 = true } }
    }

    /// Waits up to `seconds` or until the server stops, whichever is first.
    static func hang(seconds: Double, until stopping: @Sendable () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !stopping() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    }

    static func start(
        _ makeApp: (_ onRunning: @escaping @Sendable (Int) -> Void, _ stopping: @escaping @Sendable () -> Bool) -> any Service
    ) async throws -> FakeServer {
        let port = Mutex<Int?>(nil)
        let flag = StopFlag()
        let app = makeApp({ bound in port.withLock { $0 = bound } }, { flag.isSet })
        var logger = Logger(label: "fake-provider")
        logger.logLevel = .critical
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        try await waitUntil(seconds: 10, "fake server listening") { port.withLock { $0 != nil } }
        return FakeServer(port: port.withLock { $0 } ?? 0, group: group, task: task, flag: flag)
    }

    func stop() async {
        flag.set()
        await group.triggerGracefulShutdown()
        let task = self.task
        _ = try? await withTimeout(seconds: 10, "fake server stop") { _ = await task.result }
    }
}

/// How the fake Alpha Vantage answers.
enum AlphaVantageMode: String, Sendable, CaseIterable {
    case normal, rateLimit = "rate_limit", serverError = "http_500", garbage, hang
}

/// A fake Alpha Vantage: the fixtures for AAPL, the unknown-symbol bodies for anything else,
/// or, by mode, a rate-limit body, HTTP 500, garbage or no answer at all.
func startAlphaVantage(mode: AlphaVantageMode) async throws -> FakeServer {
    let quote = try ProviderFixtures.bytes("alphavantage/global_quote_AAPL.json")
    let intraday = try ProviderFixtures.bytes("alphavantage/intraday_1min_AAPL.json")
    let unknownQuote = try ProviderFixtures.bytes("alphavantage/global_quote_unknown_symbol.json")
    let unknownSeries = try ProviderFixtures.bytes("alphavantage/error_invalid_symbol_intraday.json")
    let rateLimited = try ProviderFixtures.bytes("alphavantage/rate_limit_note.json")
    return try await FakeServer.start { onRunning, stopping in
        let router = Router()
        router.get("query") { request, _ -> Response in
            let function = request.uri.queryParameters["function"].map(String.init) ?? ""
            let symbol = request.uri.queryParameters["symbol"].map(String.init) ?? ""
            var status = HTTPResponse.Status.ok
            let body: [UInt8]
            switch mode {
            case .normal:
                switch (function, symbol) {
                case ("GLOBAL_QUOTE", "AAPL"): body = quote
                case ("TIME_SERIES_INTRADAY", "AAPL"): body = intraday
                case ("GLOBAL_QUOTE", _): body = unknownQuote
                default: body = unknownSeries
                }
            case .rateLimit: body = rateLimited
            case .serverError:
                status = .internalServerError
                body = Array("<html>upstream failure</html>".utf8)
            case .garbage: body = Array("{\"Global Quote\": [1, 2".utf8)
            case .hang:
                try await FakeServer.hang(seconds: 30, until: stopping)
                body = []
            }
            return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { onRunning($0.localAddress?.port ?? 0) })
    }
}

/// A fake Polygon stocks WebSocket: the recorded session after auth and subscribe. The first
/// connection is dropped half-way; later ones replay the whole session from the start, as a
/// feed that resends recent data after a reconnect would.
func startPolygon(connections: Counter) async throws -> FakeServer {
    let frames = try ProviderFixtures.lines("polygon/session.jsonl")
    let data = frames.filter { $0.contains("\"ev\":\"T\"") || $0.contains("\"ev\":\"Q\"") || $0.contains("\"ev\":\"A") }
    return try await FakeServer.start { onRunning, _ in
        let responder = CallbackResponder<BasicRequestContext> { _, _ in Response(status: .notFound) }
        return Application(
            responder: responder,
            server: .http1WebSocketUpgrade { _, _, _ in
                .upgrade([:]) { inbound, outbound, _ in
                    let number = connections.next()
                    var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                    func nextText() async throws -> String? {
                        while let message = try await messages.next() {
                            if case .text(let text) = message { return text }
                        }
                        return nil
                    }
                    try await outbound.write(.text(#"[{"ev":"status","status":"connected","message":"Connected Successfully"}]"#))
                    guard let auth = try await nextText(), auth.contains("\"auth\"") else { return }
                    try await outbound.write(.text(#"[{"ev":"status","status":"auth_success","message":"authenticated"}]"#))
                    guard let subscribe = try await nextText(), subscribe.contains("\"subscribe\"") else { return }
                    let params = (try? JSONSerialization.jsonObject(with: Data(subscribe.utf8)) as? [String: String])?["params"] ?? ""
                    for channel in params.split(separator: ",") {
                        try await outbound.write(.text(#"[{"ev":"status","status":"success","message":"subscribed to: \#(channel)"}]"#))
                    }
                    let count = number == 1 ? data.count / 2 : data.count
                    for frame in data.prefix(count) {
                        try await outbound.write(.text(frame))
                        try await Task.sleep(for: .milliseconds(2))
                    }
                    if number == 1 {
                        try await outbound.close(.unexpectedServerError, reason: "fake: dropped mid-stream")
                        return
                    }
                    while try await nextText() != nil {}
                }
            },
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { onRunning($0.localAddress?.port ?? 0) }
        )
    }
}
