import Bus
import Contracts
import SwiftProtobuf
import TestSupport
import Testing

@Suite("PublishGate: bus-proxy's publish rights and producer check")
struct PublishGateTests {
    static let rights = ["ingestor": ["tick", "bar", "status", "alert"], "bus-tap": [String]()]

    func admit(
        _ gate: inout PublishGate, identity: String?, topic: String, payload: [UInt8]
    ) -> ProxyRefusal? {
        let topicBytes = Array(topic.utf8) + [0]
        return topicBytes.withUnsafeBytes { topicBuffer in
            payload.withUnsafeBytes { payloadBuffer in
                guard let identity else { return gate.admit(userID: nil, topic: topicBuffer, payload: payloadBuffer) }
                return identity.withCString { gate.admit(userID: $0, topic: topicBuffer, payload: payloadBuffer) }
            }
        }
    }

    func envelope(producer: String) throws -> [UInt8] {
        try Codec.encode(Fixtures.envelope(Fixtures.trade("AAPL"), sequence: 1, producer: Fixtures.producer(producer)))
    }

    @Test("an identity publishes its own kinds as itself; anything else is refused with its reason")
    func rightsAndProducer() throws {
        var gate = PublishGate(rights: Self.rights)
        let own = try envelope(producer: "ingestor")
        #expect(admit(&gate, identity: "ingestor", topic: "tick.AAPL", payload: own) == nil)
        #expect(admit(&gate, identity: "ingestor", topic: "signal.AAPL", payload: own) == .notPermitted)
        #expect(admit(&gate, identity: "ingestor", topic: "tick.AAPL", payload: try envelope(producer: "processor")) == .producerMismatch)
        #expect(admit(&gate, identity: "bus-tap", topic: "tick.AAPL", payload: try envelope(producer: "bus-tap")) == .notPermitted)
        #expect(admit(&gate, identity: "stranger", topic: "tick.AAPL", payload: own) == .notPermitted)
        #expect(admit(&gate, identity: nil, topic: "tick.AAPL", payload: own) == .unauthenticated)
        #expect(admit(&gate, identity: "", topic: "tick.AAPL", payload: own) == .unauthenticated)
        #expect(admit(&gate, identity: "ingestor", topic: "tickAAPL", payload: own) == .malformed)
        #expect(admit(&gate, identity: "ingestor", topic: "tick.AAPL", payload: [0xFF, 0xFF]) == .malformed)
        // The cached identity is looked up again when it changes, and back.
        #expect(admit(&gate, identity: "ingestor", topic: "tick.AAPL", payload: own) == nil)
        // An identity that is a prefix of another is not the other.
        #expect(admit(&gate, identity: "ingest", topic: "tick.AAPL", payload: try envelope(producer: "ingest")) == .notPermitted)
    }

    @Test("a repeated producer field merges as subscribers decode it: the last service wins, both ways")
    func mergedProducers() throws {
        var gate = PublishGate(rights: Self.rights)
        // Envelope bytes: producer{service: first}, then the rest, then producer{service: second}.
        func twoProducers(_ first: String, _ second: String) throws -> [UInt8] {
            var head = Envelope()
            head.producer = Producer(service: first, instance: "i", startedAt: Fixtures.time)
            var tail = Envelope()
            tail.producer = Producer()
            tail.producer.service = second
            var body = Fixtures.envelope(Fixtures.trade("AAPL"), sequence: 1)
            body.clearProducer()
            let bytes: [UInt8] = try head.serializedBytes() + (try body.serializedBytes()) + (try tail.serializedBytes())
            return bytes
        }
        let forged = try twoProducers("ingestor", "processor")
        let decoded = try Envelope(serializedBytes: forged)
        #expect(decoded.producer.service == "processor", "protobuf merges repeated message fields")
        #expect(admit(&gate, identity: "ingestor", topic: "tick.AAPL", payload: forged) == .producerMismatch)
        let honest = try twoProducers("processor", "ingestor")
        #expect(try Envelope(serializedBytes: honest).producer.service == "ingestor")
        #expect(admit(&gate, identity: "ingestor", topic: "tick.AAPL", payload: honest) == nil)
        // What the gate reads is what a subscriber decodes, for the fast path too.
        #expect(try Codec.decode(RawMessage(topic: try Topic.tick("AAPL").wire, payload: honest)).producer.service == "ingestor")
    }
}
