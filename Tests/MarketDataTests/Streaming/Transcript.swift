import Foundation
import Testing

/// A provider fixture transcript (`*.jsonl`): what the server sends, what the client is
/// expected to send, waits and closes, in order. See the fixtures' README for the format.
struct Transcript: Sendable, Equatable {
    enum Step: Sendable, Equatable {
        /// A server→client text frame, exactly as sent (compact JSON).
        case send(String)
        /// The server waits for the next client frame; `frame` is what the fixture's client sent
        /// (compact JSON text, or the raw text of a deliberately malformed message).
        case expect(String)
        /// Idle time in fixture seconds (scaled by the server).
        case wait(Double)
        /// The server closes the WebSocket with this code.
        case close(code: UInt16)
        /// Test-only: the server stops reading (so it answers no ping) until it is stopped.
        case stall
        /// Test-only: a server→client text message sent as frames of at most 16 KiB.
        case sendFragmented(String)
    }

    var steps: [Step]

    /// Loads `Fixtures/<provider>/<name>` from the test bundle.
    static func load(_ provider: String, _ name: String) throws -> Transcript {
        try parse(Fixture.text(provider, name))
    }

    static func parse(_ jsonl: String) throws -> Transcript {
        var steps: [Step] = []
        for line in jsonl.split(whereSeparator: \.isNewline) where !line.allSatisfy(\.isWhitespace) {
            let text = String(line)
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not an object: \(text)")
            let direction = try #require(object["dir"] as? String, "no dir: \(text)")
            switch direction {
            case "s2c":
                steps.append(.send(try frameText(of: text, parsed: try #require(object["frame"]))))
            case "c2s":
                if let raw = object["raw"] as? String {
                    steps.append(.expect(raw))
                } else {
                    steps.append(.expect(try frameText(of: text, parsed: try #require(object["frame"]))))
                }
            case "wait":
                steps.append(.wait(try #require(object["seconds"] as? Double)))
            case "close":
                steps.append(.close(code: UInt16(try #require(object["code"] as? Int))))
            case "note":
                continue
            default:
                Issue.record("unknown dir \(direction) in \(text)")
            }
        }
        return Transcript(steps: steps)
    }

    /// The `frame` member's text with its key order kept, compacted; checked against the parsed value.
    static func frameText(of line: String, parsed: Any) throws -> String {
        if let range = line.range(of: "\"frame\"") {
            var rest = line[range.upperBound...].drop { $0 == " " || $0 == ":" }
            while let last = rest.last, last == " " || last == "}" || last == "\n" || last == "\r" { rest.removeLast() }
            // dropLast removed the frame's own closing braces too: put back what balances.
            let candidate = balanced(String(rest))
            if let candidate, let value = try? JSONSerialization.jsonObject(with: Data(candidate.utf8), options: .fragmentsAllowed),
                canonical(value) == canonical(parsed)
            {
                return compact(candidate)
            }
        }
        let data = try JSONSerialization.data(withJSONObject: parsed, options: [.fragmentsAllowed, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// `text` with closing braces appended until brackets balance (outside strings).
    static func balanced(_ text: String) -> String? {
        var depth: [Character] = []
        var inString = false
        var escaped = false
        for character in text {
            if inString {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
                continue
            }
            switch character {
            case "\"": inString = true
            case "{": depth.append("}")
            case "[": depth.append("]")
            case "}", "]":
                guard depth.popLast() == character else { return nil }
            default: break
            }
        }
        return text + String(depth.reversed())
    }

    /// Removes whitespace outside strings.
    static func compact(_ text: String) -> String {
        var out = ""
        var inString = false
        var escaped = false
        for character in text {
            if inString {
                out.append(character)
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
            } else if character == "\"" {
                inString = true
                out.append(character)
            } else if !character.isWhitespace {
                out.append(character)
            }
        }
        return out
    }

    /// A JSON value written with sorted keys, for comparing frames regardless of key order.
    static func canonical(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }

    /// `text` parsed and written with sorted keys; the text itself when it is not JSON.
    static func canonical(text: String) -> String {
        guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed) else {
            return text
        }
        return canonical(value)
    }

    /// Server frames, in order.
    var serverFrames: [String] {
        steps.compactMap { if case .send(let text) = $0 { text } else { nil } }
    }

    /// Client frames the fixture expects, in order.
    var clientFrames: [String] {
        steps.compactMap { if case .expect(let text) = $0 { text } else { nil } }
    }

    /// Without the client steps `drop` selects (e.g. unsubscribes, which these clients never send).
    func removingClientFrames(where drop: (String) -> Bool) -> Transcript {
        Transcript(steps: steps.filter { if case .expect(let text) = $0 { !drop(text) } else { true } })
    }

    /// With the client frame `old` replaced by `new`.
    func replacingClientFrame(_ old: String, with new: String) -> Transcript {
        Transcript(steps: steps.map { if case .expect(let text) = $0, text == old { .expect(new) } else { $0 } })
    }

    /// Only the steps before the `count`-th server frame; for cutting a session short.
    func prefix(serverFrames count: Int) -> Transcript {
        var kept: [Step] = []
        var sent = 0
        for step in steps {
            if case .send = step {
                if sent == count { break }
                sent += 1
            }
            kept.append(step)
        }
        return Transcript(steps: kept)
    }

    func appending(_ step: Step) -> Transcript { Transcript(steps: steps + [step]) }
}

/// Test resources.
enum Fixture {
    static func url(_ provider: String, _ name: String) throws -> URL {
        let base = try #require(Bundle.module.resourceURL, "no resource bundle")
        return base.appendingPathComponent("Fixtures").appendingPathComponent(provider).appendingPathComponent(name)
    }

    static func text(_ provider: String, _ name: String) throws -> String {
        try String(contentsOf: url(provider, name), encoding: .utf8)
    }

    /// The `s2c` frames of a transcript as JSON values, for computing expectations independently.
    static func serverValues(_ transcript: Transcript) throws -> [Any] {
        try transcript.serverFrames.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) }
    }
}
