import Contracts
import MarketData
import ServiceKit
import TestSupport
import Testing

@Suite("Generic websocket streaming")
struct GenericWebSocketTests {
    /// 2025-03-14T14:30:00Z.
    static let base: Int64 = 1_741_962_600_000_000_000

    func provider(url: String) throws -> GenericWebSocketProvider {
        var config = streamingConfig("websocket", key: nil)
        config.wsUrl = url
        var provider = try GenericWebSocketProvider(config: config)
        provider.options = testOptions()
        return provider
    }

    @Test("subscribes with the tickers, then turns each payload form into a trade; bad ones are reported")
    func session() async throws {
        let transcript = Transcript(steps: [
            .expect(#"{"action":"subscribe","tickers":["AAPL","MSFT"]}"#),
            .send(#"{"ticker":"AAPL","price":212.62,"volume":13,"timestamp":1741962600,"change":2.94,"changePercent":1.4}"#),
            .send(#"[{"ticker":"MSFT","price":386.4,"volume":100,"timestamp":1741962600369},{"ticker":"AAPL","price":"212.64","volume":"100","timestamp":"2025-03-14T10:30:00.5-04:00"}]"#),
            .send(#"{"status":"subscribed","tickers":["AAPL","MSFT"]}"#),
            .send(#"{"ticker":"AAPL","price":"abc","timestamp":1741962600}"#),
            .send(#"{"ticker":"AAPL","price":212.6,"timestamp":"2025-03-14T14:30:00"}"#),
            .send(#"{"symbol":"MSFT","price":386.5,"timestamp":"1741962601.25"}"#),
            .send(#"{"ticker":"MSFT","price":386.6}"#),
            .close(code: 1000),
        ])
        let recorder = SinkRecorder()
        let before = WallClock.nanoseconds()
        let received = try await withFakeServer(replaying: transcript) { server in
            let outcome = try await runOnce(try provider(url: server.url("/feed")), symbols: ["AAPL", "MSFT"], recorder: recorder)
            #expect(outcome.returnedNormally, "\(outcome)")
            return server.received.values
        }
        let after = WallClock.nanoseconds()
        #expect(canonical(received) == canonical(transcript.clientFrames))
        let ticks = recorder.events.values.map(Tick.init)
        #expect(ticks.count == 5)
        #expect(
            Array(ticks.prefix(4)) == [
                Tick(kind: "trade", symbol: "AAPL", values: [212.62, 13], time: Self.base),
                Tick(kind: "trade", symbol: "MSFT", values: [386.4, 100], time: Self.base + 369_000_000),
                Tick(kind: "trade", symbol: "AAPL", values: [212.64, 100], time: Self.base + 500_000_000),
                Tick(kind: "trade", symbol: "MSFT", values: [386.5, 0], time: Self.base + 1_250_000_000),
            ])
        let last = try #require(ticks.last)
        #expect(last.symbol == "MSFT" && last.time >= before && last.time <= after)  // no timestamp: receipt time
        let issues = recorder.issues.values
        #expect(issues.map(\.kind) == [.malformedPayload, .malformedPayload], "\(issues)")
        #expect(issues.allSatisfy { $0.message.contains("websocket") })
        #expect(issues.last?.message.contains("2025-03-14T14:30:00") == true)
        #expect(recorder.connections.count == 1)
        guard case .trade(let trade, _) = recorder.events.values.first else { return }
        #expect(trade.provider == "websocket")
    }

    @Test(
        "timestamps: seconds, milliseconds, microseconds, nanoseconds, numeric text, ISO 8601 with a zone",
        arguments: [
            ("1741962600", base), ("1741962600.25", base + 250_000_000), ("1741962600000", base),
            ("1741962600000123", base + 123_000), ("1741962600000000007", base + 7), (#""1741962600""#, base),
            (#""2025-03-14T14:30:00Z""#, base), (#""2025-03-14 14:30:00.123456789Z""#, base + 123_456_789),
            (#""2025-03-14T16:30:00+02:00""#, base),
        ])
    func timestamps(json: String, expected: Int64) {
        let frame = GenericWebSocketParser().parse(#"{"ticker":"AAPL","price":1,"timestamp":\#(json)}"#, receivedAt: 1)
        #expect(frame.problems.isEmpty, "\(frame)")
        guard case .event(.trade(_, let time)) = frame.messages.first else {
            Issue.record("no trade: \(frame)")
            return
        }
        #expect(time == expected)
    }

    @Test(
        "ambiguous or broken payloads are problems, never trades",
        arguments: [
            #"{"ticker":"AAPL","price":1,"timestamp":"2025-03-14T14:30:00"}"#, #"{"ticker":"AAPL","price":1,"timestamp":-5}"#,
            #"{"ticker":"AAPL","price":1,"timestamp":"yesterday"}"#, #"{"ticker":"AAPL","price":1,"timestamp":true}"#,
            #"{"ticker":"AAPL"}"#, #"{"price":1}"#, #"{"ticker":"","price":1}"#, #"{"ticker":"AAPL","price":1,"volume":-1}"#,
            #"[1,2]"#, "nope",
        ])
    func malformed(_ text: String) {
        let frame = GenericWebSocketParser().parse(text, receivedAt: 1)
        #expect(!frame.problems.isEmpty, "\(frame)")
        #expect(!frame.messages.contains { if case .event = $0 { true } else { false } })
    }

    @Test("the URL is provider_url or ws_url; one of them is required")
    func config() throws {
        var config = streamingConfig("websocket", key: nil)
        #expect { try GenericWebSocketProvider(config: config) } throws: { ($0 as? ConfigError)?.path == "ws_url" }
        config.wsUrl = "wss://feed.example.com/stream"
        #expect(try GenericWebSocketProvider(config: config).url == "wss://feed.example.com/stream")
        config.providerUrl = "ws://127.0.0.1:8765/"
        #expect(try GenericWebSocketProvider(config: config).url == "ws://127.0.0.1:8765/")
        config.providerUrl = ""
        config.wsUrl = "https://feed.example.com"
        #expect { try GenericWebSocketProvider(config: config) } throws: { ($0 as? ConfigError)?.path == "ws_url" }
        let session = GenericWebSocketSession(provider: "websocket", symbols: ["BRK.B", "RDS-A"])
        #expect(session.subscribeMessage == #"{"action":"subscribe","tickers":["BRK.B","RDS-A"]}"#)
    }
}

@Suite("Streaming providers registry")
struct StreamingProvidersTests {
    @Test("each streaming config name makes its provider; other names are not streaming")
    func names() throws {
        #expect(try StreamingProviders.make(config: streamingConfig("polygon")) is PolygonProvider)
        #expect(try StreamingProviders.make(config: streamingConfig("massive"))?.name == "massive")
        #expect(try StreamingProviders.make(config: streamingConfig("alpaca", secret: "S")) is AlpacaProvider)
        #expect(try StreamingProviders.make(config: streamingConfig("finnhub")) is FinnhubProvider)
        var generic = streamingConfig("websocket")
        generic.wsUrl = "ws://127.0.0.1:1/"
        #expect(try StreamingProviders.make(config: generic) is GenericWebSocketProvider)
        #expect(try StreamingProviders.make(config: streamingConfig("simulated")) == nil)
        #expect(StreamingProviders.names.sorted() == ["alpaca", "finnhub", "massive", "polygon", "websocket"])
    }
}
