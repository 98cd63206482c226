import Contracts
import MarketData
import ServiceKit
import TestSupport
import Testing

@Suite("Alpaca streaming")
struct AlpacaStreamingTests {
    static let key = "PKFAKE0000000000TEST"
    static let secret = "fakeSecretFakeSecretFakeSecretFakeSecret0"
    static let fixtureSubscribe = #"{"action":"subscribe","trades":["AAPL","MSFT"],"quotes":["AAPL"],"bars":["AAPL","MSFT"]}"#
    /// Quotes are on or off for every symbol in config, so MSFT quotes are asked for too.
    static let ourSubscribe = #"{"action":"subscribe","trades":["AAPL","MSFT"],"quotes":["AAPL","MSFT"],"bars":["AAPL","MSFT"]}"#

    func provider(
        url: String, secret: String = secret, tickers: [String] = ["AAPL", "MSFT"], quotes: Bool = true, bars: Bool = true
    ) throws -> AlpacaProvider {
        var config = streamingConfig("alpaca", url: url, key: Self.key, secret: secret, tickers: tickers)
        config.providers.alpaca.quotes = quotes
        config.providers.alpaca.bars = bars
        var provider = try AlpacaProvider(config: config)
        provider.options = testOptions()
        return provider
    }

    static func expectedTicks(_ transcript: Transcript) throws -> [Tick] {
        try serverObjects(transcript).compactMap { object in
            switch object["T"] as? String {
            case "t":
                return Tick(
                    kind: "trade", symbol: try object.text("S"), values: [try object.number("p"), try object.number("s")],
                    time: try referenceNanoseconds(try object.text("t")))
            case "q":
                return Tick(
                    kind: "quote", symbol: try object.text("S"),
                    values: [
                        try object.number("bp"), try object.number("bs") * 100, try object.number("ap"),
                        try object.number("as") * 100,
                    ],
                    time: try referenceNanoseconds(try object.text("t")))
            case "b":
                let start = try referenceNanoseconds(try object.text("t"))
                return Tick(
                    kind: "bar", symbol: try object.text("S"),
                    values: ["o", "h", "l", "c", "v"].map { (try? object.number($0)) ?? .nan }, time: start,
                    end: start + 60_000_000_000)
            default:
                return nil
            }
        }
    }

