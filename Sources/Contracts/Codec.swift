import Bus
import SwiftProtobuf

/// The wire codec: one topic frame, then one protobuf `Envelope`.
public enum Codec {
    /// The schema version this build writes and the only one it reads.
    public static let schemaVersion: UInt32 = 1

    /// Encodes `envelope` as the payload frame.
    public static func encode(_ envelope: Envelope) throws(DecodeError) -> [UInt8] {
        if envelope.unknownFields.data.isEmpty,
            let bytes = TickCodec.encode(
                TickCodec.Header(envelope: envelope), payload: envelope.payload)
        {
            return bytes
        }
        do {
            return try envelope.serializedBytes()
        } catch {
            throw .undecodable("cannot encode: \(error)")
        }
    }

    /// Encodes an envelope given as its parts (what publishers do for every message).
    /// `encodedProducer` (from ``encodedProducer(_:)``) spares re-encoding the same producer.
    public static func encode(
        producer: Producer, sequence: UInt64, eventTimeNs: Int64, publishTimeNs: Int64,
        payload: Envelope.OneOf_Payload, encodedProducer: EncodedProducer? = nil
    ) throws(DecodeError) -> [UInt8] {
        let header = TickCodec.Header(
            schemaVersion: schemaVersion, producer: producer, hasProducer: true, sequence: sequence,
            eventTimeNs: eventTimeNs, publishTimeNs: publishTimeNs)
        if let bytes = TickCodec.encode(header, payload: payload, producerBytes: encodedProducer?.bytes) { return bytes }
        var envelope = Envelope()
        envelope.schemaVersion = schemaVersion
        envelope.producer = producer
        envelope.sequence = sequence
        envelope.eventTimeNs = eventTimeNs
        envelope.publishTimeNs = publishTimeNs
        envelope.payload = payload
        do {
            return try envelope.serializedBytes()
        } catch {
            throw .undecodable("cannot encode: \(error)")
        }
    }

    /// A publisher's producer, encoded once for every message it sends.
    public struct EncodedProducer: Sendable {
        let bytes: [UInt8]
    }

    /// Encodes `producer` for ``encode(producer:sequence:eventTimeNs:publishTimeNs:payload:encodedProducer:)``.
    public static func encodedProducer(_ producer: Producer) -> EncodedProducer? {
        TickCodec.encoded(producer).map(EncodedProducer.init)
    }

    /// Decodes a raw bus message, checking frames, topic, schema version and payload.
    public static func decode(_ raw: RawMessage) throws(DecodeError) -> Delivery {
        var cache = DecodeCache()
        return try decode(raw, cache: &cache)
    }

    /// ``decode(_:)`` with a ``DecodeCache``, for readers of many messages.
    public static func decode(_ raw: RawMessage, cache: inout DecodeCache) throws(DecodeError) -> Delivery {
        guard raw.frameCount == 2 else { throw .wrongFrameCount(raw.frameCount) }
        let topic: Topic
        do {
            topic = try cache.topic(for: raw.topic)
        } catch {
            throw .badTopic(error)
        }
        let delivery: Delivery
        if let (header, payload) = TickCodec.decode(raw.payload, cache: &cache) {
            delivery = Delivery(topic: topic, header: header, payload: payload)
        } else {
            do {
                delivery = Delivery(topic: topic, envelope: try Envelope(serializedBytes: raw.payload))
            } catch {
                throw .undecodable("topic \(topic): \(raw.payload.count)-byte payload is not an Envelope (\(error))")
            }
        }
        guard delivery.schemaVersion == schemaVersion else {
            throw .unknownSchemaVersion(delivery.schemaVersion, topic: topic.description)
        }
        guard let payload = delivery.payload else { throw .missingPayload(topic: topic.description) }
        guard payload.topicKind == topic.kind else {
            throw .kindMismatch(topic: topic.description, payload: payload.name)
        }
        return delivery
    }
}

/// One decoded bus message: the envelope's header fields and its payload.
///
/// Held as plain fields rather than an `Envelope` (whose copy-on-write storage costs more
/// than decoding the bytes); ``envelope`` rebuilds the protobuf message as it was sent,
/// unknown fields from newer schemas included.
public struct Delivery: Sendable, Equatable {
    public var topic: Topic
    public var schemaVersion: UInt32
    /// Who sent it (empty fields when the sender set no producer; see ``hasProducer``).
    public var producer: Producer
    public var hasProducer: Bool
    public var sequence: UInt64
    /// Exchange/event time, UTC nanoseconds.
    public var eventTimeNs: Int64
    /// When the producer published it, UTC nanoseconds.
    public var publishTimeNs: Int64
    public var payload: Envelope.OneOf_Payload?
    /// Envelope fields this schema version does not know, kept for re-publishing.
    public var unknownFields: UnknownStorage

