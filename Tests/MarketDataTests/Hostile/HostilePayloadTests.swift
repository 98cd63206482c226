import Contracts
import Foundation
import MarketData
import ServiceKit
import TestSupport
import Testing

/// Provider payloads built to break the parsers: times out of range, numbers no market has,
/// wrong types, deep nesting, huge frames. Each bad message is dropped and counted by reason;
/// its good neighbours still come through; nothing traps.
@Suite("Hostile provider payloads")
struct HostilePayloadTests {
    /// 2024-03-14T15:42:00.123Z in Unix milliseconds.
    static let ms: Int64 = 1_710_430_920_123

    static func reasons(_ problems: [FrameProblem]) -> [ProviderRejectReason: Int] {
        problems.reduce(into: [:]) { $0[$1.reason, default: 0] += 1 }
    }

    static func trades<M>(_ messages: [M], _ event: (M) -> MarketEvent?) -> [(Trade, Int64)] {
        messages.compactMap { message in
            if case .trade(let trade, let time) = event(message) { return (trade, time) }
            return nil
        }
    }

    @Test("Polygon: out-of-range times, prices and sizes, bad symbols and wrong types are rejected one by one")
    func polygonElements() {
        let valid = #"{"ev":"T","sym":"AAPL","p":189.5,"s":100,"t":\#(Self.ms),"i":"1","x":4}"#
        let frame = "[" + [
            valid,
            #"{"ev":"T","sym":"AAPL","p":189.5,"s":100,"t":9223372036854775807}"#,
            #"{"ev":"T","sym":"AAPL","p":189.5,"s":100,"t":1e30}"#,
            #"{"ev":"T","sym":"AAPL","p":1e10,"s":100,"t":\#(Self.ms)}"#,
            #"{"ev":"T","sym":"AAPL","p":-3,"s":100,"t":\#(Self.ms)}"#,
            #"{"ev":"Q","sym":"AAPL","bp":189,"ap":190,"bs":1e13,"as":1,"t":\#(Self.ms)}"#,
            #"{"ev":"T","sym":"AA PL","p":1,"s":1,"t":\#(Self.ms)}"#,
            #"{"ev":"T","sym":["AAPL"],"p":"cheap","s":{},"t":"now"}"#,
            #"{"ev":"AM","sym":"AAPL","o":1,"h":2,"l":1,"c":2,"v":1,"s":9223372036854775,"e":9223372036854776}"#,
            #"{"ev":"AM","sym":"AAPL","o":1,"h":2,"l":1,"c":2,"v":1,"vw":1e300,"s":\#(Self.ms),"#
                + #""e":\#(Self.ms + 60_000)}"#,
            "7",
            valid.replacingOccurrences(of: #""i":"1""#, with: #""i":"2""#),
        ].joined(separator: ",") + "]"
        let parsed = PolygonParser().parse(frame)
        let trades = Self.trades(parsed.messages) { if case .event(let event) = $0 { event } else { nil } }
        #expect(trades.map(\.0.tradeID) == ["1", "2"])
        #expect(trades.allSatisfy { $0.1 == Self.ms * 1_000_000 })
        #expect(
            Self.reasons(parsed.problems)
                == [.timeRange: 3, .priceRange: 3, .sizeRange: 1, .invalidSymbol: 1, .malformed: 2],
            "\(parsed.problems)")
    }

