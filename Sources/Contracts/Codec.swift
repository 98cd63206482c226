import Bus
import SwiftProtobuf

/// The wire codec: one topic frame, then one protobuf `Envelope`.
public enum Codec {
    /// The schema version this build writes and the only one it reads.
    public static let schemaVersion: UInt32 = 1

    /// Encodes `envelope` as the payload frame.
    public static func encode(_ envelope: Envelope) throws(DecodeError) -> [UInt8] {
        do {
            return try envelope.serializedBytes()
        } catch {
            throw .undecodable("cannot encode: \(error)")
        }
    }

    /// Decodes a raw bus message, checking frames, topic, schema version and payload.
    public static func decode(_ raw: RawMessage) throws(DecodeError) -> Delivery {
        guard raw.frameCount == 2 else { throw .wrongFrameCount(raw.frameCount) }
        let topic: Topic
        do {
            topic = try Topic(wire: raw.topic)
        } catch {
            throw .badTopic(error)
        }
        let envelope: Envelope
        do {
            envelope = try Envelope(serializedBytes: raw.payload)
        } catch {
            throw .undecodable("topic \(topic): \(raw.payload.count)-byte payload is not an Envelope (\(error))")
        }
        guard envelope.schemaVersion == schemaVersion else {
            throw .unknownSchemaVersion(envelope.schemaVersion, topic: topic.description)
        }
        guard let payload = envelope.payload else { throw .missingPayload(topic: topic.description) }
        guard payload.topicKind == topic.kind else {
            throw .kindMismatch(topic: topic.description, payload: payload.name)
        }
        return Delivery(topic: topic, envelope: envelope)
    }
}

/// One decoded bus message.
public struct Delivery: Sendable, Equatable {
    public var topic: Topic
    public var envelope: Envelope

    public init(topic: Topic, envelope: Envelope) {
        self.topic = topic
        self.envelope = envelope
    }

    /// The stream the sequence number counts in: producer and topic.
    public var stream: StreamID {
        StreamID(
            service: envelope.producer.service,
            instance: envelope.producer.instance,
            startedAt: envelope.producer.startedAtNs,
            topic: topic
        )
    }
}

/// A (producer, topic) pair: the unit sequence numbers count in.
public struct StreamID: Hashable, Sendable {
    public var service: String
    public var instance: String
    /// Changes when the producer restarts, which starts a new stream.
    public var startedAt: Int64
    public var topic: Topic
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

    /// A short name for counters: `frames`, `topic`, `payload`, `version`.
    public var counterName: String {
        switch self {
        case .wrongFrameCount: "frames"
        case .badTopic: "topic"
        case .undecodable, .missingPayload, .kindMismatch: "payload"
        case .unknownSchemaVersion: "version"
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
        }
    }
}