    @Test("the full session gives exactly the fixture's trades, quotes and bars in order, to the nanosecond")
    func fullSession() async throws {
        let transcript = try Transcript.load("alpaca", "session_transcript.jsonl")
            .removingClientFrames { $0.contains("unsubscribe") }
            .replacingClientFrame(Self.fixtureSubscribe, with: Self.ourSubscribe)
            .appending(.close(code: 1000))
        let expected = try Self.expectedTicks(transcript)
        #expect(expected.count == 28)  // 17 t + 9 q + 2 b in the fixture
        let recorder = SinkRecorder()
        let server = try await withFakeServer(replaying: transcript) { server in
            let outcome = try await runOnce(try provider(url: server.url("/v2/iex")), symbols: ["AAPL", "MSFT"], recorder: recorder)
            #expect(outcome.returnedNormally, "\(outcome)")
            return (received: server.received.values, requests: server.requests.values)
        }
        #expect(recorder.events.values.map(Tick.init) == expected)
        #expect(recorder.issues.values.isEmpty, "\(recorder.issues.values)")
        #expect(
            canonical(server.received)
                == canonical([#"{"action":"auth","key":"\#(Self.key)","secret":"\#(Self.secret)"}"#, Self.ourSubscribe]))
        #expect(server.requests == ["/v2/iex"])
        #expect(recorder.connections.count == 1)

        let events = recorder.events.values
        guard case .quote(let quote, let time) = events.first else {
            Issue.record("first event is not a quote")
            return
        }
        #expect(time == 1_741_962_600_237_627_794)  // 2025-03-14T14:30:00.237627794Z
        #expect(quote.bidExchange == "V" && quote.bidSize == 400 && quote.askSize == 200 && quote.provider == "alpaca")
        guard case .trade(let trade, _) = events.dropFirst().first else {
            Issue.record("second event is not a trade")
            return
        }
        #expect(trade.symbol == "MSFT" && trade.tradeID == "6195" && trade.exchange == "V" && trade.conditions == ["@"])
        let bars = events.compactMap { if case .bar(let bar) = $0 { bar } else { nil } }
        #expect(bars.count == 2)
        #expect(bars.allSatisfy { $0.origin == .live && $0.tradeCount > 0 && $0.vwap > 0 })
        #expect(bars.first?.startTimeNs == 1_741_962_600_000_000_000)
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var file: String
        var code: Int
        var kind: ProviderIssue.Kind
        var fatal: Bool
        /// The session goes on after the error: the test's server closes after the transcript.
        var stays = false
        var secret = AlpacaStreamingTests.secret
        var tickers = ["AAPL"]
        var testDescription: String { file }
    }

    static let errorCases = [
        ErrorCase(file: "error_invalid_syntax.jsonl", code: 400, kind: .invalidRequest, fatal: false, stays: true),
        ErrorCase(file: "error_not_authenticated.jsonl", code: 401, kind: .notAuthenticated, fatal: false),
        ErrorCase(file: "error_auth_failed.jsonl", code: 402, kind: .authFailed, fatal: true, secret: "wrong"),
        ErrorCase(file: "error_already_authenticated.jsonl", code: 403, kind: .invalidRequest, fatal: false, stays: true),
        ErrorCase(file: "error_auth_timeout.jsonl", code: 404, kind: .timeout, fatal: false),
        ErrorCase(
            file: "error_symbol_limit.jsonl", code: 405, kind: .symbolLimit, fatal: true,
            tickers: (0...30).map { "SYM" + ($0 < 10 ? "0" : "") + String($0) }),
        ErrorCase(file: "error_connection_limit.jsonl", code: 406, kind: .connectionLimit, fatal: true),
        ErrorCase(file: "error_slow_client.jsonl", code: 407, kind: .slowConsumer, fatal: false),
        ErrorCase(file: "error_insufficient_subscription.jsonl", code: 409, kind: .insufficientSubscription, fatal: true),
    ]

    @Test("each error code gives the right issue kind, code and fatality, and no events", arguments: errorCases)
    func errorScenario(_ scenario: ErrorCase) async throws {
        var transcript = try Transcript.load("alpaca", scenario.file)
        if scenario.stays { transcript = transcript.appending(.close(code: 1000)) }
        let recorder = SinkRecorder()
        let received = try await withFakeServer(replaying: transcript) { server in
            let provider = try provider(
                url: server.url("/v2/iex"), secret: scenario.secret, tickers: scenario.tickers,
                quotes: scenario.tickers.count == 1, bars: scenario.tickers.count == 1)
            let outcome = try await runOnce(provider, symbols: scenario.tickers, recorder: recorder)
            let issue: ProviderIssue
            if scenario.fatal {
                issue = try #require(outcome.issue, "expected a thrown issue, got \(outcome)")
                #expect(recorder.issues.values.isEmpty, "\(recorder.issues.values)")
            } else {
                #expect(outcome.returnedNormally, "\(outcome)")
                issue = try #require(recorder.issues.values.first, "no issue reported")
                #expect(recorder.issues.count == 1, "\(recorder.issues.values)")
            }
            #expect(issue.kind == scenario.kind)
            #expect(issue.code == scenario.code)
            #expect(issue.isFatal == scenario.fatal)
            #expect(issue.message.contains("alpaca") && issue.message.contains(String(scenario.code)))
            return server.received.values
        }
        #expect(recorder.events.values.isEmpty)
        #expect(recorder.connections.count == 0)
        // Our client's messages are well formed; where the fixture's client was ours (auth, the
        // 31-symbol subscribe) they are the same.
        let fixtureFrames = canonical(transcript.clientFrames)
        let fixtureAuthenticates = fixtureFrames.contains { $0.contains(#""action":"auth""#) }
        for frame in canonical(received)
        where (fixtureAuthenticates && frame.contains(#""action":"auth""#)) || scenario.file == "error_symbol_limit.jsonl" {
            #expect(fixtureFrames.contains(frame), "unexpected client frame \(frame)")
        }
    }
}

@Suite("Alpaca parser and session")
struct AlpacaParserTests {
    let parser = AlpacaParser()

    @Test("timestamps with 0 to 9 fraction digits convert to UTC nanoseconds exactly")
    func timestamps() throws {
        let cases: [(String, Int64)] = [
            ("2025-03-14T14:30:00Z", 1_741_962_600_000_000_000),
            ("2021-02-22T15:51:44.208Z", 1_614_009_104_208_000_000),
            ("2023-04-06T11:54:26.83915973Z", 1_680_782_066_839_159_730),
            ("2024-07-24T07:56:53.639713735Z", 1_721_807_813_639_713_735),
        ]
        for (text, ns) in cases {
            let frame = parser.parse(#"[{"T":"t","S":"AAPL","i":1,"x":"V","p":1.5,"s":1,"c":["@"],"z":"C","t":"\#(text)"}]"#)
            guard case .event(.trade(_, let time)) = frame.messages.first else {
                Issue.record("no trade for \(text): \(frame)")
                continue
            }
            #expect(time == ns, "\(text)")
            #expect(time == (try referenceNanoseconds(text)))
        }
    }

    @Test("control messages, a bar and unknown types")
    func messages() {
        let frame = parser.parse(
            #"[{"T":"success","msg":"connected"},{"T":"error","code":406,"msg":"connection limit exceeded"},"#
                + #"{"T":"subscription","trades":["AAPL"],"quotes":[],"bars":["*"]},{"T":"u","S":"AAPL"},"#
                + #"{"T":"b","S":"AAPL","o":212.6,"h":212.9,"l":212.5,"c":212.7,"v":5230,"t":"2025-03-14T14:30:00Z","n":61,"vw":212.71}]"#)
        #expect(frame.problems.isEmpty)
        #expect(frame.messages.count == 5)
        #expect(frame.messages[0] == .success("connected"))
        #expect(frame.messages[1] == .error(code: 406, message: "connection limit exceeded"))
        #expect(frame.messages[2] == .subscription(trades: ["AAPL"], quotes: [], bars: ["*"]))
        #expect(frame.messages[3] == .ignored(type: "u"))
        guard case .event(.bar(let bar)) = frame.messages[4] else {
            Issue.record("no bar")
            return
        }
        #expect(bar.tradeCount == 61 && bar.vwap == 212.71 && bar.volume == 5230)
        #expect(bar.endTimeNs - bar.startTimeNs == 60_000_000_000)
    }

    @Test(
        "malformed input is a problem, never an event",
        arguments: [
            "not json", #"{"T":"t"}"#, #"[{"T":"t","S":"AAPL","p":1,"s":1,"t":"2025-03-14 14:30:00"}]"#,
            #"[{"T":"t","S":"AAPL","p":1,"s":1,"t":"2025-03-14T14:30:00"}]"#,
            #"[{"T":"t","S":"AAPL","p":1,"s":1,"t":"2025-02-30T14:30:00Z"}]"#,
            #"[{"T":"t","S":"AAPL","p":1,"s":1,"t":1741962600000}]"#, #"[{"T":"q","S":"AAPL","bp":1,"ap":1,"as":1,"t":"2025-03-14T14:30:00Z"}]"#,
            #"[{"T":"error","msg":"no code"}]"#, #"[{"S":"AAPL"}]"#,
        ])
    func malformed(_ text: String) {
        let frame = parser.parse(text)
        #expect(!frame.problems.isEmpty, "\(frame)")
        #expect(!frame.messages.contains { if case .event = $0 { true } else { false } })
    }

    @Test(
        "every error code maps to its kind and fatality, with the code",
        arguments: [
            (400, ProviderIssue.Kind.invalidRequest, false, false), (401, .notAuthenticated, false, true),
            (402, .authFailed, true, false), (403, .invalidRequest, false, false), (404, .timeout, false, true),
            (405, .symbolLimit, true, false), (406, .connectionLimit, true, false), (407, .slowConsumer, false, true),
            (408, .planWithoutStreaming, true, false), (409, .insufficientSubscription, true, false),
            (410, .invalidRequest, true, false), (411, .insufficientSubscription, true, false),
            (500, .disconnected, false, true), (499, .invalidRequest, false, false),
        ])
    func errorCodes(code: Int, kind: ProviderIssue.Kind, fatal: Bool, reconnect: Bool) {
        let reaction = AlpacaSession.reaction(toError: code, message: "text")
        if fatal {
            guard case .fatal(let issue) = reaction.end else {
                Issue.record("not fatal: \(reaction)")
                return
            }
            #expect(issue.kind == kind && issue.isFatal && issue.code == code)
        } else {
            #expect(reaction.issues.map(\.kind) == [kind])
            #expect(reaction.issues.first?.code == code)
            #expect(reaction.issues.first?.isFatal == false)
            #expect(reaction.end == (reconnect ? .reconnect : nil))
        }
    }

    @Test("the session authenticates on connected, subscribes on authenticated, is subscribed on the subscription message")
    func handshake() {
        var session = AlpacaSession(
            provider: "alpaca", key: "K", secret: "S", trades: ["AAPL"], quotes: [], bars: ["AAPL"], parser: AlpacaParser())
        #expect(session.opened() == .none)
        #expect(session.received(#"[{"T":"success","msg":"connected"}]"#).outgoing == [#"{"action":"auth","key":"K","secret":"S"}"#])
        #expect(session.received(#"[{"T":"success","msg":"authenticated"}]"#).outgoing == [#"{"action":"subscribe","trades":["AAPL"],"bars":["AAPL"]}"#])
        #expect(session.received(#"[{"T":"subscription","trades":["AAPL"],"bars":["AAPL"]}]"#).subscribed)
        #expect(!session.received(#"[{"T":"subscription","trades":["AAPL"],"bars":[]}]"#).subscribed)
        #expect(session.phase == .streaming)
    }
}

@Suite("Alpaca config")
struct AlpacaConfigTests {
    @Test("URL from provider_url, providers.alpaca.url or the feed; key and secret are required")
    func config() throws {
        var config = streamingConfig("alpaca", key: "K", secret: "S")
        #expect(try AlpacaProvider(config: config).url == "wss://stream.data.alpaca.markets/v2/iex")
        config.providers.alpaca.feed = "sip"
        #expect(try AlpacaProvider(config: config).url == "wss://stream.data.alpaca.markets/v2/sip")
        config.providers.alpaca.url = "wss://stream.data.sandbox.alpaca.markets/v2/iex"
        #expect(try AlpacaProvider(config: config).url == "wss://stream.data.sandbox.alpaca.markets/v2/iex")
        config.providerUrl = "ws://127.0.0.1:1/v2/test"
        #expect(try AlpacaProvider(config: config).url == "ws://127.0.0.1:1/v2/test")

        config = streamingConfig("alpaca", key: "K", secret: "S")
        config.providers.alpaca.feed = "nasdaq"
        #expect { try AlpacaProvider(config: config) } throws: { ($0 as? ConfigError)?.path == "providers.alpaca.feed" }
        config = streamingConfig("alpaca", key: "K", secret: nil)
        #expect { try AlpacaProvider(config: config) } throws: { ($0 as? ConfigError)?.path == "api_secret" }
        config = streamingConfig("alpaca", key: nil, secret: "S")
        #expect { try AlpacaProvider(config: config) } throws: { ($0 as? ConfigError)?.path == "api_key" }
    }
}
