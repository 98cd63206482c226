import Logging
import NIOCore
import NIOPosix
import NIOWebSocket
import ServiceKit
import Synchronization
import WSClient

/// Timing and size limits of a streaming connection.
public struct StreamingOptions: Sendable, Equatable {
    /// TCP connect, TLS and the HTTP upgrade together must finish within this.
    public var handshakeTimeout: Duration
    /// After the upgrade, the provider must confirm the subscription (auth included) within
    /// this, or the connection is closed and `run` returns (the ingestor reconnects).
    public var setupTimeout: Duration
    /// A WebSocket ping frame goes out this often; a ping still unanswered when the next one is
    /// due closes the connection (and `run` returns, so the ingestor reconnects).
    public var pingInterval: Duration
    /// How long to wait for the server's close frame after we close.
    public var closeTimeout: Duration
    /// The largest frame or message accepted.
    public var maxMessageSize: Int

    public init(
        handshakeTimeout: Duration = .seconds(10), setupTimeout: Duration = .seconds(20),
        pingInterval: Duration = .seconds(10), closeTimeout: Duration = .seconds(3),
        maxMessageSize: Int = 16 << 20
    ) {
        self.handshakeTimeout = handshakeTimeout
        self.setupTimeout = setupTimeout
        self.pingInterval = pingInterval
        self.closeTimeout = closeTimeout
        self.maxMessageSize = maxMessageSize
    }

    /// The handshake timeout is `ingestor.request_timeout_seconds`; the setup timeout twice
    /// that (auth and subscription take two round trips); pings every 10 s.
    public init(config: TickwireConfig) {
        let seconds = config.ingestor.requestTimeoutSeconds
        let timeout: Duration = seconds.isFinite && seconds > 0 ? .seconds(seconds) : .seconds(10)
        self.init(handshakeTimeout: timeout, setupTimeout: timeout * 2)
    }
}

/// The one WebSocket client loop every streaming provider uses: connect (bounded by the
/// handshake timeout), keep the connection alive with pings, hand each text frame to the
/// provider's ``StreamingSession``, send what it asks for, publish its events, and end the way
/// ``MarketDataProvider/run(symbols:sink:)`` promises:
/// - returns normally when the server closes, the network drops, a pong goes missing, the
///   setup times out or the session asks to reconnect;
/// - throws the session's fatal ``ProviderIssue`` when retrying is pointless;
/// - throws a non-fatal ``ProviderIssue`` when the attempt failed before the WebSocket opened
///   (`.timeout`, `.unreachable`, or what `refusal` makes of a refused upgrade).
///
/// Each attempt gets its own one-thread event loop group, shut down when the attempt ends. That
/// is what makes the handshake timeout real: WSClient's upgrade cannot be cancelled, but
/// shutting the group down closes its channel and fails the pending upgrade. Nothing here
/// blocks a thread of the cooperative pool.
public struct StreamingConnection: Sendable {
    /// The provider's config name, used in every message.
    public var provider: String
    /// Where to connect (`ws://` or `wss://`); may hold a secret (Finnhub's token).
    public var url: String
    /// `url` as it may be logged.
    public var displayURL: String
    public var options: StreamingOptions

    public init(provider: String, url: String, displayURL: String? = nil, options: StreamingOptions) {
        self.provider = provider
        self.url = url
        self.displayURL = displayURL ?? url
        self.options = options
    }

