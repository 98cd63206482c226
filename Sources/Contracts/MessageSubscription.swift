import Bus
import Synchronization

/// Something a subscriber noticed and skipped or counted; handed to ``MessageSubscription``'s
/// `onIssue` callback so that services can log it and raise alerts.
public enum SubscriptionIssue: Sendable, Equatable {
    /// A message was dropped: undecodable, or refused by the ``EnvelopeValidator``.
    case rejected(Rejection)
    /// `missing` messages of `stream` never arrived.
    case gap(stream: StreamID, missing: UInt64)
    /// A sequence number arrived again or out of order.
    case duplicate(stream: StreamID, sequence: UInt64)
}

/// Subscribes to topic patterns and yields decoded, validated ``Delivery`` values.
///
/// Every message is decoded and checked by an ``EnvelopeValidator`` before it is yielded, so
/// service logic only ever sees messages within ``EnvelopeLimits``. Undecodable and refused
/// messages are counted by reason and reported through `onIssue`, never thrown: one bad
/// publisher cannot stop a subscriber. Sequence gaps and duplicates per (producer, topic)
/// are counted the same way; refused messages do not count towards sequences.
public final class MessageSubscription: AsyncSequence, Sendable {
    public typealias Element = Delivery
    public typealias Failure = ZeroMQError

    /// Counters since start.
    public struct Statistics: Sendable, Equatable {
        /// Messages decoded and delivered.
        public var delivered: UInt64 = 0
        /// Messages refused, by ``RejectReason`` raw value (`frames`, `time_range`, ...).
        public var rejected: [String: UInt64] = [:]
        public var sequence = SequenceTracker<StreamID>.Totals()

        public var rejectedTotal: UInt64 { rejected.values.reduce(0, +) }
    }

    private struct State {
        var tracker = SequenceTracker<StreamID>()
        var statistics = Statistics()
    }

    private final class Core: Sendable {
        let state = Mutex(State())
    }

    private let core = Core()
    private let subscription: Subscription
    private let onIssue: @Sendable (SubscriptionIssue) -> Void
    private let onDelivery: @Sendable (Delivery, Int64) -> Void
    private let clock: @Sendable () -> Int64
    /// The bounds every message is checked against.
    public let limits: EnvelopeLimits
    public let patterns: [TopicPattern]

    /// Connects to `endpoint` (normally the proxy's XPUB side) and subscribes to `patterns`.
    /// Messages are checked against `limits`, times against `clock` (the receiver's; UTC
    /// nanoseconds). `onDelivery` is told each accepted message with the receive time it was
    /// checked at (for latency metrics).
    public init(
        context: Context,
        endpoint: String,
        patterns: [TopicPattern],
        configuration: Subscription.Configuration = .init(),
        limits: EnvelopeLimits = .init(),
        clock: @escaping @Sendable () -> Int64 = WallClock.nanoseconds,
        onIssue: @escaping @Sendable (SubscriptionIssue) -> Void = { _ in },
        onDelivery: @escaping @Sendable (Delivery, Int64) -> Void = { _, _ in }
    ) async throws(ZeroMQError) {
        self.patterns = patterns
        self.onIssue = onIssue
        self.onDelivery = onDelivery
        self.limits = limits
        self.clock = clock
        subscription = try await Subscription(
            context: context,
            endpoint: endpoint,
            prefixes: patterns.map(\.subscriptionPrefix),
            configuration: configuration
        )
    }

    /// Counters since start.
    public var statistics: Statistics {
        core.state.withLock { state in
            var statistics = state.statistics
            statistics.sequence = state.tracker.totals
            return statistics
        }
    }

    /// Adds a pattern while running.
    public func subscribe(_ pattern: TopicPattern) { subscription.subscribe(pattern.subscriptionPrefix) }

    /// Removes a pattern while running.
    public func unsubscribe(_ pattern: TopicPattern) { subscription.unsubscribe(pattern.subscriptionPrefix) }

    /// Stops and closes the socket; iteration ends after the buffered messages.
    public func close() async { await subscription.close() }

    public func makeAsyncIterator() -> Iterator { Iterator(parent: self, raw: subscription.makeAsyncIterator()) }

    /// Checks one raw message: decodes and validates it, counts it, tracks its sequence
    /// number. Returns `nil` for a message that was refused. `cache` and `validator` carry
    /// what repeats between messages.
    func accept(_ raw: RawMessage, cache: inout DecodeCache, validator: inout EnvelopeValidator) -> Delivery? {
        let delivery: Delivery
        do {
            delivery = try Codec.decode(raw, cache: &cache)
        } catch {
            reject(Rejection(error.reason, error.description))
            return nil
        }
        let now = clock()
        if let rejection = validator.check(delivery, now: now) {
            reject(Rejection(rejection.reason, "\(delivery.topic) from \(delivery.producer.displayName): \(rejection.detail)"))
            return nil
        }
        let stream = delivery.stream
        let sequence = delivery.sequence
        let outcome = core.state.withLock { state in
            state.statistics.delivered &+= 1
            return state.tracker.record(sequence, for: stream)
        }
        switch outcome {
        case .first, .inOrder: break
        case .gap(let missing): onIssue(.gap(stream: stream, missing: missing))
        case .duplicate: onIssue(.duplicate(stream: stream, sequence: sequence))
        }
        onDelivery(delivery, now)
        return delivery
    }

    private func reject(_ rejection: Rejection) {
        core.state.withLock { $0.statistics.rejected[rejection.reason.rawValue, default: 0] &+= 1 }
        onIssue(.rejected(rejection))
    }

    public struct Iterator: AsyncIteratorProtocol {
        let parent: MessageSubscription
        var raw: Subscription.Iterator
        var cache = DecodeCache()
        var validator: EnvelopeValidator

        init(parent: MessageSubscription, raw: Subscription.Iterator) {
            self.parent = parent
            self.raw = raw
            validator = EnvelopeValidator(limits: parent.limits)
        }

        public mutating func next() async throws(ZeroMQError) -> Delivery? {
            try await nextWithFrames()?.delivery
        }

        /// The next accepted delivery with the frames it was decoded from (the journal keeps
        /// those byte for byte).
        public mutating func nextWithFrames() async throws(ZeroMQError) -> (delivery: Delivery, frames: RawMessage)? {
            while let message = try await raw.next() {
                if let delivery = parent.accept(message, cache: &cache, validator: &validator) { return (delivery, message) }
            }
            return nil
        }
    }
}
