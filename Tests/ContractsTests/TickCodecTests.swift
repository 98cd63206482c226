import Bus
import SwiftProtobuf
import TestSupport
import Testing

@testable import Contracts

/// The fast tick codec must be indistinguishable from SwiftProtobuf.
@Suite("Tick fast-path codec")
struct TickCodecTests {
    /// A deterministic generator of awkward values.
    struct Values {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func text() -> String {
            let choices = ["", "AAPL", "BRK.B", "RDS-A", "börse", "日本", "a-very-long-identifier-beyond-fifteen-bytes", "X"]
            return choices[Int(next() % UInt64(choices.count))]
        }
        mutating func double() -> Double {
            let choices: [Double] = [0, -0.0, 231.47, -1.5, 1e-300, .greatestFiniteMagnitude, 100, 0.01]
            return choices[Int(next() % UInt64(choices.count))]
        }
        mutating func int64() -> Int64 {
            let choices: [Int64] = [0, 1, -1, .max, .min, 1_700_000_000_000_000_000]
            return choices[Int(next() % UInt64(choices.count))]
        }
    }

    func randomEnvelope(_ values: inout Values) -> Envelope {
        var envelope = Envelope()
        envelope.schemaVersion = UInt32(values.next() % 3)
        if values.next() % 5 != 0 {
            envelope.producer = Producer(service: values.text(), instance: values.text(), startedAt: values.int64())
        }
        envelope.sequence = values.next() % 4 == 0 ? 0 : values.next()
        envelope.eventTimeNs = values.int64()
        envelope.publishTimeNs = values.int64()
        if values.next() % 2 == 0 {
            var trade = Trade()
            trade.symbol = values.text()
            trade.price = values.double()
            trade.size = values.double()
            trade.exchange = values.text()
            trade.tradeID = values.text()
            trade.conditions = (0..<Int(values.next() % 3)).map { _ in values.text() }
            trade.provider = values.text()
            envelope.payload = .trade(trade)
        } else {
            var quote = Quote()
            quote.symbol = values.text()
            quote.bidPrice = values.double()
            quote.bidSize = values.double()
            quote.askPrice = values.double()
            quote.askSize = values.double()
            quote.bidExchange = values.text()
            quote.askExchange = values.text()
            quote.provider = values.text()
            envelope.payload = .quote(quote)
        }
        return envelope
    }

    @Test("encodes byte for byte as SwiftProtobuf does, and decodes to the same values")
    func equivalence() throws {
        var values = Values(state: 7)
        let topic = try Topic.tick("AAPL")
        for _ in 0..<2_000 {
            let envelope = randomEnvelope(&values)
            let reference: [UInt8] = try envelope.serializedBytes()
            let fast = try #require(TickCodec.encode(TickCodec.Header(envelope: envelope), payload: envelope.payload))
            #expect(fast == reference)
            let preEncoded = TickCodec.encode(
                TickCodec.Header(envelope: envelope), payload: envelope.payload,
                producerBytes: TickCodec.encoded(envelope.producer))
            #expect(preEncoded == reference, "with the producer encoded once")
            let (header, payload) = try #require(TickCodec.decode(reference))
            let decoded = Delivery(topic: topic, header: header, payload: payload)
            #expect(decoded == Delivery(topic: topic, envelope: try Envelope(serializedBytes: reference)))
            #expect(decoded == Delivery(topic: topic, envelope: envelope))
        }
    }

    @Test("a decode cache shared across messages never hands one message another's producer")
    func sharedCache() throws {
        var values = Values(state: 11)
        let topic = try Topic.tick("AAPL")
        var cache = DecodeCache()
        for _ in 0..<2_000 {
            let envelope = randomEnvelope(&values)
            let bytes: [UInt8] = try envelope.serializedBytes()
            let (header, payload) = try #require(TickCodec.decode(bytes, cache: &cache))
            #expect(Delivery(topic: topic, header: header, payload: payload) == Delivery(topic: topic, envelope: envelope))
        }
    }

    @Test("other payloads, unknown fields and malformed bytes are left to SwiftProtobuf")
    func fallbacks() throws {
        var status = Envelope()
        status.schemaVersion = 1
        status.payload = .status(ServiceStatus())
        #expect(TickCodec.encode(TickCodec.Header(envelope: status), payload: status.payload) == nil)
        #expect(TickCodec.decode(try status.serializedBytes()) == nil)

        var trade = Fixtures.envelope(.trade(Trade()), sequence: 1)
        var bytes: [UInt8] = try trade.serializedBytes()
        bytes += [0xA8, 0x06, 0x01]  // field 101, varint 1: unknown to this schema
        #expect(TickCodec.decode(bytes) == nil)
        let viaLibrary = try Envelope(serializedBytes: bytes)
        #expect(viaLibrary.sequence == 1)
        #expect(!viaLibrary.unknownFields.data.isEmpty)

        trade.sequence = 300
        let good: [UInt8] = try trade.serializedBytes()
        #expect(TickCodec.decode(Array(good.dropLast())) == nil)  // truncated
        #expect(throws: DecodeError.self) {
            try Codec.decode(RawMessage(topic: try Topic.tick("AAPL").wire, payload: Array(good.dropLast())))
        }
    }

    @Test("invalid UTF-8 in a string is rejected as SwiftProtobuf rejects it")
    func invalidUTF8() throws {
        var trade = Trade()
        trade.symbol = "AAPL"
        var bytes: [UInt8] = try Fixtures.envelope(.trade(trade), sequence: 1).serializedBytes()
        let index = try #require(bytes.firstIndex(of: UInt8(ascii: "A")))
        bytes[index] = 0xFF
        #expect(TickCodec.decode(bytes) == nil)
        #expect(throws: (any Error).self) { try Envelope(serializedBytes: bytes) }
        #expect(throws: DecodeError.self) {
            try Codec.decode(RawMessage(topic: try Topic.tick("AAPL").wire, payload: bytes))
        }
    }
}
