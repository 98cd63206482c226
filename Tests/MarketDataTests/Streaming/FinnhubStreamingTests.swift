import Contracts
import Foundation
import MarketData
import ServiceKit
import TestSupport
import Testing

@Suite("Finnhub streaming")
struct FinnhubStreamingTests {
    static let key = "FAKE_FINNHUB_KEY"

    func provider(url: String) throws -> FinnhubProvider {
        var provider = try FinnhubProvider(config: streamingConfig("finnhub", url: url, key: Self.key))
        provider.options = testOptions()
        return provider
    }

    static func expectedTicks(_ transcript: Transcript) throws -> [Tick] {
        var ticks: [Tick] = []
        for object in try serverObjects(transcript) where object["type"] as? String == "trade" {
            for trade in try #require(object["data"] as? [[String: Any]]) {
                ticks.append(
                    Tick(
                        kind: "trade", symbol: try trade.text("s"), values: [try trade.number("p"), try trade.number("v")],
                        time: try trade.int("t") * 1_000_000))
            }
        }
        return ticks
    }

    @Test("the full session gives exactly the fixture's trades in order; the invalid symbol is a non-fatal issue")
    func fullSession() async throws {
        let transcript = try Transcript.load("finnhub", "session_transcript.jsonl")
            .removingClientFrames { $0.contains("unsubscribe") }
            .appending(.close(code: 1000))
        let expected = try Self.expectedTicks(transcript)
        #expect(expected.count == 24)
        let recorder = SinkRecorder()
        let symbols = ["AAPL", "MSFT", "NOTAREALSYM"]
        let server = try await withFakeServer(replaying: transcript) { server in
            let outcome = try await runOnce(try provider(url: server.url()), symbols: symbols, recorder: recorder)
            #expect(outcome.returnedNormally, "\(outcome)")
            return (received: server.received.values, requests: server.requests.values)
        }
        #expect(recorder.events.values.map(Tick.init) == expected)
        #expect(canonical(server.received) == canonical(transcript.clientFrames))
        #expect(server.received.count == 3)
        #expect(server.requests == ["/?token=\(Self.key)"])
        let issues = recorder.issues.values
        #expect(issues.map(\.kind) == [.unknownSymbol])
        #expect(issues.first?.symbol == "NOTAREALSYM")
        #expect(issues.first?.isFatal == false)
        #expect(recorder.connections.count == 1)
        guard case .trade(let trade, _) = recorder.events.values.dropFirst().first else {
            Issue.record("no second trade")
            return
        }
        #expect(trade.conditions == ["1", "24", "12"] && trade.provider == "finnhub")
    }

    @Test("pings alone: no events, no issues, and run returns when the server closes")
    func idlePings() async throws {
        let transcript = try Transcript.load("finnhub", "idle_ping.jsonl").appending(.close(code: 1000))
        let recorder = SinkRecorder()
        try await withFakeServer(replaying: transcript) { server in
            let outcome = try await runOnce(try provider(url: server.url()), symbols: ["AAPL"], recorder: recorder)
            #expect(outcome.returnedNormally, "\(outcome)")
            #expect(canonical(server.received.values) == canonical(transcript.clientFrames))
        }
        #expect(recorder.events.values.isEmpty)
        #expect(recorder.issues.values.isEmpty)
        #expect(recorder.count("frames") == 2)
    }

    @Test("a 401 refusal of the upgrade (the fixture's raw response) is a fatal auth failure that does not leak the token")
    func unauthorized() async throws {
        let response = try Fixture.text("finnhub", "handshake_unauthorized.http")
        #expect(response.hasPrefix("HTTP/1.1 401 "))
        let recorder = SinkRecorder()
        try await withRawServer(.respond(response)) { server in
            let outcome = try await runOnce(try provider(url: server.url()), symbols: ["AAPL"], recorder: recorder)
            let issue = try #require(outcome.issue, "\(outcome)")
            #expect(issue.kind == .authFailed && issue.isFatal && issue.code == 401, "\(issue)")
            #expect(!issue.message.contains(Self.key))
            #expect(issue.message.contains("finnhub"))
            // The upgrade, then the probe that reads the status.
            #expect(server.requests == ["/?token=\(Self.key)", "/?token=\(Self.key)"])
        }
        #expect(recorder.events.values.isEmpty)
        #expect(recorder.connections.count == 0)
    }

    @Test("the token goes into the query, percent-encoded, after any query the URL has")
    func tokenInQuery() async throws {
        try await withRawServer(.respond("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")) { server in
            let config = streamingConfig("finnhub", url: server.url("/?format=json"), key: "a b&c/é")
            let outcome = try await runOnce(try FinnhubProvider(config: config), symbols: ["AAPL"], recorder: SinkRecorder())
            let issue = try #require(outcome.issue, "\(outcome)")
            #expect(!issue.message.contains("a b&c") && !issue.message.contains("a%20b"), "\(issue)")
            #expect(issue.message.contains("token=<redacted>"), "\(issue)")
            #expect(server.requests.first == "/?format=json&token=a%20b%26c%2F%C3%A9")
        }
    }

    @Test("another refusal (503) is retried: a non-fatal issue with the status")
    func unavailable() async throws {
        let response = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 20\r\n\r\ndown for maintenance"
        try await withRawServer(.respond(response)) { server in
            let outcome = try await runOnce(try provider(url: server.url()), symbols: ["AAPL"], recorder: SinkRecorder())
            let issue = try #require(outcome.issue, "\(outcome)")
            #expect(issue.kind == .httpStatus && !issue.isFatal && issue.code == 503, "\(issue)")
        }
    }
}

