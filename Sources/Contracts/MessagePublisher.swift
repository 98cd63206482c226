import Bus
import SwiftProtobuf

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Publishes Tickwire messages: wraps each payload in an `Envelope` stamped with the schema
/// version, this producer, the per-topic sequence number and both times.
public final class MessagePublisher: Sendable {
    public let producer: Producer
    private let encodedProducer: Codec.EncodedProducer?
    private let publisher: Publisher
    private let clock: @Sendable () -> Int64

    /// Connects a publisher to `endpoint` (normally the proxy's XSUB side).
    public init(
        context: Context,
        endpoint: String,
        producer: Producer,
        bind: Bool = false,
        options: SocketOptions = .init(),
        queueLimit: Int = 100_000,
        clock: @escaping @Sendable () -> Int64 = WallClock.nanoseconds
    ) async throws(ZeroMQError) {
        self.producer = producer
        encodedProducer = Codec.encodedProducer(producer)
        self.clock = clock
        publisher = try await Publisher(
            context: context, endpoint: endpoint, bind: bind, options: options, queueLimit: queueLimit)
    }

    /// The endpoint as connected or bound.
    public var endpoint: String { publisher.endpoint }

    /// Publishes `payload` on `topic`. `eventTime` is the exchange/event time in UTC
    /// nanoseconds (defaults to now). Never blocks; a full queue drops and counts.
    @discardableResult
    public func publish(
        _ payload: Envelope.OneOf_Payload,
        on topic: Topic,
        eventTime: Int64? = nil
    ) -> PublishResult {
        let producer = self.producer
        let encodedProducer = self.encodedProducer
        let now = clock()
        let result = publisher.publishReportingErrors(topic: topic.wire) { (sequence) throws(DecodeError) -> [UInt8] in
            try Codec.encode(
                producer: producer, sequence: sequence, eventTimeNs: eventTime ?? now, publishTimeNs: now,
                payload: payload, encodedProducer: encodedProducer)
        }
        switch result {
        case .success(let outcome): return outcome
        case .failure: return .dropped(sequence: 0)
        }
    }

    /// Counters of the underlying socket.
    public var statistics: Publisher.Statistics { publisher.statistics }

    /// Flushes, closes the socket and waits for its thread.
    public func close() async { await publisher.close() }
}

extension Publisher {
    /// `publish(topic:payload:)` with the encoding error returned, not thrown.
    fileprivate func publishReportingErrors<E: Error>(
        topic: [UInt8],
        encode: (UInt64) throws(E) -> [UInt8]
    ) -> Result<PublishResult, E> {
        Result { () throws(E) in try publish(topic: topic, payload: encode) }
    }
}

/// UTC wall-clock time in nanoseconds since the Unix epoch.
public enum WallClock {
    @Sendable public static func nanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}

extension Producer {
    /// A producer identity for this process: `service`, `instance`, started now.
    public init(service: String, instance: String, startedAt: Int64 = WallClock.nanoseconds()) {
        self.init()
        self.service = service
        self.instance = instance
        self.startedAtNs = startedAt
    }

    /// `service/instance`, as tools print it.
    public var displayName: String { instance.isEmpty ? service : "\(service)/\(instance)" }
}
