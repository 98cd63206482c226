import Bus
import Contracts
import SwiftProtobuf
import Testing
import TestSupport

/// SplitMix64, so the generated envelopes are the same on every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Trade and quote envelopes with awkward values: empty and non-ASCII strings, zero, -0.0,
/// NaN, infinities and subnormals, negative times, the largest sequence numbers.
struct EnvelopeSamples {
    var random = SplitMix(state: 2_024)

    mutating func string() -> String {
        let choices = ["", "AAPL", "BRK.B", "é", "日本", "🚀x", String(repeating: "long", count: 40), "a\u{0}b"]
        return choices[Int(random.next() % UInt64(choices.count))]
    }

    mutating func double() -> Double {
        switch random.next() % 8 {
        case 0: 0
        case 1: -0.0
        case 2: .infinity
        case 3: -.greatestFiniteMagnitude
        case 4: .leastNonzeroMagnitude
        case 5: Double(bitPattern: random.next())  // anything, NaNs included
        default: Double(random.next() % 100_000) / 100
        }
    }

    mutating func integer() -> Int64 {
        switch random.next() % 4 {
        case 0: 0
        case 1: .min
        case 2: -Int64(random.next() % 1_000)
        default: Int64(bitPattern: random.next())
        }
    }

    mutating func envelope() -> Envelope {
        var envelope = Envelope()
        envelope.schemaVersion = [0, 1, 2, UInt32.max][Int(random.next() % 4)]
        if random.next() % 4 != 0 {
            envelope.producer = Producer(service: string(), instance: string(), startedAt: integer())
        }
        envelope.sequence = [0, 1, 127, 128, UInt64.max, random.next()][Int(random.next() % 6)]
        envelope.eventTimeNs = integer()
        envelope.publishTimeNs = integer()
        if random.next() % 2 == 0 {
            var trade = Trade()
            trade.symbol = string()
            trade.price = double()
            trade.size = double()
            trade.exchange = string()
            trade.tradeID = string()
            trade.conditions = (0..<Int(random.next() % 4)).map { _ in string() }
            trade.provider = string()
            envelope.payload = .trade(trade)
        } else {
            var quote = Quote()
            quote.symbol = string()
            quote.bidPrice = double()
            quote.bidSize = double()
            quote.askPrice = double()
            quote.askSize = double()
            quote.bidExchange = string()
            quote.askExchange = string()
            quote.provider = string()
            envelope.payload = .quote(quote)
        }
        return envelope
    }
}

/// What a reader sees of an envelope: every field's value (not whether it was present), the
/// payload compared by its bytes so that NaN equals NaN.
struct Fields: Equatable, CustomStringConvertible {
    var schemaVersion: UInt32
    var producer: Producer
    var sequence: UInt64
    var eventTimeNs: Int64
    var publishTimeNs: Int64
    var payload: [UInt8]

    init(_ envelope: Envelope) throws {
        schemaVersion = envelope.schemaVersion
        producer = envelope.producer
        sequence = envelope.sequence
        eventTimeNs = envelope.eventTimeNs
        publishTimeNs = envelope.publishTimeNs
        var bare = Envelope()
        bare.payload = envelope.payload
        payload = try bare.serializedBytes()
    }

    var description: String {
        "v\(schemaVersion) \(producer.displayName) #\(sequence) \(eventTimeNs)/\(publishTimeNs) payload \(payload)"
    }
}

/// Codec has a hand-written fast path for trade and quote envelopes; other languages read
/// the bus with stock protobuf, so its bytes must be exactly SwiftProtobuf's.
@Suite("Codec speaks exactly SwiftProtobuf's wire format")
struct WireCompatibilityTests {
    let topic = Array("tick.AAPL\0".utf8)

