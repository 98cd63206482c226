import Contracts
import Testing

@Suite("Topic and TopicPattern")
struct TopicTests {
    @Test("the wire form is UTF-8 kind.key followed by one NUL")
    func wireBytes() throws {
        let topic = try Topic.tick("AAPL")
        #expect(topic.wire == [0x74, 0x69, 0x63, 0x6B, 0x2E, 0x41, 0x41, 0x50, 0x4C, 0x00])
        #expect(topic.wire == Array("tick.AAPL\0".utf8))
        #expect(topic.kind == "tick")
        #expect(topic.key == "AAPL")
        #expect(topic.description == "tick.AAPL")
        #expect(Topic.marketSession.wire == Array("market.session\0".utf8))
        #expect(Topic.alert(.error).wire == Array("alert.error\0".utf8))
        #expect(Topic.alert(.critical).description == "alert.critical")
        #expect(try Topic.status("bus-proxy").wire == Array("status.bus-proxy\0".utf8))
        #expect(try Topic.bar("MSFT").wire == Array("bar.MSFT\0".utf8))
        #expect(try Topic.features("MSFT").description == "features.MSFT")
        #expect(try Topic.signal("RDS-A").description == "signal.RDS-A")
    }

    @Test(
        "keys with dots, dashes and the other allowed punctuation are valid",
        arguments: ["BRK.B", "RDS-A", "A", "BF_B", "ES/Z4", "EUR:USD", "^GSPC", "X=F", "A+", String(repeating: "Z", count: 32)]
    )
    func validKeys(key: String) throws {
        let topic = try Topic.tick(key)
        #expect(topic.key == key)
        #expect(topic.wire == Array("tick.\(key)".utf8) + [0])
        // Parsing the wire form gives the same topic back (split at the first dot only).
        #expect(try Topic(wire: topic.wire) == topic)
    }

    @Test("tick.BRK.B parses as kind tick, key BRK.B")
    func splitAtFirstDot() throws {
        let topic = try Topic(wire: Array("tick.BRK.B\0".utf8))
        #expect(topic.kind == "tick")
        #expect(topic.key == "BRK.B")
    }

    @Test("invalid keys and kinds are rejected with the matching TopicError")
    func invalidTopics() {
        #expect(throws: TopicError.invalidCharacter("AA PL")) { try Topic.tick("AA PL") }
        #expect(throws: TopicError.invalidCharacter("AAPL\0")) { try Topic.tick("AAPL\0") }
        #expect(throws: TopicError.invalidCharacter("ÄPPL")) { try Topic.tick("ÄPPL") }
        #expect(throws: TopicError.emptyKey) { try Topic.tick("") }
        let long = String(repeating: "A", count: 33)
        #expect(throws: TopicError.keyTooLong(long)) { try Topic.tick(long) }
        #expect(throws: TopicError.unknownKind("quote")) { try Topic(kind: "quote", key: "AAPL") }
        #expect(throws: TopicError.unknownKind("TICK")) { try Topic(kind: "TICK", key: "AAPL") }
    }

    @Test("malformed topic frames are rejected")
    func invalidWire() {
        #expect(throws: TopicError.missingTerminator("tick.AAPL")) { try Topic(wire: Array("tick.AAPL".utf8)) }
        #expect(throws: TopicError.missingKey("tick\\x00")) { try Topic(wire: Array("tick\0".utf8)) }
        #expect(throws: TopicError.emptyKey) { try Topic(wire: Array("tick.\0".utf8)) }
        #expect(throws: TopicError.unknownKind("nope")) { try Topic(wire: Array("nope.AAPL\0".utf8)) }
        #expect(throws: TopicError.missingTerminator("")) { try Topic(wire: []) }
        // Two terminators: the key would contain a NUL.
        #expect(throws: TopicError.invalidCharacter("AAPL\0")) { try Topic(wire: Array("tick.AAPL\0\0".utf8)) }
    }

    @Test("errors print something an operator can act on")
    func errorDescriptions() {
        #expect(TopicError.emptyKey.description == "empty topic key")
        #expect(
            TopicError.unknownKind("x").description
                == "unknown topic kind 'x' (known: alert, bar, features, market, signal, status, tick, timer)")
        #expect(
            TopicError.keyTooLong("K").description == "topic key 'K' is longer than 32 characters")
        #expect(
            TopicError.missingTerminator("tick.A").description
                == "topic frame 'tick.A' does not end with the NUL terminator")
    }

    @Test("a pattern without a trailing dot or star is one exact topic, subscribed with the NUL")
    func exactPattern() throws {
        let pattern = try TopicPattern("tick.AAPL")
        #expect(pattern.match == .exact(try Topic.tick("AAPL")))
        #expect(pattern.subscriptionPrefix == Array("tick.AAPL\0".utf8))
        #expect(pattern.description == "tick.AAPL")
        #expect(pattern.matches(try Topic.tick("AAPL")))
        #expect(!pattern.matches(try Topic.tick("AAPLX")))
        #expect(!pattern.matches(try Topic.tick("AAPL.W")))
        #expect(try TopicPattern("tick.BRK.B").match == .exact(try Topic.tick("BRK.B")))
        #expect(!(try TopicPattern("tick.BRK.B")).matches(try Topic.tick("BRK.BX")))
    }

    @Test("a trailing dot or star makes a prefix; empty and * match everything")
    func prefixPatterns() throws {
        let dot = try TopicPattern("tick.")
        #expect(dot.match == .prefix("tick."))
        #expect(dot.subscriptionPrefix == Array("tick.".utf8))
        #expect(dot.description == "tick.*")
        #expect(dot.matches(try Topic.tick("AAPL")))
        #expect(dot.matches(try Topic.tick("BRK.B")))
        #expect(!dot.matches(try Topic.bar("AAPL")))

        #expect(try TopicPattern("tick.*") == dot)
        #expect(try TopicPattern("tick") == dot)  // a bare known kind means all of it
        #expect(try TopicPattern("alert.").matches(Topic.alert(.warning)))

        for everything in ["", "*"] {
            let pattern = try TopicPattern(everything)
            #expect(pattern.match == .prefix(""))
            #expect(pattern.subscriptionPrefix == [])
            #expect(pattern.matches(Topic.marketSession))
        }

        // A star right after a partial key is a raw byte prefix, not an exact topic.
        let partial = try TopicPattern("tick.AAPL*")
        #expect(partial.match == .prefix("tick.AAPL"))
        #expect(partial.matches(try Topic.tick("AAPLX")))
    }

    @Test("patterns naming no known kind, or a bad key, are rejected")
    func invalidPatterns() {
        #expect(throws: TopicError.missingKey("AAPL")) { try TopicPattern("AAPL") }
        #expect(throws: TopicError.unknownKind("ticks")) { try TopicPattern("ticks.AAPL") }
        #expect(throws: TopicError.invalidCharacter("AA PL")) { try TopicPattern("tick.AA PL") }
    }
}
