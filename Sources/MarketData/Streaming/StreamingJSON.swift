import Foundation

/// What a parser made of one frame: the messages it understood, in order, and a short
/// description of every part it could not read (each such part is skipped, never guessed).
public struct ParsedFrame<Message: Sendable & Equatable>: Sendable, Equatable {
    public var messages: [Message]
    public var problems: [String]

    public init(messages: [Message] = [], problems: [String] = []) {
        self.messages = messages
        self.problems = problems
    }
}

/// A JSON object member name.
struct JSONKey: CodingKey, Hashable {
    var stringValue: String
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
}

/// Why a field could not be read.
struct FieldError: Error, Equatable {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Typed, checked access to the members of one JSON object. Every accessor throws a
/// ``FieldError`` naming the field when it is missing (for required ones) or of the wrong type.
struct JSONFields {
    let container: KeyedDecodingContainer<JSONKey>

    init(_ decoder: any Decoder) throws(FieldError) {
        do {
            container = try decoder.container(keyedBy: JSONKey.self)
        } catch {
            throw FieldError("not a JSON object")
        }
    }

    func has(_ name: String) -> Bool {
        guard container.contains(JSONKey(name)) else { return false }
        return !((try? container.decodeNil(forKey: JSONKey(name))) ?? false)
    }

    func optional<T: Decodable>(_ type: T.Type, _ name: String) throws(FieldError) -> T? {
        do {
            return try container.decodeIfPresent(type, forKey: JSONKey(name))
        } catch {
            throw FieldError("'\(name)' is not \(Self.describe(type))")
        }
    }

    func required<T: Decodable>(_ type: T.Type, _ name: String) throws(FieldError) -> T {
        guard let value = try optional(type, name) else { throw FieldError("'\(name)' is missing") }
        return value
    }

    /// A non-empty string.
    func symbol(_ name: String) throws(FieldError) -> String {
        let value = try required(String.self, name)
        guard !value.isEmpty else { throw FieldError("'\(name)' is empty") }
        return value
    }

    /// A finite number greater than zero (a price).
    func price(_ name: String) throws(FieldError) -> Double {
        let value = try required(Double.self, name)
        guard value.isFinite, value > 0 else { throw FieldError("'\(name)' is not a positive price: \(value)") }
        return value
    }

    /// A finite number, zero or more (a size, a bid that may be empty).
    func nonNegative(_ name: String) throws(FieldError) -> Double {
        let value = try required(Double.self, name)
        guard value.isFinite, value >= 0 else { throw FieldError("'\(name)' is negative or not finite: \(value)") }
        return value
    }

    /// Unix milliseconds, as nanoseconds.
    func milliseconds(_ name: String) throws(FieldError) -> Int64 {
        let value = try required(Int64.self, name)
        guard let ns = ProviderTime.nanoseconds(milliseconds: value) else {
            throw FieldError("'\(name)' is not a Unix time in milliseconds: \(value)")
        }
        return ns
    }

    /// An RFC 3339 time, as nanoseconds.
    func rfc3339(_ name: String) throws(FieldError) -> Int64 {
        let text = try required(String.self, name)
        guard let ns = ProviderTime.nanoseconds(rfc3339: text) else {
            throw FieldError("'\(name)' is not an RFC 3339 time: \(text)")
        }
        return ns
    }

    /// A string, or a number written as text (IDs and exchange codes some feeds send either way).
    func optionalText(_ name: String) throws(FieldError) -> String? {
        guard has(name) else { return nil }
        if let text = try? container.decode(String.self, forKey: JSONKey(name)) { return text }
        if let number = try? container.decode(Int64.self, forKey: JSONKey(name)) { return String(number) }
        throw FieldError("'\(name)' is neither text nor an integer")
    }

    private static func describe<T>(_ type: T.Type) -> String {
        switch type {
        case is String.Type: "text"
        case is Double.Type: "a number"
        case is Int.Type, is Int64.Type: "an integer"
        case is Bool.Type: "a boolean"
        case is [String].Type: "a list of text"
        case is [Int].Type: "a list of integers"
        default: "of the expected type"
        }
    }
}

/// Decodes a frame that is a JSON array of objects (or one object) element by element: an
/// element that cannot be read becomes a problem without spoiling its neighbours.
/// One element of a frame's JSON array that never fails to decode as a whole: either a
/// message or the problem with it, plus the element's type name for error messages.
protocol FrameElement: Decodable {
    associatedtype Message: Sendable & Equatable
    var kind: String { get }
    var value: Result<Message, FieldError> { get }
}

enum JSONFrame {
    /// Parses a frame holding a JSON array (or a single object) of elements: good elements
    /// become messages (through `stamp`), bad ones become problems naming their index and type.
    static func parse<Element: FrameElement>(
        _ type: Element.Type, in text: String, stamp: (Element.Message) -> Element.Message
    ) -> ParsedFrame<Element.Message> {
        guard let elements = elements(Element.self, in: text) else {
            return ParsedFrame(problems: ["not a JSON array of objects"])
        }
        var frame = ParsedFrame<Element.Message>()
        for (index, element) in elements.enumerated() {
            switch element.value {
            case .success(let message): frame.messages.append(stamp(message))
            case .failure(let problem): frame.problems.append("element \(index) (\(element.kind)): \(problem.description)")
            }
        }
        return frame
    }

    static func elements<Element: Decodable>(_ type: Element.Type, in text: String) -> [Element]? {
        let decoder = JSONDecoder()
        let data = Data(text.utf8)
        let first = text.utf8.first { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }
        do {
            if first == UInt8(ascii: "[") { return try decoder.decode([Element].self, from: data) }
            if first == UInt8(ascii: "{") { return [try decoder.decode(Element.self, from: data)] }
            return nil
        } catch {
            return nil
        }
    }
}
