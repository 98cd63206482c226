import Contracts
import Foundation
import Hummingbird
import Logging
import MarketData
import NIOCore
import ServiceKit
import ServiceLifecycle
import Synchronization
import Testing
import TestSupport

/// The Alpha Vantage fixtures (test resources).
enum AVFixtures {
    /// The key the fake server accepts; the daily-limit fixture embeds it.
    static let apiKey = "FAKEKEY0TEST0001"

    static func bytes(_ name: String) throws -> [UInt8] {
        let base = try #require(Bundle.module.resourceURL, "test resources not found")
        let url = base.appendingPathComponent("Fixtures/alphavantage/\(name)")
        return Array(try Data(contentsOf: url))
    }

    static func text(_ name: String) throws -> String {
        String(decoding: try bytes(name), as: UTF8.self)
    }

    /// A `MarketData.HTTPResponse` (200 unless told) with a fixture's body.
    static func response(_ name: String, status: Int = 200) throws -> MarketData.HTTPResponse {
        MarketData.HTTPResponse(status: status, body: try bytes(name))
    }

    /// 2025-03-14 11:42:00 US/Eastern (EDT) = 15:42:00 UTC, the newest bar of the 1min fixture.
    static let newestBarStart: Int64 = 1_741_966_920_000_000_000
    /// 2025-03-14 10:03:00 EDT = 14:03:00 UTC, the oldest.
    static let oldestBarStart: Int64 = 1_741_960_980_000_000_000
    static let minute: Int64 = 60_000_000_000
}

/// A fake Alpha Vantage on 127.0.0.1 (a port the system picks), built with Hummingbird.
///
/// `GET /query`: checks `apikey` (a wrong one gets the invalid-key body, HTTP 200 as the
/// real service does), then answers with the next scripted reply for the `function`
/// parameter (or for `FUNCTION:SYMBOL` when that is scripted); the last reply of a script
/// repeats; an unscripted request gets HTTP 599. Every request is recorded.
final class AVFakeServer: Sendable {
    struct Reply: Sendable {
        var status: Int = 200
        var body: [UInt8] = []
        /// Do not answer until the server stops (or 20 s passed).
        var hang = false

        static func fixture(_ name: String, status: Int = 200) throws -> Reply {
            Reply(status: status, body: try AVFixtures.bytes(name))
        }

        static func text(_ text: String, status: Int = 200) -> Reply {
            Reply(status: status, body: Array(text.utf8))
        }

        static let hanging = Reply(hang: true)
    }

    struct Received: Sendable, Equatable {
        var function: String
        var symbol: String
        var query: [String: String]
    }

    private struct Script {
        var replies: [String: [Reply]] = [:]
    }

    let port: Int
    let apiKey: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    private let shared: Shared

    var baseURL: String { "http://127.0.0.1:\(port)/query" }

    private init(port: Int, apiKey: String, group: ServiceGroup, task: Task<Void, any Error>, shared: Shared) {
        self.port = port
        self.apiKey = apiKey
        self.group = group
        self.task = task
        self.shared = shared
    }

    /// What the route handler and the server object share.
    private final class Shared: Sendable {
        let script: Mutex<Script>
        let requests: Collector<Received>
        let released = Atomic<Bool>(false)
        let port = Mutex<Int?>(nil)
        let invalidKey: [UInt8]

        init(replies: [String: [Reply]], invalidKey: [UInt8]) {
            script = Mutex(Script(replies: replies))
            requests = Collector()
            self.invalidKey = invalidKey
        }

        /// The next reply for `FUNCTION:SYMBOL` if scripted, else for `FUNCTION`.
        func next(_ function: String, _ symbol: String) -> Reply {
            script.withLock { script in
                let key = script.replies["\(function):\(symbol)"] != nil ? "\(function):\(symbol)" : function
                guard var queue = script.replies[key], let first = queue.first else {
                    return Reply.text("{\"Note\": \"fake server: no reply scripted for \(key)\"}", status: 599)
                }
                if queue.count > 1 {
                    queue.removeFirst()
                    script.replies[key] = queue
                }
                return first
            }
        }
    }

    /// Starts a server; `replies` maps a `function` to its replies in order.
    static func start(apiKey: String = AVFixtures.apiKey, replies: [String: [Reply]]) async throws -> AVFakeServer {
        let shared = Shared(replies: replies, invalidKey: try AVFixtures.bytes("error_invalid_key.json"))
        let router = Router()
        router.get("query") { request, _ -> Response in
            var query: [String: String] = [:]
            for (name, value) in request.uri.queryParameters {
                query[String(name)] = String(value)
            }
            let function = query["function"] ?? ""
            shared.requests.append(Received(function: function, symbol: query["symbol"] ?? "", query: query))
            let reply: Reply =
                query["apikey"] == apiKey ? shared.next(function, query["symbol"] ?? "") : Reply(body: shared.invalidKey)
            if reply.hang {
                let clock = ContinuousClock()
                let deadline = clock.now.advanced(by: .seconds(20))
                while !shared.released.load(ordering: .acquiring) && clock.now < deadline {
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            return Response(
                status: .init(code: reply.status),
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body)))
        }
        var logger = Logger(label: "av-fake-server")
        logger.logLevel = .critical
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port
                shared.port.withLock { $0 = port }
            },
            logger: logger)
        // Stopped by a graceful shutdown, never by cancelling: cancelling a NIO server while
        // an accepted connection is still buffered traps ("Deinited NIOAsyncWriter without
        // calling finish()", apple/swift-nio#3481).
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        do {
            try await waitUntil(seconds: 10, "the fake Alpha Vantage server to listen") {
                shared.port.withLock { $0 != nil }
            }
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        let port = shared.port.withLock { $0 } ?? 0
        return AVFakeServer(port: port, apiKey: apiKey, group: group, task: task, shared: shared)
    }

    /// Replaces the replies for `function`.
    func script(_ function: String, _ replies: [Reply]) {
        shared.script.withLock { $0.replies[function] = replies }
    }

    /// Requests received so far.
    var received: [Received] { shared.requests.values }

    func received(_ function: String) -> [Received] { received.filter { $0.function == function } }

    /// Releases hanging replies, shuts the server down gracefully and waits (bounded) for it
    /// to end.
    func stop() async {
        shared.released.store(true, ordering: .releasing)
        await group.triggerGracefulShutdown()
        let task = self.task
        _ = try? await withTimeout(seconds: 10, "the fake server to stop") {
            _ = await task.result
        }
    }
}

