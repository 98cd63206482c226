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

/// A provider's WebSocket server on 127.0.0.1 (port 0) for tests, built on
/// HummingbirdWebSocket: replays a fixture transcript to every connection, recording what
/// clients send and the ping frames it receives. (Refused or unanswered upgrades are
/// ``RawHTTPServer``'s job: Hummingbird answers a refused upgrade with its own 400.)
final class FakeWebSocketServer: Sendable {
    /// One `c2s` step: what the transcript expected and what the client sent (nil: the client
    /// closed first).
    struct Expectation: Sendable, Equatable {
        var expected: String
        var received: String?
    }

    let port: Int
    private let recorders: Recorders
    /// Every text frame clients sent, in order.
    var received: Collector<String> { recorders.received }
    /// The transcript's `c2s` steps as they were met.
    var expectations: Collector<Expectation> { recorders.expectations }
    /// Request targets of the upgrade requests (path and query).
    var requests: Collector<String> { recorders.requests }
    /// Ping frames the server read (seen through its trace log).
    var pings: Collector<String> { recorders.pings }

    private let task: Task<Void, any Error>
    private let group: ServiceGroup
    private let gate: Gate

    private init(
        port: Int, recorders: Recorders, task: Task<Void, any Error>, group: ServiceGroup, gate: Gate
    ) {
        self.port = port
        self.recorders = recorders
        self.task = task
        self.group = group
        self.gate = gate
    }

    /// `ws://127.0.0.1:<port><path>`.
    func url(_ path: String = "/") -> String { "ws://127.0.0.1:\(port)\(path)" }

    /// Starts a server that replays `transcript` to every connection; `waitScale` multiplies
    /// the transcript's `wait` seconds.
    static func start(replaying transcript: Transcript, waitScale: Double = 0.01) async throws -> FakeWebSocketServer {
        let state = Recorders()
        let gate = Gate()
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let logger = Logger(label: "fake-provider") { _ in PingSpy(pings: state.pings) }
        let responder = CallbackResponder<BasicRequestContext> { _, _ in Response(status: .notFound) }
        let app = Application(
            responder: responder,
            server: .http1WebSocketUpgrade { request, _, _ in
                state.requests.append(request.path ?? "")
                return .upgrade([:]) { inbound, outbound, _ in
                    try await replay(transcript, inbound: inbound, outbound: outbound, state: state, gate: gate, waitScale: waitScale)
                }
            },
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger
        )
        // Stopped by graceful shutdown, not by cancelling the task: cancelling a NIO server
        // with a connection still buffered can trap (apple/swift-nio#3481).
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        let port: Int
        do {
            port = try await withTimeout(seconds: 20, "fake server start") {
                var iterator = ports.makeAsyncIterator()
                return await iterator.next() ?? 0
            }
            try #require(port > 0, "fake server did not report its port")
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        return FakeWebSocketServer(port: port, recorders: state, task: task, group: group, gate: gate)
    }

    /// Releases stalled handlers and stops the server (bounded).
    func stop() async {
        gate.open()
        await group.triggerGracefulShutdown()
        let task = self.task
        _ = try? await withTimeout(seconds: 20, "fake server stop") { _ = await task.result }
    }

    /// Plays `transcript` on one connection.
    private static func replay(
        _ transcript: Transcript, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        state: Recorders, gate: Gate, waitScale: Double
    ) async throws {
        var frames = inbound.messages(maxSize: 1 << 24).makeAsyncIterator()
        func nextText() async throws -> String? {
            while let message = try await frames.next() {
                if case .text(let text) = message {
                    state.received.append(text)
                    return text
                }
            }
            return nil
        }
        for step in transcript.steps {
            switch step {
            case .send(let text):
                try await outbound.write(.text(text))
            case .sendFragmented(let text):
                try await outbound.writeTextMessage(text)
            case .expect(let expected):
                let text = try await nextText()
                state.expectations.append(Expectation(expected: expected, received: text))
                if text == nil { return }
            case .wait(let seconds):
                try await Task.sleep(for: .seconds(seconds * waitScale))
            case .close(let code):
                try await outbound.close(WebSocketErrorCode(codeNumber: Int(code)), reason: nil)
                return
            case .stall:
                await gate.wait()
                return
            }
        }
        // The transcript is over: keep reading (and answering pings) until the client closes.
        while try await nextText() != nil {}
    }

    /// What the server records.
    private final class Recorders: Sendable {
        let received = Collector<String>()
        let expectations = Collector<Expectation>()
        let requests = Collector<String>()
        let pings = Collector<String>()
    }
}

/// Suspends waiters until opened (then lets everyone through).
final class Gate: Sendable {
    private struct State {
        var open = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Sees the trace lines in which the server's WebSocket handler logs each frame it reads, and
/// keeps those about ping frames.
struct PingSpy: LogHandler {
    let pings: Collector<String>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let text = "\(event.message)"
        if text.hasPrefix("Received WebSocketFrame(WebSocketOpcode.ping") { pings.append(text) }
    }
}
