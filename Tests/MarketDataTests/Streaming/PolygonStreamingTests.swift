import Contracts
import MarketData
import ServiceKit
import TestSupport
import Testing

@Suite("Polygon streaming")
struct PolygonStreamingTests {
    static let key = "FAKE_POLYGON_KEY_0123456789"
    static let fixtureSubscribe = #"{"action":"subscribe","params":"T.AAPL,Q.AAPL,A.AAPL,AM.AAPL,T.MSFT,Q.MSFT"}"#
    /// Channels are the same for every symbol in config, so MSFT also gets A and AM (the
    /// fixture's client subscribed MSFT to T and Q only).
    static let ourSubscribe =
        #"{"action":"subscribe","params":"T.AAPL,Q.AAPL,A.AAPL,AM.AAPL,T.MSFT,Q.MSFT,A.MSFT,AM.MSFT"}"#

    func provider(url: String, key: String = key, channels: [String] = ["T", "Q", "A", "AM"]) throws -> PolygonProvider {
        var config = streamingConfig("polygon", url: url, key: key)
        config.providers.polygon.channels = channels
        var provider = try PolygonProvider(config: config)
        provider.options = testOptions()
        return provider
    }

    /// The events the fixture's server frames describe, computed from the JSON directly.
    static func expectedTicks(_ transcript: Transcript) throws -> [Tick] {
        try serverObjects(transcript).compactMap { object in
            let ms: Int64 = 1_000_000
            switch object["ev"] as? String {
            case "T":
                return Tick(
                    kind: "trade", symbol: try object.text("sym"), values: [try object.number("p"), try object.number("s")],
                    time: try object.int("t") * ms)
            case "Q":
                return Tick(
                    kind: "quote", symbol: try object.text("sym"),
                    values: [
                        try object.number("bp"), try object.number("bs") * 100, try object.number("ap"),
                        try object.number("as") * 100,
                    ],
                    time: try object.int("t") * ms)
            case "A", "AM":
                return Tick(
                    kind: "bar", symbol: try object.text("sym"),
                    values: ["o", "h", "l", "c", "v"].map { (try? object.number($0)) ?? .nan },
                    time: try object.int("s") * ms, end: try object.int("e") * ms)
            default:
                return nil
            }
        }
    }

    @Test("the full session gives exactly the fixture's trades, quotes and bars in order; the client sends auth, then subscribe")
    func fullSession() async throws {
        let transcript = try Transcript.load("polygon", "session_transcript.jsonl")
            .removingClientFrames { $0.contains("unsubscribe") }
            .replacingClientFrame(Self.fixtureSubscribe, with: Self.ourSubscribe)
            .appending(.close(code: 1000))
        let expected = try Self.expectedTicks(transcript)
        #expect(expected.count == 129)  // 82 T + 29 Q + 17 A + 1 AM in the fixture
        let recorder = SinkRecorder()
        let server = try await withFakeServer(replaying: transcript) { server in
            let outcome = try await runOnce(try provider(url: server.url("/stocks")), symbols: ["AAPL", "MSFT"], recorder: recorder)
            #expect(outcome.returnedNormally, "\(outcome)")
            return (received: server.received.values, requests: server.requests.values, expectations: server.expectations.values)
        }
        #expect(recorder.events.values.map(Tick.init) == expected)
        #expect(recorder.issues.values.isEmpty, "\(recorder.issues.values)")
        #expect(canonical(server.received) == canonical([#"{"action":"auth","params":"\#(Self.key)"}"#, Self.ourSubscribe]))
        #expect(server.expectations.allSatisfy { Transcript.canonical(text: $0.expected) == $0.received.map { Transcript.canonical(text: $0) } })
        #expect(server.requests == ["/stocks"])
        #expect(recorder.connections.count == 1)
        #expect(recorder.count("frames") == UInt64(transcript.serverFrames.count))
        #expect(recorder.count("events") == 129)

        // Details the summary leaves out.
        let events = recorder.events.values
        guard case .trade(let first, _) = events.first(where: { if case .trade = $0 { true } else { false } }) else {
            Issue.record("no trade")
            return
        }
        #expect(first.symbol == "AAPL" && first.price == 212.635 && first.size == 53)
        #expect(first.exchange == "4" && first.tradeID == "52983525027352" && first.conditions == ["37"])
        #expect(first.provider == "polygon")
        let bars = events.compactMap { if case .bar(let bar) = $0 { bar } else { nil } }
        #expect(bars.count == 18)
        #expect(bars.allSatisfy { $0.origin == .live })
        #expect(bars.filter { $0.endTimeNs - $0.startTimeNs == 60_000_000_000 }.count == 1)
        #expect(bars.filter { $0.endTimeNs - $0.startTimeNs == 1_000_000_000 }.count == 17)
        #expect(bars.first?.vwap == 212.6442)
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var file: String
        var key: String
        var kind: ProviderIssue.Kind
        var fatal: Bool
        var testDescription: String { file }
    }

