/// The protobuf wire format, just enough to take an encoded envelope apart, change one field
/// and put it back together: structure-aware mutation that reaches every field of every
/// payload, including values SwiftProtobuf's typed API cannot express (wrong wire types,
/// broken packed arrays, invalid UTF-8).
enum Wire {
    /// One field as encoded: its number, wire type and value bytes (a varint's bytes, eight
    /// fixed64 bytes, or a length-delimited field's content without its length).
    struct Field: Equatable {
        var number: UInt32
        var wireType: UInt8
        var value: [UInt8]

        static let varint: UInt8 = 0
        static let fixed64: UInt8 = 1
        static let lengthDelimited: UInt8 = 2
        static let fixed32: UInt8 = 5
    }

    /// The fields of one message, in order; `nil` when the bytes are not a message.
    static func fields(_ bytes: [UInt8]) -> [Field]? {
        var fields: [Field] = []
        var index = 0
        while index < bytes.count {
            guard let tag = varint(bytes, at: &index), tag >> 3 > 0, tag >> 3 <= UInt64(UInt32.max) else { return nil }
            let number = UInt32(tag >> 3)
            let wireType = UInt8(tag & 7)
            let start: Int
            let end: Int
            switch wireType {
            case Field.varint:
                start = index
                guard varint(bytes, at: &index) != nil else { return nil }
                end = index
            case Field.fixed64, Field.fixed32:
                start = index
                end = index + (wireType == Field.fixed64 ? 8 : 4)
            case Field.lengthDelimited:
                guard let length = varint(bytes, at: &index), length <= UInt64(bytes.count - index) else { return nil }
                start = index
                end = index + Int(length)
            default:
                return nil
            }
            guard end <= bytes.count else { return nil }
            fields.append(Field(number: number, wireType: wireType, value: Array(bytes[start..<end])))
            index = end
        }
        return fields
    }

    /// Encodes `fields` in order.
    static func encode(_ fields: [Field]) -> [UInt8] {
        var bytes: [UInt8] = []
        for field in fields {
            appendVarint(UInt64(field.number) << 3 | UInt64(field.wireType), to: &bytes)
            if field.wireType == Field.lengthDelimited { appendVarint(UInt64(field.value.count), to: &bytes) }
            bytes += field.value
        }
        return bytes
    }

    static func varint(_ bytes: [UInt8], at index: inout Int) -> UInt64? {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            guard index < bytes.count else { return nil }
            let byte = bytes[index]
            index += 1
            value |= UInt64(byte & 0x7f) << UInt64(min(shift, 63))
            if byte & 0x80 == 0 { return value }
        }
        return nil
    }

    static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    static func varintBytes(_ value: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        appendVarint(value, to: &bytes)
        return bytes
    }

    static func doubleBytes(_ value: Double) -> [UInt8] {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
    }
}

/// What a field of tickwire.proto holds, as far as mutation cares.
indirect enum FieldShape: Sendable {
    /// Integers, enums and bools.
    case varint
    case double
    case string
    case message([UInt32: FieldShape])
    /// `repeated double` (packed in proto3).
    case packedDoubles
    /// A map entry (`map<string, V>`): key 1, value 2.
    case mapEntry(value: FieldShape)
}

/// Field numbers and shapes of every message an envelope carries (Sources/Contracts/Proto).
enum EnvelopeShape {
    static let producer: [UInt32: FieldShape] = [1: .string, 2: .string, 3: .varint]
    static let trade: [UInt32: FieldShape] = [
        1: .string, 2: .double, 3: .double, 4: .string, 5: .string, 6: .string, 7: .string,
    ]
    static let quote: [UInt32: FieldShape] = [
        1: .string, 2: .double, 3: .double, 4: .double, 5: .double, 6: .string, 7: .string, 8: .string,
    ]
    static let bar: [UInt32: FieldShape] = [
        1: .string, 2: .varint, 3: .varint, 4: .double, 5: .double, 6: .double, 7: .double, 8: .double, 9: .double,
        10: .varint, 11: .varint, 12: .string,
    ]
    static let features: [UInt32: FieldShape] = [
        1: .string, 2: .string, 3: .varint, 4: .string, 5: .packedDoubles, 6: .varint, 7: .double, 8: .string,
        9: .varint,
    ]
    static let vote: [UInt32: FieldShape] = [
        1: .string, 2: .varint, 3: .double, 4: .double, 5: .double, 6: .double, 7: .double, 8: .double,
    ]
    static let signal: [UInt32: FieldShape] = [
        1: .string, 2: .varint, 3: .double, 4: .double, 5: .double, 6: .string, 7: .message(vote), 8: .string,
        9: .varint, 10: .string, 11: .double, 12: .double, 13: .double, 14: .string, 15: .string, 16: .varint,
        17: .varint,
    ]
    static let session: [UInt32: FieldShape] = [
        1: .string, 2: .varint, 3: .varint, 4: .varint, 5: .string, 6: .string, 7: .varint, 8: .string, 9: .varint,
        10: .varint, 11: .varint, 12: .double, 13: .varint, 14: .varint, 15: .varint,
    ]
    static let alert: [UInt32: FieldShape] = [
        1: .varint, 2: .string, 3: .string, 4: .string, 5: .string, 6: .string, 7: .mapEntry(value: .string),
        8: .string,
    ]
    static let status: [UInt32: FieldShape] = [
        1: .string, 2: .string, 3: .varint, 4: .double, 5: .varint, 6: .varint, 7: .varint, 8: .varint,
        9: .mapEntry(value: .varint), 10: .string, 11: .double,
    ]
    static let timer: [UInt32: FieldShape] = [1: .string, 2: .string, 3: .varint, 4: .varint]
    static let envelope: [UInt32: FieldShape] = [
        1: .varint, 2: .message(producer), 3: .varint, 4: .varint, 5: .varint,
        10: .message(trade), 11: .message(quote), 12: .message(bar), 13: .message(features), 14: .message(signal),
        15: .message(session), 16: .message(alert), 17: .message(status), 18: .message(timer),
    ]
}
