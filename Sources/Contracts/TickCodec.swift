import SwiftProtobuf

/// A fast path for the bus's hottest messages: envelopes carrying a `Trade` or a `Quote`.
///
/// It writes and reads exactly the protobuf wire format SwiftProtobuf does for these types
/// (fields in number order, proto3 defaults omitted, doubles by bit pattern), without the
/// generic visitor machinery, which costs more than the bytes themselves. Anything else (other
/// payloads, unknown fields, repeated message fields, invalid UTF-8, malformed bytes) returns
/// `nil`, and ``Codec`` falls back to SwiftProtobuf, so behaviour never differs; the tests
/// check byte-for-byte equality with SwiftProtobuf.
enum TickCodec {
    /// The envelope's fields other than the payload.
    struct Header: Equatable {
        var schemaVersion: UInt32 = 0
        var producer = Producer()
        var hasProducer = false
        var sequence: UInt64 = 0
        var eventTimeNs: Int64 = 0
        var publishTimeNs: Int64 = 0

        init(
            schemaVersion: UInt32, producer: Producer, hasProducer: Bool, sequence: UInt64, eventTimeNs: Int64,
            publishTimeNs: Int64
        ) {
            self.schemaVersion = schemaVersion
            self.producer = producer
            self.hasProducer = hasProducer
            self.sequence = sequence
            self.eventTimeNs = eventTimeNs
            self.publishTimeNs = publishTimeNs
        }

        init(envelope: Envelope) {
            self.init(
                schemaVersion: envelope.schemaVersion, producer: envelope.producer, hasProducer: envelope.hasProducer,
                sequence: envelope.sequence, eventTimeNs: envelope.eventTimeNs, publishTimeNs: envelope.publishTimeNs)
        }

        init() {}
    }

    // MARK: Encoding

    /// `producerBytes`, when given, is the producer already encoded (``encoded(_:)``): a
    /// publisher's producer never changes, so it is encoded once, not per message.
    static func encode(_ envelope: Header, payload: Envelope.OneOf_Payload?, producerBytes: [UInt8]? = nil) -> [UInt8]? {
        guard envelope.producer.unknownFields.data.isEmpty else { return nil }
        let payloadField: Int
        let payloadSize: Int
        switch payload {
        case .trade(let trade):
            guard trade.unknownFields.data.isEmpty else { return nil }
            payloadField = 10
            payloadSize = size(of: trade)
        case .quote(let quote):
            guard quote.unknownFields.data.isEmpty else { return nil }
            payloadField = 11
            payloadSize = size(of: quote)
        default:
            return nil
        }
        let producer = envelope.producer
        let producerSize = envelope.hasProducer ? (producerBytes?.count ?? size(of: producer)) : 0
        var total = 0
        if envelope.schemaVersion != 0 { total += 1 + varintSize(UInt64(envelope.schemaVersion)) }
        if envelope.hasProducer { total += 1 + varintSize(UInt64(producerSize)) + producerSize }
        if envelope.sequence != 0 { total += 1 + varintSize(envelope.sequence) }
        if envelope.eventTimeNs != 0 { total += 1 + varintSize(UInt64(bitPattern: envelope.eventTimeNs)) }
        if envelope.publishTimeNs != 0 { total += 1 + varintSize(UInt64(bitPattern: envelope.publishTimeNs)) }
        total += 1 + varintSize(UInt64(payloadSize)) + payloadSize

        var writer = Writer(capacity: total)
        if envelope.schemaVersion != 0 { writer.varintField(1, UInt64(envelope.schemaVersion)) }
        if envelope.hasProducer {
            writer.tag(2, .lengthDelimited)
            writer.varint(UInt64(producerSize))
            if let producerBytes {
                writer.bytes.append(contentsOf: producerBytes)
            } else {
                write(producer, to: &writer)
            }
        }
        if envelope.sequence != 0 { writer.varintField(3, envelope.sequence) }
        if envelope.eventTimeNs != 0 { writer.varintField(4, UInt64(bitPattern: envelope.eventTimeNs)) }
        if envelope.publishTimeNs != 0 { writer.varintField(5, UInt64(bitPattern: envelope.publishTimeNs)) }
        writer.tag(payloadField, .lengthDelimited)
        writer.varint(UInt64(payloadSize))
        switch payload {
        case .trade(let trade): write(trade, to: &writer)
        case .quote(let quote): write(quote, to: &writer)
        default: break
        }
        return writer.bytes
    }

