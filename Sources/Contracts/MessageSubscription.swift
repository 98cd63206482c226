import Bus
import Synchronization

/// Something a subscriber noticed and skipped or counted; handed to ``MessageSubscription``'s
/// `onIssue` callback so that services can log it and raise alerts.
public enum SubscriptionIssue: Sendable, Equatable {
    /// A message was skipped because it could not be decoded.
    case skipped(DecodeError)
    /// `missing` messages of `stream` never arrived.
    case gap(stream: StreamID, missing: UInt64)
    /// A sequence number arrived again or out of order.
    case duplicate(stream: StreamID, sequence: UInt64)
}

/// Subscribes to topic patterns and yields decoded ``Delivery`` values.
///
/// Undecodable frames and unknown schema versions are counted and reported through
/// `onIssue`, never thrown: one bad publisher cannot stop a subscriber. Sequence gaps and
/// duplicates per (producer, topic) are counted the same way.
public final class MessageSubscription: AsyncSequence, Sendable {
    public typealias Element = Delivery
    public typealias Failure = ZeroMQError

    /// Counters since start.
    public struct Statistics: Sendable, Equatable {
        /// Messages decoded and delivered.
        public var delivered: UInt64 = 0
        /// Messages skipped, by reason (`frames`, `topic`, `payload`, `version`).
        public var skipped: [String: UInt64] = [:]
        public var sequence = SequenceTracker<StreamID>.Totals()

        public var skippedTotal: UInt64 { skipped.values.reduce(0, +) }
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
    public let patterns: [TopicPattern]

    /// Connects to `endpoint` (normally the proxy's XPUB side) and subscribes to `patterns`.
    public init(
        context: Context,
        endpoint: String,
        patterns: [TopicPattern],
        configuration: Subscription.Configuration = .init(),
        onIssue: @escaping @Sendable (SubscriptionIssue) -> Void = { _ in }
    ) async throws(ZeroMQError) {
        self.patterns = patterns
        self.onIssue = onIssue
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

    /// Checks one raw message: decodes it, counts it, tracks its sequence number.
    /// Returns `nil` for a message that was skipped. `cache` carries what repeats between messages.
    func accept(_ raw: RawMessage, cache: inout DecodeCache) -> Delivery? {
        let delivery: Delivery
        do {
            delivery = try Codec.decode(raw, cache: &cache)
        } catch {
            core.state.withLock { $0.statistics.skipped[error.counterName, default: 0] += 1 }
            onIssue(.skipped(error))
            return nil
        }
        let stream = delivery.stream
        let sequence = delivery.sequence
        let outcome = core.state.withLock { state in
            state.statistics.delivered += 1
            return state.tracker.record(sequence, for: stream)
        }
        switch outcome {
        case .first, .inOrder: break
        case .gap(let missing): onIssue(.gap(stream: stream, missing: missing))
        case .duplicate: onIssue(.duplicate(stream: stream, sequence: sequence))
        }
        return delivery
    }

    public struct Iterator: AsyncIteratorProtocol {
        let parent: MessageSubscription
        var raw: Subscription.Iterator
        var cache = DecodeCache()

        init(parent: MessageSubscription, raw: Subscription.Iterator) {
            self.parent = parent
            self.raw = raw
        }

        public mutating func next() async throws(ZeroMQError) -> Delivery? {
            while let message = try await raw.next() {
                if let delivery = parent.accept(message, cache: &cache) { return delivery }
            }
            return nil
        }
    }
}