    @Test("encoding 2000 varied trade and quote envelopes gives SwiftProtobuf's bytes")
    func encodeMatchesSwiftProtobuf() throws {
        var samples = EnvelopeSamples()
        var mismatches: [String] = []
        for index in 0..<2_000 {
            let envelope = samples.envelope()
            let ours = try Codec.encode(envelope)
            let reference: [UInt8] = try envelope.serializedBytes()
            if ours != reference, mismatches.count < 5 {
                mismatches.append("#\(index): \(ours.count) vs \(reference.count) bytes for \(envelope)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    @Test("SwiftProtobuf's bytes decode to the same envelope, field for field")
    func decodeMatchesSwiftProtobuf() throws {
        var samples = EnvelopeSamples()
        var mismatches: [String] = []
        for index in 0..<2_000 {
            var envelope = samples.envelope()
            envelope.schemaVersion = Codec.schemaVersion  // decode accepts only version 1
            let bytes: [UInt8] = try envelope.serializedBytes()
            let delivery = try Codec.decode(RawMessage(topic: topic, payload: bytes))
            let reference = try Fields(Envelope(serializedBytes: bytes))
            let ours = try Fields(delivery.envelope)
            if ours != reference, mismatches.count < 5 { mismatches.append("#\(index): \(ours) vs \(reference)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    @Test("decode agrees with SwiftProtobuf on field order, repeats and unknown fields")
    func decodeEdgeCases() throws {
        var trade = Trade()
        trade.symbol = "AAPL"
        trade.price = 1.5
        var envelope = Envelope()
        envelope.schemaVersion = 1
        envelope.sequence = 9
        envelope.payload = .trade(trade)
        let canonical: [UInt8] = try envelope.serializedBytes()

        // [1: 1] [3: 9] [10: trade]; rebuilt as payload first, then the scalars.
        let payloadField = Array(canonical.drop { $0 != 0x52 })
        let scalars = Array(canonical.prefix(canonical.count - payloadField.count))
        let reordered = payloadField + scalars
        let cases: [(String, [UInt8])] = [
            ("reordered", reordered),
            ("sequence twice (last wins)", canonical + [0x18, 0x0B]),
            ("unknown varint field 111", canonical + [0xF8, 0x06, 0x01]),
            ("unknown field inside the trade", Array(canonical.dropLast(payloadField.count)) + {
                var inner = Array(payloadField.dropFirst(2))
                inner += [0xF8, 0x06, 0x07]
                return [0x52, UInt8(inner.count)] + inner
            }()),
            ("trade twice (merged)", canonical + [0x52, 0x02, 0x0A, 0x00]),
        ]
        for (name, bytes) in cases {
            let reference = try Envelope(serializedBytes: bytes)
            let ours = try Codec.decode(RawMessage(topic: topic, payload: bytes)).envelope
            #expect(try Fields(ours) == Fields(reference), "\(name)")
        }
        // Unknown fields are kept by Codec.encode (it falls back to SwiftProtobuf for them).
        let withUnknown = try Envelope(serializedBytes: canonical + [0xF8, 0x06, 0x01])
        #expect(try Codec.encode(withUnknown) == canonical + [0xF8, 0x06, 0x01])
    }

    @Test("Delivery.envelope rebuilds the envelope as it was sent")
    func deliveryEnvelopeFidelity() throws {
        var trade = Trade()
        trade.symbol = "AAPL"
        var withoutProducer = Envelope()
        withoutProducer.schemaVersion = 1
        withoutProducer.payload = .trade(trade)
        let bytes: [UInt8] = try withoutProducer.serializedBytes()
        let unknownField: [UInt8] = [0xF8, 0x06, 0x01]  // field 111, varint 1: from a newer schema
        let plain = try Codec.decode(RawMessage(topic: topic, payload: bytes)).envelope
        #expect(plain.hasProducer == false)
        #expect(try plain.serializedBytes() == bytes)
        let newer = try Codec.decode(RawMessage(topic: topic, payload: bytes + unknownField)).envelope
        #expect(try newer.serializedBytes() == bytes + unknownField)
    }

    @Test("malformed trade bytes are rejected exactly when SwiftProtobuf rejects them")
    func malformedAgreement() throws {
        var trade = Trade()
        trade.symbol = "AAPL"
        trade.price = 2
        var envelope = Envelope()
        envelope.schemaVersion = 1
        envelope.payload = .trade(trade)
        let good: [UInt8] = try envelope.serializedBytes()
        var samples = SplitMix(state: 7)
        var disagreements: [String] = []
        for _ in 0..<3_000 {
            var bytes = good
            // Flip, cut or extend at random.
            switch samples.next() % 3 {
            case 0: bytes[Int(samples.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: samples.next() | 1)
            case 1: bytes.removeLast(Int(samples.next() % UInt64(bytes.count)))
            default: bytes += (0..<Int(samples.next() % 6)).map { _ in UInt8(truncatingIfNeeded: samples.next()) }
            }
            let reference = try? Envelope(serializedBytes: bytes)
            let ours: Envelope?
            do {
                ours = try Codec.decode(RawMessage(topic: topic, payload: bytes)).envelope
            } catch {
                // Codec also rejects versions other than 1 and missing or mismatched payloads.
                if case .undecodable = error { ours = nil } else { continue }
            }
            let referenceFields = try reference.map(Fields.init)
            let ourFields = try ours.map(Fields.init)
            if referenceFields != ourFields, disagreements.count < 5 {
                disagreements.append(
                    "\(bytes): protobuf \(referenceFields.map(\.description) ?? "rejects"), codec \(ourFields.map(\.description) ?? "rejects")")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements)")
    }
}