    /// A producer's fields as they appear inside the envelope, or nil when it carries
    /// unknown fields (then only SwiftProtobuf can encode it).
    static func encoded(_ producer: Producer) -> [UInt8]? {
        guard producer.unknownFields.data.isEmpty else { return nil }
        var writer = Writer(capacity: size(of: producer))
        write(producer, to: &writer)
        return writer.bytes
    }

    static func size(of producer: Producer) -> Int {
        stringSize(producer.service) + stringSize(producer.instance)
            + (producer.startedAtNs != 0 ? 1 + varintSize(UInt64(bitPattern: producer.startedAtNs)) : 0)
    }

    static func write(_ producer: Producer, to writer: inout Writer) {
        writer.stringField(1, producer.service)
        writer.stringField(2, producer.instance)
        if producer.startedAtNs != 0 { writer.varintField(3, UInt64(bitPattern: producer.startedAtNs)) }
    }

    static func size(of trade: Trade) -> Int {
        var size = stringSize(trade.symbol) + doubleSize(trade.price) + doubleSize(trade.size)
        size += stringSize(trade.exchange) + stringSize(trade.tradeID)
        for condition in trade.conditions { size += 1 + varintSize(UInt64(condition.utf8.count)) + condition.utf8.count }
        return size + stringSize(trade.provider)
    }

    static func write(_ trade: Trade, to writer: inout Writer) {
        writer.stringField(1, trade.symbol)
        writer.doubleField(2, trade.price)
        writer.doubleField(3, trade.size)
        writer.stringField(4, trade.exchange)
        writer.stringField(5, trade.tradeID)
        for condition in trade.conditions { writer.stringField(6, condition, always: true) }
        writer.stringField(7, trade.provider)
    }

    static func size(of quote: Quote) -> Int {
        stringSize(quote.symbol) + doubleSize(quote.bidPrice) + doubleSize(quote.bidSize) + doubleSize(quote.askPrice)
            + doubleSize(quote.askSize) + stringSize(quote.bidExchange) + stringSize(quote.askExchange)
            + stringSize(quote.provider)
    }

    static func write(_ quote: Quote, to writer: inout Writer) {
        writer.stringField(1, quote.symbol)
        writer.doubleField(2, quote.bidPrice)
        writer.doubleField(3, quote.bidSize)
        writer.doubleField(4, quote.askPrice)
        writer.doubleField(5, quote.askSize)
        writer.stringField(6, quote.bidExchange)
        writer.stringField(7, quote.askExchange)
        writer.stringField(8, quote.provider)
    }

    static func varintSize(_ value: UInt64) -> Int {
        (64 - (value | 1).leadingZeroBitCount + 6) / 7
    }

    static func stringSize(_ text: String) -> Int {
        let count = text.utf8.count
        return count == 0 ? 0 : 1 + varintSize(UInt64(count)) + count
    }

    static func doubleSize(_ value: Double) -> Int { value.bitPattern == 0 ? 0 : 9 }

    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    struct Writer {
        var bytes: [UInt8] = []

        init(capacity: Int) { bytes.reserveCapacity(capacity) }

        mutating func tag(_ field: Int, _ type: WireType) {
            varint(UInt64(field << 3) | UInt64(type.rawValue))
        }

        mutating func varint(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
                value >>= 7
            }
            bytes.append(UInt8(value))
        }

        mutating func varintField(_ field: Int, _ value: UInt64) {
            tag(field, .varint)
            varint(value)
        }

        mutating func stringField(_ field: Int, _ text: String, always: Bool = false) {
            var text = text
            let count = text.utf8.count
            guard count > 0 || always else { return }
            tag(field, .lengthDelimited)
            varint(UInt64(count))
            text.withUTF8 { bytes.append(contentsOf: $0) }
        }