    public init(topic: Topic, envelope: Envelope) {
        self.topic = topic
        schemaVersion = envelope.schemaVersion
        producer = envelope.producer
        hasProducer = envelope.hasProducer
        unknownFields = envelope.unknownFields
        sequence = envelope.sequence
        eventTimeNs = envelope.eventTimeNs
        publishTimeNs = envelope.publishTimeNs
        payload = envelope.payload
    }

    init(topic: Topic, header: TickCodec.Header, payload: Envelope.OneOf_Payload?) {
        self.topic = topic
        schemaVersion = header.schemaVersion
        producer = header.producer
        hasProducer = header.hasProducer
        unknownFields = UnknownStorage()
        sequence = header.sequence
        eventTimeNs = header.eventTimeNs
        publishTimeNs = header.publishTimeNs
        self.payload = payload
    }

    /// The message as the protobuf `Envelope` it was sent as.
    public var envelope: Envelope {
        var envelope = Envelope()
        envelope.schemaVersion = schemaVersion
        if hasProducer { envelope.producer = producer }
        envelope.sequence = sequence
        envelope.eventTimeNs = eventTimeNs
        envelope.publishTimeNs = publishTimeNs
        envelope.payload = payload
        envelope.unknownFields = unknownFields
        return envelope
    }

    /// The stream the sequence number counts in: producer and topic.
    public var stream: StreamID {
        StreamID(service: producer.service, instance: producer.instance, startedAt: producer.startedAtNs, topic: topic)
    }
}

/// A (producer, topic) pair: the unit sequence numbers count in.
public struct StreamID: Hashable, Sendable {
    public var service: String
    public var instance: String
    /// Changes when the producer restarts, which starts a new stream.
    public var startedAt: Int64
    public var topic: Topic

    public init(service: String, instance: String, startedAt: Int64, topic: Topic) {
        self.service = service
        self.instance = instance
        self.startedAt = startedAt
        self.topic = topic
    }

    /// Hashes every field: the identity fields come from senders, and a hash that ignored
    /// some would let a flood of streams differing only there collide.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(service)
        hasher.combine(instance)
        hasher.combine(startedAt)
        hasher.combine(topic)
    }
}

/// Why a bus message was skipped.
public enum DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    case wrongFrameCount(Int)
    case badTopic(TopicError)
    case undecodable(String)
    case unknownSchemaVersion(UInt32, topic: String)
    case missingPayload(topic: String)
    case kindMismatch(topic: String, payload: String)

    public var description: String {
        switch self {
        case .wrongFrameCount(let count): "message has \(count) frame(s), expected 2 (topic, envelope)"
        case .badTopic(let error): "bad topic frame: \(error)"
        case .undecodable(let detail): "undecodable payload: \(detail)"
        case .unknownSchemaVersion(let version, let topic):
            "unknown schema version \(version) on \(topic) (this build reads \(Codec.schemaVersion))"
        case .missingPayload(let topic): "envelope on \(topic) carries no payload"
        case .kindMismatch(let topic, let payload): "topic \(topic) carries a \(payload) payload"
        }
    }

    /// The reason it is counted under (`rejected.frames`, `.topic`, `.undecodable`, `.version`).
    public var reason: RejectReason {
        switch self {
        case .wrongFrameCount: .frames
        case .badTopic: .topic
        case .undecodable, .missingPayload, .kindMismatch: .undecodable
        case .unknownSchemaVersion: .version
        }
    }
}

extension Envelope.OneOf_Payload {
    /// The topic kind this payload travels under.
    public var topicKind: String {
        switch self {
        case .trade, .quote: Topic.tickKind
        case .bar: Topic.barKind
        case .features: Topic.featuresKind
        case .signal: Topic.signalKind
        case .session: Topic.marketKind
        case .alert: Topic.alertKind
        case .status: Topic.statusKind
        case .timer: Topic.timerKind
        }
    }

    /// The payload's field name in the schema, e.g. `trade`.
    public var name: String {
        switch self {
        case .trade: "trade"
        case .quote: "quote"
        case .bar: "bar"
        case .features: "features"
        case .signal: "signal"
        case .session: "session"
        case .alert: "alert"
        case .status: "status"
        case .timer: "timer"
        }
    }
}

/// What a reader of many messages remembers between them: parsed topics by their wire bytes
/// (each topic is validated once, not per message) and the last producer decoded (a stream's
/// messages all carry the same one). Bounded: topics start over at `limit`.
public struct DecodeCache: Sendable {
    private var topics: [[UInt8]: Topic] = [:]
    private var last: Topic?
    var producerBytes: [UInt8] = []
    var producer: Producer?
    public let limit: Int

    public init(limit: Int = 4_096) { self.limit = limit }

    /// The topic for `wire`, parsed once.
    public mutating func topic(for wire: [UInt8]) throws(TopicError) -> Topic {
        if let last, last.wire == wire { return last }
        if let known = topics[wire] {
            last = known
            return known
        }
        let topic = try Topic(wire: wire)
        if topics.count >= limit { topics.removeAll(keepingCapacity: true) }
        topics[wire] = topic
        last = topic
        return topic
    }
}