    static let errorCases = [
        ErrorCase(file: "auth_failed.jsonl", key: "NOT_A_VALID_KEY", kind: .authFailed, fatal: true),
        ErrorCase(file: "plan_without_websocket.jsonl", key: "FAKE_BASIC_PLAN_KEY", kind: .planWithoutStreaming, fatal: true),
        ErrorCase(file: "max_connections.jsonl", key: key, kind: .connectionLimit, fatal: true),
        ErrorCase(file: "auth_timeout.jsonl", key: key, kind: .timeout, fatal: false),
        ErrorCase(file: "slow_consumer.jsonl", key: key, kind: .slowConsumer, fatal: false),
    ]

    @Test("each error scenario gives the right issue and fatality, and no events", arguments: errorCases)
    func errorScenario(_ scenario: ErrorCase) async throws {
        let transcript = try Transcript.load("polygon", scenario.file)
        let recorder = SinkRecorder()
        let received = try await withFakeServer(replaying: transcript) { server in
            let outcome = try await runOnce(try provider(url: server.url("/stocks"), key: scenario.key), symbols: ["AAPL"], recorder: recorder)
            if scenario.fatal {
                let issue = try #require(outcome.issue, "expected a thrown issue, got \(outcome)")
                #expect(issue.kind == scenario.kind)
                #expect(issue.isFatal)
                #expect(issue.message.contains("polygon"))
            } else {
                #expect(outcome.returnedNormally, "\(outcome)")
                let issue = try #require(recorder.issues.values.first { $0.kind == scenario.kind }, "\(recorder.issues.values)")
                #expect(!issue.isFatal)
            }
            return server.received.values
        }
        #expect(recorder.events.values.isEmpty)
        #expect(recorder.connections.count == 0)
        // Whatever the fixture's client sent, ours sent too (ours authenticates on `connected`).
        for frame in transcript.clientFrames {
            #expect(canonical(received).contains(Transcript.canonical(text: frame)))
        }
    }

    @Test("a server that closes mid-stream: run returns normally with the events so far")
    func closesMidStream() async throws {
        let full = try Transcript.load("polygon", "session_transcript.jsonl")
            .replacingClientFrame(Self.fixtureSubscribe, with: Self.ourSubscribe)
        let cut = full.prefix(serverFrames: 20).appending(.close(code: 1001))
        let recorder = SinkRecorder()
        try await withFakeServer(replaying: cut) { server in
            let outcome = try await runOnce(try provider(url: server.url("/stocks")), symbols: ["AAPL", "MSFT"], recorder: recorder)
            #expect(outcome.returnedNormally, "\(outcome)")
        }
        #expect(recorder.events.values.map(Tick.init) == (try Self.expectedTicks(cut)))
        #expect(!recorder.events.values.isEmpty)
        #expect(recorder.issues.values.isEmpty, "\(recorder.issues.values)")
    }