    /// Runs one connection attempt with a fresh `session`.
    /// - Parameter refusal: what a refused WebSocket upgrade means, given the HTTP status of
    ///   the refusal when it could be read (`nil` when not).
    public func run<Session: StreamingSession>(
        _ session: Session, sink: ProviderSink,
        refusal: @escaping @Sendable (_ status: Int?) -> ProviderIssue
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let state = AttemptState()
        let outcome: Result<WebSocketCloseFrame?, any Error>
        do {
            outcome = .success(try await connect(session, sink: sink, group: group, state: state))
        } catch {
            outcome = .failure(error)
        }
        var probedStatus: Int?
        if case .failure(let error as WebSocketClientError) = outcome, error == .webSocketUpgradeFailed,
            !Task.isCancelled
        {
            probedStatus = try? await withDeadline(options.handshakeTimeout, group: group) { _ in
                try await UpgradeProbe.status(url: url, group: group)
            }
        }
        try? await group.shutdownGracefully()
        if Task.isCancelled { return }

        let logger = sink.logger
        switch outcome {
        case .success(let closeFrame):
            switch state.end {
            case .closedByServer where closeFrame == nil:
                sink.report(
                    ProviderIssue(
                        .disconnected,
                        "\(provider): connection to \(displayURL) dropped without a close frame (network, or no pong within \(options.pingInterval))"
                    ))
            case .closedByServer:
                let code = closeFrame.map { "\($0.closeCode)" } ?? "none"
                logger.info("\(provider): server closed the stream (code \(code), reason \(closeFrame?.reason ?? ""))")
            default:
                logger.info("\(provider): closed the stream to reconnect")
            }
        case .failure(let issue as ProviderIssue):
            throw issue
        case .failure(is CancellationError):
            return
        case .failure(is DeadlineExceeded):
            throw ProviderIssue(
                .timeout, "\(provider): no WebSocket handshake from \(displayURL) within \(options.handshakeTimeout)")
        case .failure(let error as WebSocketClientError) where error == .webSocketUpgradeFailed:
            throw refusal(probedStatus)
        case .failure(let error):
            if state.upgraded {
                sink.report(ProviderIssue(.disconnected, "\(provider): connection to \(displayURL) lost: \(error)"))
                return
            }
            throw ProviderIssue(.unreachable, "\(provider): cannot connect to \(displayURL): \(error)")
        }
    }

    /// Connects and runs the session; bounded by the handshake timeout until the upgrade.
    func connect<Session: StreamingSession>(
        _ session: Session, sink: ProviderSink, group: MultiThreadedEventLoopGroup, state: AttemptState
    ) async throws -> WebSocketCloseFrame? {
        let configuration = WebSocketClientConfiguration(
            maxFrameSize: options.maxMessageSize,
            closeTimeout: options.closeTimeout,
            autoPing: .enabled(timePeriod: options.pingInterval)
        )
        sink.logger.info("\(provider): connecting to \(displayURL)")
        let options = self.options
        let provider = self.provider
        return try await withDeadline(options.handshakeTimeout, group: group) { deadline in
            try await WebSocketClient.connect(
                url: url, configuration: configuration, eventLoopGroup: group, logger: sink.logger
            ) { inbound, outbound, _ in
                guard deadline.disarm() else { return }
                state.markUpgraded()
                let pump = FramePump(provider: provider, options: options, sink: sink, state: state)
                let end = try await pump.run(session, inbound: inbound, outbound: outbound)
                state.setEnd(end)
                switch end {
                case .closedByServer:
                    return
                case .reconnect, .setupTimedOut:
                    try? await outbound.close(.normalClosure, reason: nil)
                case .fatal(let issue):
                    try? await outbound.close(.normalClosure, reason: nil)
                    throw issue
                }
            }
        }
    }
}

/// What one attempt learned, shared between the WebSocket handler and `run`.
final class AttemptState: Sendable {
    private struct Values {
        var upgraded = false
        var subscribed = false
        var end: FramePump.End?
    }

    private let values = Mutex(Values())

    var upgraded: Bool { values.withLock { $0.upgraded } }
    var subscribed: Bool { values.withLock { $0.subscribed } }
    var end: FramePump.End? { values.withLock { $0.end } }

    func markUpgraded() { values.withLock { $0.upgraded = true } }
    func setEnd(_ end: FramePump.End) { values.withLock { $0.end = end } }

    /// Records the subscription; true the first time only.
    func markSubscribed() -> Bool {
        values.withLock { values in
            defer { values.subscribed = true }
            return !values.subscribed
        }
    }
}

/// Reads frames, feeds the session and performs its reactions, while a timer checks that the
/// subscription is confirmed in time.
struct FramePump: Sendable {
    enum End: Sendable, Equatable {
        case closedByServer
        case reconnect
        case setupTimedOut
        case fatal(ProviderIssue)
    }

    let provider: String
    let options: StreamingOptions
    let sink: ProviderSink
    let state: AttemptState