        mutating func doubleField(_ field: Int, _ value: Double) {
            guard value.bitPattern != 0 else { return }
            tag(field, .fixed64)
            var bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { bytes.append(contentsOf: $0) }
        }
    }

    // MARK: Decoding

    static func decode(_ bytes: [UInt8]) -> (Header, Envelope.OneOf_Payload?)? {
        var cache = DecodeCache()
        return decode(bytes, cache: &cache)
    }

    /// Decodes, reusing the last producer from `cache` when its bytes repeat.
    static func decode(_ bytes: [UInt8], cache: inout DecodeCache) -> (Header, Envelope.OneOf_Payload?)? {
        bytes.withUnsafeBytes { buffer -> (Header, Envelope.OneOf_Payload?)? in
            var reader = Reader(buffer)
            var envelope = Header()
            var payload: Envelope.OneOf_Payload?
            var sawProducer = false
            var sawPayload = false
            while !reader.isAtEnd {
                guard let (field, type) = reader.tag() else { return nil }
                switch (field, type) {
                case (1, .varint):
                    guard let value = reader.varint(), value <= UInt64(UInt32.max) else { return nil }
                    envelope.schemaVersion = UInt32(value)
                case (2, .lengthDelimited):
                    guard !sawProducer, var inner = reader.nested() else { return nil }
                    let raw = UnsafeRawBufferPointer(rebasing: buffer[inner.index..<inner.end])
                    let producer: Producer
                    if let known = cache.producer, raw.elementsEqual(cache.producerBytes) {
                        producer = known
                    } else {
                        guard let decoded = decodeProducer(&inner) else { return nil }
                        producer = decoded
                        cache.producer = decoded
                        cache.producerBytes = Array(raw)
                    }
                    envelope.producer = producer
                    envelope.hasProducer = true
                    sawProducer = true
                case (3, .varint):
                    guard let value = reader.varint() else { return nil }
                    envelope.sequence = value
                case (4, .varint):
                    guard let value = reader.varint() else { return nil }
                    envelope.eventTimeNs = Int64(bitPattern: value)
                case (5, .varint):
                    guard let value = reader.varint() else { return nil }
                    envelope.publishTimeNs = Int64(bitPattern: value)
                case (10, .lengthDelimited):
                    guard !sawPayload, var inner = reader.nested(), let trade = decodeTrade(&inner) else { return nil }
                    payload = .trade(trade)
                    sawPayload = true
                case (11, .lengthDelimited):
                    guard !sawPayload, var inner = reader.nested(), let quote = decodeQuote(&inner) else { return nil }
                    payload = .quote(quote)
                    sawPayload = true
                default:
                    return nil
                }
            }
            return (envelope, payload)
        }
    }

    static func decodeProducer(_ reader: inout Reader) -> Producer? {
        var producer = Producer()
        while !reader.isAtEnd {
            guard let (field, type) = reader.tag() else { return nil }
            switch (field, type) {
            case (1, .lengthDelimited): guard let text = reader.string() else { return nil }; producer.service = text
            case (2, .lengthDelimited): guard let text = reader.string() else { return nil }; producer.instance = text
            case (3, .varint): guard let value = reader.varint() else { return nil }; producer.startedAtNs = Int64(bitPattern: value)
            default: return nil
            }
        }
        return producer
    }

    static func decodeTrade(_ reader: inout Reader) -> Trade? {
        var trade = Trade()
        while !reader.isAtEnd {
            guard let (field, type) = reader.tag() else { return nil }
            switch (field, type) {
            case (1, .lengthDelimited): guard let text = reader.string() else { return nil }; trade.symbol = text
            case (2, .fixed64): guard let value = reader.double() else { return nil }; trade.price = value
            case (3, .fixed64): guard let value = reader.double() else { return nil }; trade.size = value
            case (4, .lengthDelimited): guard let text = reader.string() else { return nil }; trade.exchange = text
            case (5, .lengthDelimited): guard let text = reader.string() else { return nil }; trade.tradeID = text
            case (6, .lengthDelimited): guard let text = reader.string() else { return nil }; trade.conditions.append(text)
            case (7, .lengthDelimited): guard let text = reader.string() else { return nil }; trade.provider = text
            default: return nil
            }
        }
        return trade
    }

    static func decodeQuote(_ reader: inout Reader) -> Quote? {
        var quote = Quote()
        while !reader.isAtEnd {
            guard let (field, type) = reader.tag() else { return nil }
            switch (field, type) {
            case (1, .lengthDelimited): guard let text = reader.string() else { return nil }; quote.symbol = text
            case (2, .fixed64): guard let value = reader.double() else { return nil }; quote.bidPrice = value
            case (3, .fixed64): guard let value = reader.double() else { return nil }; quote.bidSize = value
            case (4, .fixed64): guard let value = reader.double() else { return nil }; quote.askPrice = value
            case (5, .fixed64): guard let value = reader.double() else { return nil }; quote.askSize = value
            case (6, .lengthDelimited): guard let text = reader.string() else { return nil }; quote.bidExchange = text
            case (7, .lengthDelimited): guard let text = reader.string() else { return nil }; quote.askExchange = text
            case (8, .lengthDelimited): guard let text = reader.string() else { return nil }; quote.provider = text
            default: return nil
            }
        }
        return quote
    }

    /// Reads protobuf wire format from a buffer; every read returns `nil` on malformed input.
    struct Reader {
        let buffer: UnsafeRawBufferPointer
        var index: Int
        let end: Int

        init(_ buffer: UnsafeRawBufferPointer) {
            self.buffer = buffer
            index = 0
            end = buffer.count
        }

        init(_ buffer: UnsafeRawBufferPointer, from start: Int, to end: Int) {
            self.buffer = buffer
            index = start
            self.end = end
        }

        var isAtEnd: Bool { index >= end }

        mutating func varint() -> UInt64? {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while index < end, shift < 64 {
                let byte = buffer[index]
                index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
            return nil
        }

        mutating func tag() -> (Int, WireType)? {
            guard let key = varint(), key >> 3 > 0, key >> 3 < 1 << 29,
                let type = WireType(rawValue: UInt8(key & 7))
            else { return nil }
            return (Int(key >> 3), type)
        }

        mutating func double() -> Double? {
            guard end - index >= 8 else { return nil }
            var bits: UInt64 = 0
            for offset in 0..<8 { bits |= UInt64(buffer[index + offset]) << (8 * UInt64(offset)) }
            index += 8
            return Double(bitPattern: bits)
        }

        /// The next length-delimited field's range as a reader of its own.
        mutating func nested() -> Reader? {
            guard let length = varint(), length <= UInt64(end - index) else { return nil }
            let start = index
            index += Int(length)
            return Reader(buffer, from: start, to: index)
        }

        /// The next length-delimited field's bytes, as a range of `buffer`.
        mutating func bytesRange() -> Range<Int>? {
            guard let inner = nested() else { return nil }
            return inner.index..<inner.end
        }

        /// Skips one field's value of wire type `type`; `false` when the bytes end first.
        mutating func skip(_ type: WireType) -> Bool {
            switch type {
            case .varint: return varint() != nil
            case .fixed64:
                guard end - index >= 8 else { return false }
                index += 8
                return true
            case .lengthDelimited: return nested() != nil
            case .fixed32:
                guard end - index >= 4 else { return false }
                index += 4
                return true
            }
        }

        mutating func string() -> String? {
            guard let inner = nested() else { return nil }
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[inner.index..<inner.end])
            // Symbols, ids and names are ASCII: copy those without the generic validator.
            var ascii = true
            for byte in bytes where byte >= 0x80 {
                ascii = false
                break
            }
            guard ascii else { return String(validating: bytes, as: UTF8.self) }
            return String(unsafeUninitializedCapacity: bytes.count) { target in
                _ = target.initialize(fromContentsOf: bytes)
                return bytes.count
            }
        }
    }
}