    @Test("Alpaca: a bar at the end of the nanosecond range, years outside 1900–2200, negative counts are rejected")
    func alpacaTimes() {
        func bar(_ time: String, count: Int = 10) -> String {
            #"{"T":"b","S":"AAPL","o":1,"h":2,"l":1,"c":2,"v":100,"n":\#(count),"vw":1.5,"t":"\#(time)"}"#
        }
        let frame = "[" + [
            bar("2024-03-14T15:42:00Z"),
            bar("2262-04-11T23:47:00Z"),  // the old code added a minute to this and trapped
            bar("2263-01-01T00:00:00Z"),
            bar("1600-01-01T00:00:00Z"),
            bar("9999-12-31T23:59:59.999999999+14:00"),
            bar("2024-03-14T15:43:00Z", count: -1),
            bar("2024-13-14T15:43:00Z"),
            #"{"T":"t","S":"AAPL","p":189.5,"s":1e300,"t":"2024-03-14T15:42:00Z","i":7}"#,
            bar("2024-03-14T15:44:00Z"),
        ].joined(separator: ",") + "]"
        let parsed = AlpacaParser().parse(frame)
        let starts = parsed.messages.compactMap { message -> Int64? in
            if case .event(.bar(let bar)) = message { return bar.startTimeNs }
            return nil
        }
        #expect(starts == [1_710_430_920, 1_710_431_040].map { $0 * 1_000_000_000 })
        #expect(
            Self.reasons(parsed.problems) == [.timeRange: 4, .sizeRange: 2, .malformed: 1], "\(parsed.problems)")
    }

    @Test("generic WebSocket: a timestamp of 9223372036.9 s and other impossible values are rejected, not trapped on")
    func genericTimestamps() {
        let parser = GenericWebSocketParser()
        let frame = "[" + [
            #"{"ticker":"AAPL","price":212.5,"timestamp":9223372036.9}"#,  // trapped before
            #"{"ticker":"AAPL","price":212.5,"timestamp":9.2e18}"#,
            #"{"ticker":"AAPL","price":212.5,"timestamp":1e300}"#,
            #"{"ticker":"AAPL","price":212.5,"timestamp":"9999-12-31T23:59:59Z"}"#,
            #"{"ticker":"AAPL","price":212.5,"timestamp":7258118400}"#,  // 2200-01-01
            #"{"ticker":"AAPL","price":"nan","timestamp":1741962600}"#,
            #"{"ticker":"AAPL","price":"1e400","timestamp":1741962600}"#,
            #"{"ticker":"AAPL","price":212.5,"volume":1e20,"timestamp":1741962600}"#,
            #"{"ticker":"AAPL","price":212.5,"timestamp":{"nested":[[[]]]}}"#,
            #"{"ticker":"AAPL","price":212.6,"volume":5,"timestamp":1741962600}"#,
        ].joined(separator: ",") + "]"
        let parsed = parser.parse(frame, receivedAt: 0)
        let trades = Self.trades(parsed.messages) { if case .event(let event) = $0 { event } else { nil } }
        #expect(trades.map(\.0.price) == [212.6])
        #expect(trades.map(\.1) == [1_741_962_600_000_000_000])
        #expect(
            Self.reasons(parsed.problems) == [.timeRange: 5, .priceRange: 2, .sizeRange: 1, .malformed: 1],
            "\(parsed.problems)")
        #expect(ProviderTime.nanoseconds(epoch: 9_223_372_036.9) == nil)
        #expect(ProviderTime.nanoseconds(epoch: 9_223_372_036.8) != nil)
        #expect(ProviderTime.nanoseconds(epoch: 1_741_962_600.5) == 1_741_962_600_500_000_000)
    }

    @Test("Finnhub: bad trades in a data array are rejected one by one")
    func finnhubTrades() {
        let frame = #"{"type":"trade","data":["#
            + [
                #"{"s":"AAPL","p":189.5,"v":10,"t":\#(Self.ms)}"#,
                #"{"s":"AAPL","p":189.5,"v":10,"t":9223372036854775807}"#,
                #"{"s":"AAPL","p":1e12,"v":10,"t":\#(Self.ms)}"#,
                #"{"s":"AAPL","p":189.5,"v":-1,"t":\#(Self.ms)}"#,
                #"{"s":"","p":189.5,"v":1,"t":\#(Self.ms)}"#,
                #"{"s":"MSFT","p":410.25,"v":3,"t":\#(Self.ms)}"#,
            ].joined(separator: ",") + "]}"
        let parsed = FinnhubParser().parse(frame)
        let trades = Self.trades(parsed.messages) { if case .event(let event) = $0 { event } else { nil } }
        #expect(trades.map(\.0.symbol) == ["AAPL", "MSFT"])
        #expect(
            Self.reasons(parsed.problems) == [.timeRange: 1, .priceRange: 1, .sizeRange: 1, .malformed: 1],
            "\(parsed.problems)")
    }

    @Test("deeply nested JSON, wrong top-level types and binary-looking text are problems, never a crash")
    func nesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let deepObject = String(repeating: #"{"a":"#, count: 50_000) + "1" + String(repeating: "}", count: 50_000)
        let nestedElement = #"[{"ev":"T","sym":"AAPL","p":1,"s":1,"t":1,"c":"# + String(repeating: "[", count: 5_000)
            + String(repeating: "]", count: 5_000) + "}]"
        let others = ["null", "\"text\"", "123", "", "\u{0}\u{1}\u{FFFD}garbage", "[1,2,3]"]
        for text in [deep, deepObject, nestedElement] + others {
            #expect(!PolygonParser().parse(text).problems.isEmpty)
            #expect(!AlpacaParser().parse(text).problems.isEmpty)
            #expect(!FinnhubParser().parse(text).problems.isEmpty)
            #expect(GenericWebSocketParser().parse(text, receivedAt: 0).messages.allSatisfy { $0 == .ignored })
        }
    }

    @Test("a frame of 5,000 bad elements gives one short issue, every rejection counted, and its good element")
    func hugeFrame() {
        let bad = #"{"ev":"T","sym":"AAPL","p":1e10,"s":100,"t":\#(Self.ms)}"#
        let good = #"{"ev":"T","sym":"AAPL","p":189.5,"s":100,"t":\#(Self.ms),"i":"ok"}"#
        let frame = "[" + Array(repeating: bad, count: 5_000).joined(separator: ",") + "," + good + "]"
        var session = PolygonSession(provider: "polygon", apiKey: "k", topics: ["T.AAPL"], parser: PolygonParser())
        let reaction = session.received(frame)
        #expect(reaction.events.count == 1)
        #expect(reaction.rejected == [.priceRange: 5_000])
        #expect(reaction.issues.count == 1)
        let message = reaction.issues.first?.message ?? ""
        #expect(message.count < 1_000, "\(message.count) characters")
        #expect(message.contains("and 4997 more"))
    }

    @Test("Alpha Vantage: prices and volumes out of range, and deeply nested bodies, are malformed responses")
    func alphaVantageBodies() {
        func quote(price: String, volume: String = "100") -> HTTPResponse {
            let body =
                #"{"Global Quote": {"01. symbol": "AAPL", "05. price": "\#(price)", "06. volume": "\#(volume)"}}"#
            return HTTPResponse(status: 200, body: Array(body.utf8))
        }
        func parse(_ response: HTTPResponse) -> Result<AlphaVantage.Quote, ProviderIssue> {
            AlphaVantage.parseQuote(response, symbol: "AAPL", apiKey: "k")
        }
        #expect((try? parse(quote(price: "189.50")).get())?.price == 189.5)
        for response in [
            quote(price: "1e10"), quote(price: "nan"), quote(price: "inf"), quote(price: "-1"),
            quote(price: "189.5", volume: "1e20"), quote(price: "189.5", volume: "-5"),
            HTTPResponse(status: 200, body: Array((String(repeating: #"{"a":"#, count: 50_000) + "1").utf8)),
            HTTPResponse(status: 200, body: Array(String(repeating: "[", count: 100_000).utf8)),
        ] {
            guard case .failure(let issue) = parse(response) else {
                Issue.record("accepted \(String(decoding: response.body.prefix(80), as: UTF8.self))")
                continue
            }
            #expect(issue.kind == .malformedPayload)
        }
        let bar = #"{"1. open": "1", "2. high": "2e10", "3. low": "1", "4. close": "2", "5. volume": "100"}"#
        let series = #"{"Meta Data": {"2. Symbol": "AAPL", "6. Time Zone": "US/Eastern"}, "#
            + #""Time Series (1min)": {"2024-03-14 09:30:00": \#(bar)}}"#
        let response = HTTPResponse(status: 200, body: Array(series.utf8))
        let result = AlphaVantage.parseSeries(response, symbol: "AAPL", apiKey: "k")
        guard case .failure(let issue) = result else {
            Issue.record("accepted a bar with a high of 2e10")
            return
        }
        #expect(issue.kind == .malformedPayload)
    }

    @Test("an issue quoting a frame shows it on one line, however it is broken into lines")
    func excerptOnOneLine() {
        var session = FinnhubSession(provider: "finnhub", symbols: ["AAPL"], parser: FinnhubParser())
        let reaction = session.received("{\"type\":\r\n\u{0}\"trade\"\n" + String(repeating: "x", count: 5_000))
        let message = reaction.issues.first?.message ?? ""
        #expect(!message.contains("\n") && !message.contains("\r") && !message.contains("\u{0}"))
        #expect(message.count < 400)
    }
}

/// Streams a provider's real session transcript with hostile frames mixed in, through the real
/// WebSocket client, and checks that every valid message still arrives.
@Suite("Hostile frames in a live session")
struct HostileSessionTests {
    static let fixtureSubscribe = #"{"action":"subscribe","params":"T.AAPL,Q.AAPL,A.AAPL,AM.AAPL,T.MSFT,Q.MSFT"}"#
    static let ourSubscribe =
        #"{"action":"subscribe","params":"T.AAPL,Q.AAPL,A.AAPL,AM.AAPL,T.MSFT,Q.MSFT,A.MSFT,AM.MSFT"}"#

    /// Polygon's session transcript as is, and with `hostile` frames sent after every 10th data frame.
    static func polygonTranscripts(hostile: [String]) throws -> (clean: Transcript, hostile: Transcript) {
        try polygonTranscripts(hostileSteps: hostile.map { .send($0) })
    }

    static func polygonTranscripts(
        hostileSteps hostile: [Transcript.Step]
    ) throws -> (clean: Transcript, hostile: Transcript) {
        let base = try Transcript.load("polygon", "session_transcript.jsonl")
            .removingClientFrames { $0.contains("unsubscribe") }
            .replacingClientFrame(fixtureSubscribe, with: ourSubscribe)
        var steps: [Transcript.Step] = []
        var dataFrames = 0
        var next = 0
        for step in base.steps {
            steps.append(step)
            guard case .send(let text) = step, text.contains(#""ev":"T""#) || text.contains(#""ev":"Q""#) else {
                continue
            }
            dataFrames += 1
            if dataFrames % 10 == 0 && next < hostile.count {
                steps.append(hostile[next])
                next += 1
            }
        }
        return (base.appending(.close(code: 1000)), Transcript(steps: steps + [.close(code: 1000)]))
    }

    @Test("Polygon's transcript with hostile frames: all 129 events arrive, each bad message is counted by reason")
    func polygon() async throws {
        let ms = HostilePayloadTests.ms
        let hostile = [
            #"[{"ev":"T","sym":"AAPL","p":189.5,"s":100,"t":9223372036854775807}]"#,
            #"[{"ev":"T","sym":"AAPL","p":1e10,"s":100,"t":\#(ms)},"#
                + #"{"ev":"Q","sym":"MSFT","bp":1,"ap":2,"bs":-1,"as":1,"t":\#(ms)}]"#,
            String(repeating: "[", count: 60_000),
            "not json at all",
            #"{"ev":["#,
            #"[{"ev":"T","sym":"AA PL","p":1,"s":1,"t":\#(ms)}, 17, null]"#,
        ]
        let (clean, transcript) = try Self.polygonTranscripts(hostile: hostile)
        #expect(transcript.serverFrames.count == clean.serverFrames.count + hostile.count)
        let expected = try PolygonStreamingTests.expectedTicks(clean)
        #expect(expected.count == 129)
        let recorder = SinkRecorder()
        try await withFakeServer(replaying: transcript) { server in
            var config = streamingConfig("polygon", url: server.url("/stocks"), key: PolygonStreamingTests.key)
            config.providers.polygon.channels = ["T", "Q", "A", "AM"]
            var provider = try PolygonProvider(config: config)
            provider.options = testOptions()
            let outcome = try await runOnce(provider, symbols: ["AAPL", "MSFT"], recorder: recorder)
            #expect(outcome.returnedNormally, "\(outcome)")
        }
        #expect(recorder.events.values.map(Tick.init) == expected)
        #expect(
            recorder.rejected == [.timeRange: 1, .priceRange: 1, .sizeRange: 1, .malformed: 5, .invalidSymbol: 1],
            "\(recorder.rejected)")
        #expect(recorder.issues.values.allSatisfy { $0.kind == .malformedPayload })
        #expect(recorder.issues.count == hostile.count)
    }

    @Test("a message above max_message_bytes, in frames within it, is dropped and counted; the session carries on")
    func oversizedMessage() async throws {
        let big = "[" + String(repeating: " ", count: 200_000) + "]"
        let (clean, transcript) = try Self.polygonTranscripts(
            hostileSteps: [.sendFragmented(big), .sendFragmented(big)])
        let expected = try PolygonStreamingTests.expectedTicks(clean)
        let recorder = SinkRecorder()
        try await withFakeServer(replaying: transcript) { server in
            var config = streamingConfig("polygon", url: server.url("/stocks"), key: PolygonStreamingTests.key)
            config.providers.polygon.channels = ["T", "Q", "A", "AM"]
            config.ingestor.maxMessageBytes = 64 * 1_024
            var provider = try PolygonProvider(config: config)
            #expect(provider.options.maxMessageSize == 64 * 1_024)
            provider.options = testOptions()
            provider.options.maxMessageSize = 64 * 1_024
            let outcome = try await runOnce(provider, symbols: ["AAPL", "MSFT"], recorder: recorder)
            #expect(outcome.returnedNormally, "\(outcome)")
        }
        #expect(recorder.events.values.map(Tick.init) == expected)
        #expect(recorder.rejected == [.frameTooLarge: 2], "\(recorder.rejected)")
        #expect(
            recorder.issues.values.allSatisfy { $0.message.contains("max_message_bytes") }, "\(recorder.issues.values)")
    }

    @Test("a single frame above max_message_bytes closes the connection (the ingestor reconnects); nothing is kept")
    func oversizedFrame() async throws {
        let big = "[" + String(repeating: " ", count: 200_000) + "]"
        let (clean, transcript) = try Self.polygonTranscripts(hostile: [big])
        let expected = try PolygonStreamingTests.expectedTicks(clean)
        let recorder = SinkRecorder()
        try await withFakeServer(replaying: transcript) { server in
            var config = streamingConfig("polygon", url: server.url("/stocks"), key: PolygonStreamingTests.key)
            config.providers.polygon.channels = ["T", "Q", "A", "AM"]
            var provider = try PolygonProvider(config: config)
            provider.options = testOptions()
            provider.options.maxMessageSize = 64 * 1_024
            let outcome = try await runOnce(provider, symbols: ["AAPL", "MSFT"], recorder: recorder)
            #expect(outcome.returnedNormally, "\(outcome)")
        }
        let received = recorder.events.values.map(Tick.init)
        #expect(!received.isEmpty && received.count < expected.count)
        #expect(received == Array(expected.prefix(received.count)))
        #expect(recorder.issueKinds == [.disconnected], "\(recorder.issues.values)")
    }

    @Test("the frame size limit defaults to 1 MiB")
    func defaultLimit() throws {
        let provider = try PolygonProvider(config: streamingConfig("polygon", url: "ws://127.0.0.1:1/stocks"))
        #expect(provider.options.maxMessageSize == 1 << 20)
        #expect(StreamingOptions().maxMessageSize == 1 << 20)
    }
}
