import Contracts
import Foundation

/// One part of a frame a parser could not use: why (the ingestor's `rejected.<reason>`
/// counter) and what, in words.
public struct FrameProblem: Sendable, Equatable, CustomStringConvertible {
    public var reason: ProviderRejectReason
    public var message: String

    public init(_ reason: ProviderRejectReason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { message }
}

/// What a parser made of one frame: the messages it understood, in order, and every part it
/// could not read (each such part is skipped, never guessed).
public struct ParsedFrame<Message: Sendable & Equatable>: Sendable, Equatable {
    public var messages: [Message]
    public var problems: [FrameProblem]

    public init(messages: [Message] = [], problems: [FrameProblem] = []) {
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

/// Why a field could not be read, and which `rejected.<reason>` counter that is.
struct FieldError: Error, Equatable {
    var description: String
    var reason: ProviderRejectReason
    init(_ description: String, _ reason: ProviderRejectReason = .malformed) {
        self.description = description
        self.reason = reason
    }
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

    /// A symbol that is a valid topic key.
    func symbol(_ name: String) throws(FieldError) -> String {
        let value = try required(String.self, name)
        guard !value.isEmpty else { throw FieldError("'\(name)' is empty") }
        guard (try? Topic.validate(key: value)) != nil else {
            throw FieldError("'\(name)' is not a valid symbol: '\(value.prefix(40))'", .invalidSymbol)
        }
        return value
    }

    /// A trade or bar price: finite, above 0, at most ``MarketLimits/maximumPrice``.
    func price(_ name: String) throws(FieldError) -> Double {
        let value = try required(Double.self, name)
        guard MarketLimits.isPrice(value) else { throw FieldError("'\(name)' is not a price: \(value)", .priceRange) }
        return value
    }

    /// A bid or ask: finite, 0 (an empty side) up to ``MarketLimits/maximumPrice``.
    func quotePrice(_ name: String) throws(FieldError) -> Double {
        let value = try required(Double.self, name)
        guard MarketLimits.isQuotePrice(value) else {
            throw FieldError("'\(name)' is not a bid or ask price: \(value)", .priceRange)
        }
        return value
    }

    /// A size or volume: finite, 0 up to ``MarketLimits/maximumSize``.
    func size(_ name: String) throws(FieldError) -> Double {
        let value = try required(Double.self, name)
        guard MarketLimits.isSize(value) else { throw FieldError("'\(name)' is not a size: \(value)", .sizeRange) }
        return value
    }

    /// An optional VWAP: 0 when absent, else a price.
    func optionalPrice(_ name: String) throws(FieldError) -> Double {
        guard let value = try optional(Double.self, name) else { return 0 }
        guard value == 0 || MarketLimits.isPrice(value) else {
            throw FieldError("'\(name)' is not a price: \(value)", .priceRange)
        }
        return value
    }

    /// Unix milliseconds, as nanoseconds from 1900 to 2200 (``MarketLimits/isPlausible(time:)``).
    func milliseconds(_ name: String) throws(FieldError) -> Int64 {
        let value: Int64
        do {
            value = try required(Int64.self, name)
        } catch {
            // A number too large for Int64 is a time out of range, not a malformed frame.
            if let number = try? optional(Double.self, name) {
                throw FieldError("'\(name)' is not a Unix time in milliseconds: \(number)", .timeRange)
            }
            throw error
        }
        guard let ns = ProviderTime.nanoseconds(milliseconds: value), MarketLimits.isPlausible(time: ns) else {
            throw FieldError("'\(name)' is not a Unix time in milliseconds: \(value)", .timeRange)
        }
        return ns
    }

    /// An RFC 3339 time, as nanoseconds from 1900 to 2200.
    func rfc3339(_ name: String) throws(FieldError) -> Int64 {
        let text = try required(String.self, name)
        guard let ns = ProviderTime.nanoseconds(rfc3339: text) else {
            let reason: ProviderRejectReason = ProviderTime.looksLikeRFC3339(text) ? .timeRange : .malformed
            throw FieldError("'\(name)' is not an RFC 3339 time: \(text.prefix(40))", reason)
        }
        guard MarketLimits.isPlausible(time: ns) else {
            throw FieldError("'\(name)' is out of range: \(text.prefix(40))", .timeRange)
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
            return ParsedFrame(problems: [FrameProblem(.malformed, "not a JSON array of objects")])
        }
        var frame = ParsedFrame<Element.Message>()
        for (index, element) in elements.enumerated() {
            switch element.value {
            case .success(let message): frame.messages.append(stamp(message))
            case .failure(let problem):
                let message = "element \(index) (\(element.kind.prefix(20))): \(problem.description)"
                frame.problems.append(FrameProblem(problem.reason, message))
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