/// Runs `body` with a started server and stops the server afterwards, whether `body` threw
/// or not.
func withAVServer<T>(
    apiKey: String = AVFixtures.apiKey, _ replies: [String: [AVFakeServer.Reply]],
    _ body: (AVFakeServer) async throws -> T
) async throws -> T {
    let server = try await AVFakeServer.start(apiKey: apiKey, replies: replies)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// A loopback port nothing listens on, held for the object's lifetime: the socket is bound
/// but never listens, so connecting is refused, and no other test's server can be given the
/// same port meanwhile (which a closed port would allow).
final class RefusedPort {
    let port: Int
    private let fd: Int32

    init() throws {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        try #require(fd >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, named == 0 else {
            close(fd)
            throw AVTestError("could not bind a loopback port")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

struct AVTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A `ProviderSink` that records everything, with a session the test can switch.
final class AVRecorder: Sendable {
    let events = Collector<MarketEvent>()
    let issues = Collector<ProviderIssue>()
    let connections = Counter()
    private let counts = Mutex<[String: UInt64]>([:])
    private let gate: Mutex<SessionGate>

    init(session: SessionGate = .open(.regular)) {
        gate = Mutex(session)
    }

    var session: SessionGate {
        get { gate.withLock { $0 } }
        set { gate.withLock { $0 = newValue } }
    }

    func count(_ name: String) -> UInt64 { counts.withLock { $0[name] ?? 0 } }

    var trades: [(Trade, Int64)] {
        events.values.compactMap { if case .trade(let trade, let time) = $0 { (trade, time) } else { nil } }
    }

    var bars: [Bar] {
        events.values.compactMap { if case .bar(let bar) = $0 { bar } else { nil } }
    }

    func issues(_ kind: ProviderIssue.Kind) -> [ProviderIssue] { issues.values.filter { $0.kind == kind } }

    var sink: ProviderSink {
        var logger = Logger(label: "av-test")
        logger.logLevel = .critical
        return ProviderSink(
            logger: logger,
            onEvent: { [events] in events.append($0) },
            onIssue: { [issues] in issues.append($0) },
            onCount: { [self] name, amount in counts.withLock { $0[name, default: 0] += amount } },
            onConnected: { [connections] in _ = connections.next() },
            session: { [self] in gate.withLock { $0 } })
    }
}

/// A config for the provider against `baseURL`: fast cycles, a budget that does not slow
/// the test down unless told.
func avConfig(
    baseURL: String, tickers: [String] = ["AAPL"], backfill: Bool = false, updateInterval: Double = 0.05,
    timeout: Double = 5, perMinute: Double = 60_000, perDay: Double = 1e9, apiKey: String? = AVFixtures.apiKey
) -> TickwireConfig {
    var config = TickwireConfig()
    config.provider = "alphavantage"
    config.apiKey = apiKey.map(Secret.init)
    config.providerUrl = baseURL
    config.tickers = tickers
    config.ingestor.backfill = backfill
    config.updateInterval = updateInterval
    config.ingestor.requestTimeoutSeconds = timeout
    config.rateLimit.requestsPerMinute = perMinute
    config.rateLimit.requestsPerDay = perDay
    return config
}

/// Runs the provider in a task; the task's value is the error `run` threw, or nil.
func avStart<C>(_ provider: AlphaVantageProvider<C>, _ symbols: [String], _ recorder: AVRecorder) -> Task<(any Error)?, Never> {
    let sink = recorder.sink
    return Task {
        do {
            try await provider.run(symbols: symbols, sink: sink)
            return nil
        } catch {
            return error
        }
    }
}

/// Waits (bounded) for `run` to end by itself and returns what it threw.
func avOutcome(_ task: Task<(any Error)?, Never>, seconds: Double = 15) async throws -> (any Error)? {
    try await withTimeout(seconds: seconds, "AlphaVantageProvider.run to end") { await task.value }
}

/// Cancels `run` and waits (bounded) until it returned; returns what it threw.
func avStop(_ task: Task<(any Error)?, Never>) async throws -> (any Error)? {
    task.cancel()
    return try await avOutcome(task, seconds: 10)
}