    @Test("a malformed frame and a malformed element are reported, never published; unknown ev values are ignored")
    func malformedFrames() async throws {
        let transcript = Transcript(steps: [
            .send(#"[{"ev":"status","status":"connected","message":"Connected Successfully"}]"#),
            .expect(#"{"action":"auth","params":"\#(Self.key)"}"#),
            .send(#"[{"ev":"status","status":"auth_success","message":"authenticated"}]"#),
            .expect(#"{"action":"subscribe","params":"T.AAPL"}"#),
            .send(#"[{"ev":"status","status":"success","message":"subscribed to: T.AAPL"}]"#),
            .send("this is not json"),
            .send(#"[{"ev":"T","sym":"AAPL","p":"212.6","s":10,"t":1741962600066},{"ev":"T","sym":"AAPL","p":212.64,"s":100,"t":1741962600103}]"#),
            .send(#"[{"ev":"LULD","T":"AAPL","h":220.1,"l":200.2,"t":1741962600200},{"ev":"XYZ"}]"#),
            .send(#"[{"ev":"T","sym":"AAPL","p":212.65,"s":5,"t":-3}]"#),
            .close(code: 1000),
        ])
        let recorder = SinkRecorder()
        try await withFakeServer(replaying: transcript) { server in
            let outcome = try await runOnce(try provider(url: server.url(), channels: ["T"]), symbols: ["AAPL"], recorder: recorder)
            #expect(outcome.returnedNormally, "\(outcome)")
        }
        #expect(
            recorder.events.values.map(Tick.init) == [
                Tick(kind: "trade", symbol: "AAPL", values: [212.64, 100], time: 1_741_962_600_103_000_000)
            ])
        let issues = recorder.issues.values
        #expect(issues.count == 3, "\(issues)")
        #expect(issues.allSatisfy { $0.kind == .malformedPayload && !$0.isFatal && $0.message.contains("polygon") })
        #expect(issues.first?.message.contains("this is not json") == true)
        #expect(issues.dropFirst().first?.message.contains("'p'") == true)
        #expect(recorder.connections.count == 1)
    }
}

@Suite("Polygon parser and session")
struct PolygonParserTests {
    let parser = PolygonParser()

    @Test("a batch of mixed events, statuses and unknown types parses element by element")
    func mixedBatch() throws {
        let frame = parser.parse(
            #"[{"ev":"Q","sym":"MSFT","bx":8,"bp":386.4,"bs":2,"ax":19,"ap":386.42,"as":5,"c":0,"t":1741962600065,"q":30551213,"z":3},"#
                + #"{"ev":"NOI","T":"AAPL"},"#
                + #"{"ev":"AM","sym":"AAPL","v":90000,"av":1,"op":211.25,"vw":212.6,"o":212.6,"c":212.7,"h":212.8,"l":212.5,"a":211.9,"z":100,"s":1741962600000,"e":1741962660000},"#
                + #"{"ev":"status","status":"success","message":"subscribed to: T.AAPL"},"#
                + #"{"ev":"T","sym":"BRK.B","i":12345,"x":10,"p":480.5,"s":3,"t":1741962600999}]"#)
        #expect(frame.problems.isEmpty)
        #expect(frame.messages.count == 5)
        guard case .event(.quote(let quote, let quoteTime)) = frame.messages[0] else {
            Issue.record("not a quote: \(frame.messages[0])")
            return
        }
        #expect(quote.symbol == "MSFT" && quote.bidPrice == 386.4 && quote.askPrice == 386.42)
        #expect(quote.bidSize == 200 && quote.askSize == 500)  // round lots → shares
        #expect(quote.bidExchange == "8" && quote.askExchange == "19")
        #expect(quoteTime == 1_741_962_600_065_000_000)
        #expect(frame.messages[1] == .ignored(eventType: "NOI"))
        guard case .event(.bar(let bar)) = frame.messages[2] else {
            Issue.record("not a bar")
            return
        }
        #expect(bar.open == 212.6 && bar.high == 212.8 && bar.low == 212.5 && bar.close == 212.7 && bar.volume == 90000)
        #expect(bar.startTimeNs == 1_741_962_600_000_000_000 && bar.endTimeNs == 1_741_962_660_000_000_000)
        #expect(frame.messages[3] == .status(status: "success", message: "subscribed to: T.AAPL"))
        guard case .event(.trade(let trade, _)) = frame.messages[4] else {
            Issue.record("not a trade")
            return
        }
        #expect(trade.symbol == "BRK.B" && trade.tradeID == "12345" && trade.conditions.isEmpty)
    }

    @Test(
        "malformed input is a problem, never an event",
        arguments: [
            "", "{", "42", #"["T"]"#, #"[{"sym":"AAPL"}]"#, #"[{"ev":"T","sym":"AAPL","s":1,"t":1741962600000}]"#,
            #"[{"ev":"T","sym":"","p":1,"s":1,"t":1741962600000}]"#, #"[{"ev":"T","sym":"AAPL","p":0,"s":1,"t":1741962600000}]"#,
            #"[{"ev":"T","sym":"AAPL","p":1,"s":-1,"t":1741962600000}]"#, #"[{"ev":"T","sym":"AAPL","p":1,"s":1,"t":1.5}]"#,
            #"[{"ev":"Q","sym":"AAPL","bp":1,"ap":1,"bs":1,"t":1741962600000}]"#,
            #"[{"ev":"A","sym":"AAPL","o":1,"h":1,"l":1,"c":1,"v":1,"s":1741962601000,"e":1741962600000}]"#,
            #"[{"ev":"A","sym":"AAPL","o":1,"h":1,"l":2,"c":1,"v":1,"s":1741962600000,"e":1741962601000}]"#,
            #"[{"ev":"status"}]"#,
        ])
    func malformed(_ text: String) {
        let frame = parser.parse(text)
        #expect(!frame.problems.isEmpty, "\(frame)")
        #expect(!frame.messages.contains { if case .event = $0 { true } else { false } })
    }

    func session() -> PolygonSession {
        PolygonSession(provider: "massive", apiKey: "K\"1", topics: ["T.AAPL", "AM.AAPL"], parser: PolygonParser(provider: "massive"))
    }

    @Test("the session authenticates on connected, subscribes on auth_success, is subscribed on the first success")
    func handshake() {
        var session = session()
        #expect(session.opened() == .none)
        #expect(session.received(#"[{"ev":"status","status":"connected","message":"Connected Successfully"}]"#).outgoing == [#"{"action":"auth","params":"K\"1"}"#])
        #expect(session.received(#"[{"ev":"status","status":"connected","message":"again"}]"#) == .none)
        #expect(session.received(#"[{"ev":"status","status":"auth_success","message":"authenticated"}]"#).outgoing == [#"{"action":"subscribe","params":"T.AAPL,AM.AAPL"}"#])
        #expect(session.received(#"[{"ev":"status","status":"success","message":"subscribed to: T.AAPL"}]"#).subscribed)
        #expect(!session.received(#"[{"ev":"status","status":"success","message":"subscribed to: AM.AAPL"}]"#).subscribed)
        #expect(session.phase == .streaming)
        let data = session.received(#"[{"ev":"T","sym":"AAPL","p":1.5,"s":1,"t":1741962600000}]"#)
        guard case .trade(let trade, _) = data.events.first else {
            Issue.record("no trade")
            return
        }
        #expect(trade.provider == "massive")
    }

    @Test(
        "statuses map to issue kinds, fatality and reconnects",
        arguments: [
            ("auth_failed", "authentication failed", ProviderIssue.Kind.authFailed, true, false),
            ("auth_failed", "Your plan doesn't include websocket access. Visit https://massive.com/pricing to upgrade.", .planWithoutStreaming, true, false),
            ("max_connections", "Maximum number of connections exceeded.", .connectionLimit, true, false),
            ("auth_timeout", "No authentication request received.", .timeout, false, true),
            ("auth_required", "?", .notAuthenticated, false, true),
            ("force_disconnect", "?", .disconnected, false, true),
            ("slow_consumer", "?", .slowConsumer, false, true),
            ("error", "not authorized for Q.AAPL", .invalidRequest, false, false),
        ])
    func statuses(status: String, message: String, kind: ProviderIssue.Kind, fatal: Bool, reconnect: Bool) {
        var session = session()
        let reaction = session.received(#"[{"ev":"status","status":"\#(status)","message":"\#(message)"}]"#)
        #expect(reaction.events.isEmpty)
        if fatal {
            guard case .fatal(let issue) = reaction.end else {
                Issue.record("not fatal: \(reaction)")
                return
            }
            #expect(issue.kind == kind && issue.isFatal && issue.message.contains("massive"))
        } else {
            #expect(reaction.issues.map(\.kind) == [kind])
            #expect(reaction.issues.allSatisfy { !$0.isFatal })
            #expect(reaction.end == (reconnect ? .reconnect : nil))
        }
    }

    @Test("an unknown status is ignored; events before a fatal status in the same frame are kept")
    func unknownStatusAndOrder() {
        var session = session()
        #expect(session.received(#"[{"ev":"status","status":"something_new","message":"?"}]"#) == .none)
        let reaction = session.received(
            #"[{"ev":"T","sym":"AAPL","p":1.5,"s":1,"t":1741962600000},{"ev":"status","status":"max_connections","message":"?"},{"ev":"T","sym":"AAPL","p":1.6,"s":1,"t":1741962600001}]"#)
        #expect(reaction.events.count == 1)
        #expect(reaction.end != nil)
    }
}

@Suite("Polygon config")
struct PolygonConfigTests {
    func url(provider: String = "polygon", host: String? = nil, delayed: Bool = false) throws -> String {
        var config = streamingConfig(provider)
        if let host { config.providers.polygon.host = host }
        config.providers.polygon.delayed = delayed
        return try PolygonProvider(config: config).url
    }

    @Test("the URL comes from provider_url, then providers.polygon.url, then host and delayed")
    func urls() throws {
        #expect(try url() == "wss://socket.polygon.io/stocks")
        #expect(try url(delayed: true) == "wss://delayed.polygon.io/stocks")
        #expect(try url(provider: "massive") == "wss://socket.massive.com/stocks")
        #expect(try url(provider: "massive", delayed: true) == "wss://delayed.massive.com/stocks")
        #expect(try url(host: "socket.massive.com", delayed: true) == "wss://delayed.massive.com/stocks")
        #expect(try url(host: "massive.com") == "wss://socket.massive.com/stocks")
        #expect(try url(host: "business.polygon.io", delayed: true) == "wss://delayed-business.polygon.io/stocks")
        #expect(try url(host: "delayed.polygon.io", delayed: true) == "wss://delayed.polygon.io/stocks")
        var config = streamingConfig("polygon")
        config.providers.polygon.url = "ws://127.0.0.1:8765/stocks"
        #expect(try PolygonProvider(config: config).url == "ws://127.0.0.1:8765/stocks")
        config.providerUrl = "ws://localhost:9/x"
        #expect(try PolygonProvider(config: config).url == "ws://localhost:9/x")
        #expect(try PolygonProvider(config: config).name == "polygon")
        config.provider = "massive"
        #expect(try PolygonProvider(config: config).name == "massive")
    }

    @Test("bad settings are config errors with their path")
    func errors() {
        #expect(throws: ConfigError.self) { try url(host: "not a host") }
        var config = streamingConfig("polygon", key: nil)
        #expect { try PolygonProvider(config: config) } throws: { ($0 as? ConfigError)?.path == "api_key" }
        config.apiKey = Secret("  ")
        #expect { try PolygonProvider(config: config) } throws: { ($0 as? ConfigError)?.path == "api_key" }
        config = streamingConfig("polygon")
        config.providers.polygon.channels = ["T", "LULD"]
        #expect { try PolygonProvider(config: config) } throws: { ($0 as? ConfigError)?.path == "providers.polygon.channels[1]" }
        config.providers.polygon.channels = []
        #expect { try PolygonProvider(config: config) } throws: { ($0 as? ConfigError)?.path == "providers.polygon.channels" }
        config = streamingConfig("polygon", url: "http://example.com")
        #expect { try PolygonProvider(config: config) } throws: { ($0 as? ConfigError)?.path == "provider_url" }
        config = streamingConfig("polygon")
        config.providers.polygon.url = "socket.polygon.io"
        #expect { try PolygonProvider(config: config) } throws: { ($0 as? ConfigError)?.path == "providers.polygon.url" }
    }

    @Test("topics are every channel of a symbol, symbol by symbol; Q is dropped on the delayed feed")
    func topics() throws {
        var config = streamingConfig("polygon")
        config.providers.polygon.channels = ["t", "Q", "AM", "T"]
        #expect(try PolygonProvider(config: config).topics(for: ["AAPL", "BRK.B"]) == ["T.AAPL", "Q.AAPL", "AM.AAPL", "T.BRK.B", "Q.BRK.B", "AM.BRK.B"])
        config.providers.polygon.delayed = true
        #expect(try PolygonProvider(config: config).channels == ["T", "AM"])
        #expect(try PolygonProvider(config: config).options.handshakeTimeout == .seconds(10))
    }
}