@Suite("Finnhub parser and session")
struct FinnhubParserTests {
    let parser = FinnhubParser()

    @Test("trades with conditions as text, as numbers, null or absent; volume 0 kept; ping and other types")
    func messages() {
        let frame = parser.parse(
            #"{"data":[{"c":["1","12"],"p":212.6,"s":"AAPL","t":1741962600360,"v":13},{"c":null,"p":1.1,"s":"OANDA:EUR_USD","t":1741962600361,"v":0},"#
                + #"{"p":386.4,"s":"MSFT","t":1741962600369,"v":100},{"c":[1,24],"p":386.5,"s":"MSFT","t":1741962600370,"v":2}],"type":"trade"}"#)
        #expect(frame.problems.isEmpty)
        let trades = frame.messages.compactMap { message -> (Trade, Int64)? in
            if case .event(.trade(let trade, let time)) = message { (trade, time) } else { nil }
        }
        #expect(trades.map(\.0.conditions) == [["1", "12"], [], [], ["1", "24"]])
        #expect(trades.map(\.0.size) == [13, 0, 100, 2])
        #expect(trades.first?.1 == 1_741_962_600_360_000_000)
        #expect(parser.parse(#"{"type":"ping"}"#).messages == [.ping])
        #expect(parser.parse(#"{"type":"news","data":[]}"#).messages == [.ignored(type: "news")])
        #expect(parser.parse(#"{"msg":"Invalid symbol XYZ","type":"error"}"#).messages == [.error("Invalid symbol XYZ")])
    }

    @Test("a bad trade is a problem while its neighbours are kept")
    func partial() {
        let frame = parser.parse(
            #"{"data":[{"p":"x","s":"AAPL","t":1741962600360,"v":13},{"p":212.6,"s":"AAPL","t":1741962600361,"v":1}],"type":"trade"}"#)
        #expect(frame.problems.count == 1)
        #expect(frame.messages.count == 1)
    }

    @Test(
        "malformed input is a problem, never an event",
        arguments: [
            "", "[]", #"[{"type":"ping"}]"#, #"{"data":[]}"#, #"{"type":"trade"}"#, #"{"type":"trade","data":{}}"#,
            #"{"type":"trade","data":[{"p":1,"s":"A","v":1}]}"#, #"{"type":"trade","data":[{"p":-1,"s":"A","v":1,"t":1741962600361}]}"#,
        ])
    func malformed(_ text: String) {
        let frame = parser.parse(text)
        #expect(!frame.problems.isEmpty, "\(frame)")
        #expect(!frame.messages.contains { if case .event = $0 { true } else { false } })
    }

    @Test("error messages: invalid symbol (with or without the symbol), too many symbols, others")
    func errors() {
        let invalid = FinnhubSession.reaction(toError: "Invalid symbol NOTAREALSYM")
        #expect(invalid.issues.map(\.kind) == [.unknownSymbol] && invalid.issues.first?.symbol == "NOTAREALSYM")
        #expect(invalid.end == nil)
        let bare = FinnhubSession.reaction(toError: "Invalid symbol")
        #expect(bare.issues.map(\.kind) == [.unknownSymbol] && bare.issues.first?.symbol == "")
        guard case .fatal(let limit) = FinnhubSession.reaction(toError: "Subscribing to too many symbols").end else {
            Issue.record("too many symbols is not fatal")
            return
        }
        #expect(limit.kind == .symbolLimit && limit.isFatal)
        #expect(FinnhubSession.reaction(toError: "something else").issues.map(\.kind) == [.invalidRequest])
    }

    @Test("the session subscribes every symbol as soon as the socket opens")
    func opened() {
        var session = FinnhubSession(provider: "finnhub", symbols: ["AAPL", "BINANCE:BTCUSDT"], parser: parser)
        let reaction = session.opened()
        #expect(reaction.subscribed)
        #expect(reaction.outgoing == [#"{"type":"subscribe","symbol":"AAPL"}"#, #"{"type":"subscribe","symbol":"BINANCE:BTCUSDT"}"#])
    }
}

@Suite("Finnhub config")
struct FinnhubConfigTests {
    @Test("the token is appended to the URL, percent-encoded; the key and a URL are required")
    func config() throws {
        var config = streamingConfig("finnhub", key: "a b&c")
        let provider = try FinnhubProvider(config: config)
        #expect(provider.baseURL == "wss://ws.finnhub.io")
        config.providerUrl = "ws://127.0.0.1:9/?format=json"
        #expect(try FinnhubProvider(config: config).baseURL == "ws://127.0.0.1:9/?format=json")
        config = streamingConfig("finnhub", key: nil)
        #expect { try FinnhubProvider(config: config) } throws: { ($0 as? ConfigError)?.path == "api_key" }
        config = streamingConfig("finnhub")
        config.providers.finnhub.url = ""
        #expect { try FinnhubProvider(config: config) } throws: { ($0 as? ConfigError)?.path == "providers.finnhub.url" }
    }
}
