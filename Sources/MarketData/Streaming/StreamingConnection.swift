import Logging
import NIOCore
import NIOPosix
import NIOWebSocket
import ServiceKit
import Synchronization
import Timekeeping
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
        maxMessageSize: Int = TickwireConfig.Ingestor().maxMessageBytes
    ) {
        self.handshakeTimeout = handshakeTimeout
        self.setupTimeout = setupTimeout
        self.pingInterval = pingInterval
        self.closeTimeout = closeTimeout
        self.maxMessageSize = maxMessageSize
    }

    /// The handshake timeout is `ingestor.request_timeout_seconds`; the setup timeout twice
    /// that (auth and subscription take two round trips); pings every 10 s; the largest frame
    /// and message `ingestor.max_message_bytes` (at least 1 KiB).
    public init(config: TickwireConfig) {
        let seconds = config.ingestor.requestTimeoutSeconds
        let timeout: Duration = seconds.isFinite && seconds > 0 ? Nanoseconds.duration(seconds: seconds) : .seconds(10)
        self.init(
            handshakeTimeout: timeout, setupTimeout: timeout * 2,
            maxMessageSize: max(1_024, config.ingestor.maxMessageBytes))
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
        self.displayURL = displayURL ?? URLRedaction.redact(url)
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
        var frames = inbound.makeAsyncIterator()
        var assembler = MessageAssembler(maximumSize: options.maxMessageSize)
        while let frame = try await frames.next() {
            let kind: MessageAssembler.FrameKind =
                switch frame.opcode {
                case .text: .text
                case .binary: .binary
                case .continuation: .continuation
                }
            guard let message = assembler.add(kind, frame.data, fin: frame.fin) else { continue }
            sink.count("frames")
            switch message {
            case .text(let text):
                if let end = try await perform(session.received(text), outbound: outbound) { return end }
            case .binary(let bytes):
                sink.report(ProviderIssue(.malformedPayload, "\(provider): unexpected binary frame of \(bytes) bytes"))
            case .tooLarge(let bytes):
                sink.reject(.frameTooLarge)
                let limit = "ingestor.max_message_bytes is \(options.maxMessageSize)"
                sink.report(
                    ProviderIssue(.malformedPayload, "\(provider): dropped a message of \(bytes) bytes (\(limit))"))
            case .unexpectedContinuation:
                sink.reject(.malformed)
                sink.report(
                    ProviderIssue(.malformedPayload, "\(provider): a continuation frame with no message to continue"))
            }
        }
        return .closedByServer
    }

    /// Publishes, reports and sends what the session asked for; returns how the session ends.
    func perform(_ reaction: StreamingReaction, outbound: WebSocketOutboundWriter) async throws -> End? {
        for event in reaction.events { sink.emit(event) }
        if !reaction.events.isEmpty { sink.count("events", UInt64(reaction.events.count)) }
        for (reason, count) in reaction.rejected { sink.reject(reason, count: UInt64(max(0, count))) }
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

/// Joins WebSocket frames into messages of at most `maximumSize` bytes. A longer message is
/// not buffered: its frames are skipped as they arrive and it is reported once, so one huge
/// message costs no memory and the stream goes on. (A single frame above the limit is refused
/// earlier, by the frame decoder, which closes the connection.)
struct MessageAssembler {
    /// What a WebSocket data frame starts or continues.
    enum FrameKind: Equatable {
        case text, binary, continuation
    }

    enum Message: Equatable {
        case text(String)
        /// A binary message of this many bytes (no provider here sends binary).
        case binary(Int)
        /// A message dropped after this many bytes.
        case tooLarge(Int)
        /// A continuation frame arrived with no message started.
        case unexpectedContinuation
    }

    private enum State {
        case idle
        case collecting(text: Bool, bytes: ByteBuffer)
        case discarding(bytes: Int)
    }

    let maximumSize: Int
    private var state = State.idle

    init(maximumSize: Int) {
        self.maximumSize = maximumSize
    }

    /// Takes one frame; returns a message once its last frame is in.
    mutating func add(_ kind: FrameKind, _ data: ByteBuffer, fin: Bool) -> Message? {
        switch (state, kind) {
        case (.idle, .continuation):
            return .unexpectedContinuation
        case (.collecting, .text), (.collecting, .binary), (.discarding, .text), (.discarding, .binary),
            (.idle, .text), (.idle, .binary):
            // A new message (one that interrupts an unfinished one drops that one's frames).
            state = .collecting(text: kind == .text, bytes: ByteBuffer())
        case (.collecting, .continuation), (.discarding, .continuation):
            break
        }
        switch state {
        case .idle:
            return nil
        case .discarding(let bytes):
            let total = bytes + data.readableBytes
            state = fin ? .idle : .discarding(bytes: total)
            return fin ? .tooLarge(total) : nil
        case .collecting(let text, var bytes):
            let total = bytes.readableBytes + data.readableBytes
            guard total <= maximumSize else {
                state = fin ? .idle : .discarding(bytes: total)
                return fin ? .tooLarge(total) : nil
            }
            state = .idle  // drop the reference before appending, so `bytes` is not copied
            var data = data
            bytes.writeBuffer(&data)
            guard fin else {
                state = .collecting(text: text, bytes: bytes)
                return nil
            }
            return text ? .text(String(buffer: bytes)) : .binary(bytes.readableBytes)
        }
    }
}