    func run<Session: StreamingSession>(
        _ session: Session, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter
    ) async throws -> End {
        try await withThrowingTaskGroup(of: End?.self, returning: End.self) { tasks in
            tasks.addTask {
                try await readFrames(session, inbound: inbound, outbound: outbound)
            }
            tasks.addTask {
                try? await Task.sleep(for: options.setupTimeout)
                if Task.isCancelled || state.subscribed { return nil }
                return .setupTimedOut
            }
            defer { tasks.cancelAll() }
            while let result = try await tasks.next() {
                guard let end = result else { continue }
                if end == .setupTimedOut {
                    sink.report(
                        ProviderIssue(
                            .timeout, "\(provider): subscription not confirmed within \(options.setupTimeout) of connecting"))
                }
                return end
            }
            return .closedByServer
        }
    }

    func readFrames<Session: StreamingSession>(
        _ session: Session, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter
    ) async throws -> End {
        var session = session
        if let end = try await perform(session.opened(), outbound: outbound) { return end }
        var messages = inbound.messages(maxSize: options.maxMessageSize).makeAsyncIterator()
        while let message = try await messages.next() {
            sink.count("frames")
            switch message {
            case .text(let text):
                if let end = try await perform(session.received(text), outbound: outbound) { return end }
            case .binary(let buffer):
                sink.report(
                    ProviderIssue(
                        .malformedPayload, "\(provider): unexpected binary frame of \(buffer.readableBytes) bytes"))
            }
        }
        return .closedByServer
    }

    /// Publishes, reports and sends what the session asked for; returns how the session ends.
    func perform(_ reaction: StreamingReaction, outbound: WebSocketOutboundWriter) async throws -> End? {
        for event in reaction.events { sink.emit(event) }
        if !reaction.events.isEmpty { sink.count("events", UInt64(reaction.events.count)) }
        for issue in reaction.issues { sink.report(issue) }
        if reaction.subscribed && state.markSubscribed() { sink.connected() }
        for message in reaction.outgoing { try await outbound.write(.text(message)) }
        switch reaction.end {
        case .none: return nil
        case .reconnect: return .reconnect
        case .fatal(let issue): return .fatal(issue)
        }
    }
}

/// The deadline of a step that NIO cannot cancel passed.
struct DeadlineExceeded: Error {}

/// A deadline that ends (or is disarmed) once.
final class Deadline: Sendable {
    private enum State {
        case armed
        case disarmed
        case expired(cancelled: Bool)
    }

    private let state = Mutex(State.armed)

    /// Stops the deadline; false if it already expired.
    func disarm() -> Bool {
        state.withLock { state in
            guard case .armed = state else {
                if case .disarmed = state { return true }
                return false
            }
            state = .disarmed
            return true
        }
    }

    /// Expires the deadline; false if it was disarmed first.
    fileprivate func expire(cancelled: Bool) -> Bool {
        state.withLock { state in
            guard case .armed = state else { return false }
            state = .expired(cancelled: cancelled)
            return true
        }
    }

    /// Whether it expired, and whether because the task was cancelled.
    fileprivate var expiry: (expired: Bool, cancelled: Bool) {
        state.withLock { state in
            if case .expired(let cancelled) = state { return (true, cancelled) }
            return (false, false)
        }
    }
}

/// Runs `body` against `group`; if `body` has not disarmed the deadline (or returned) within
/// `timeout`, or the task is cancelled first, shuts `group` down — closing its channels and
/// failing whatever NIO future `body` waits on — and throws ``DeadlineExceeded`` (or
/// `CancellationError`).
func withDeadline<T: Sendable>(
    _ timeout: Duration, group: MultiThreadedEventLoopGroup,
    _ body: @Sendable (Deadline) async throws -> T
) async throws -> T {
    let deadline = Deadline()
    return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { tasks in
        tasks.addTask {
            try? await Task.sleep(for: timeout)
            if deadline.expire(cancelled: Task.isCancelled) {
                try? await group.shutdownGracefully()
            }
        }
        defer { tasks.cancelAll() }
        do {
            let value = try await body(deadline)
            if deadline.disarm() { return value }
            throw deadline.expiry.cancelled ? CancellationError() : DeadlineExceeded()
        } catch let error as DeadlineExceeded {
            throw error
        } catch {
            let expiry = deadline.expiry
            _ = deadline.disarm()
            if expiry.expired { throw expiry.cancelled ? CancellationError() : DeadlineExceeded() }
            throw error
        }
    }
}
