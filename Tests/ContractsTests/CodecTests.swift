import Bus
import Contracts
import Testing
import TestSupport

/// Every payload kind with its topic, fully populated.
enum PayloadCase: String, CaseIterable, Sendable {
    case trade, quote, bar, features, signal, session, alert, status

    var topic: Topic {
        get throws {
            switch self {
            case .trade, .quote: try Topic.tick("BRK.B")
            case .bar: try Topic.bar("AAPL")
            case .features: try Topic.features("AAPL")
            case .signal: try Topic.signal("RDS-A")
            case .session: Topic.marketSession
            case .alert: Topic.alert(.critical)
            case .status: try Topic.status("ingestor")
            }
        }
    }

    var payload: Envelope.OneOf_Payload {
        switch self {
        case .trade:
            var trade = Trade()
            trade.symbol = "BRK.B"
            trade.price = 412.37
            trade.size = 12.5
            trade.exchange = "XNYS"
            trade.tradeID = "t-1"
            trade.conditions = ["@", "F"]
            trade.provider = "polygon"
            return .trade(trade)
        case .quote:
            var quote = Quote()
            quote.symbol = "BRK.B"
            quote.bidPrice = 412.30
            quote.bidSize = 300
            quote.askPrice = 412.40
            quote.askSize = 200
            quote.bidExchange = "ARCX"
            quote.askExchange = "XNAS"
            quote.provider = "polygon"
            return .quote(quote)
        case .bar:
            var bar = Bar()
            bar.symbol = "AAPL"
            bar.startTimeNs = Fixtures.time
            bar.endTimeNs = Fixtures.time + 60_000_000_000
            bar.open = 190
            bar.high = 191.5
            bar.low = 189.25
            bar.close = 191
            bar.volume = 123_456
            bar.vwap = 190.4
            bar.tradeCount = 987
            bar.origin = .built
            bar.provider = "simulated"
            return .bar(bar)
        case .features:
            var features = FeatureVector()
            features.symbol = "AAPL"
            features.featureSet = "default"
            features.featureSetVersion = 3
            features.names = ["rsi_14", "sma_20"]
            features.values = [55.5, 190.25]
            features.barEndTimeNs = Fixtures.time
            features.close = 191
            return .features(features)
        case .signal:
            var vote = ModelVote()
            vote.model = "xgboost"
            vote.action = .buy
            vote.probability = 0.8
            vote.weight = 0.5
            var signal = Signal()
            signal.symbol = "RDS-A"
            signal.action = .buy
            signal.confidence = 0.75
            signal.price = 70.1
            signal.suggestedPositionSize = 0.1
            signal.ensembleMethod = "dynamic_ensemble"
            signal.votes = [vote]
            signal.modelVersion = "2024-01"
            signal.horizonSeconds = 3_600
            return .signal(signal)
        case .session:
            var session = MarketSession()
            session.exchange = "XNYS"
            session.phase = .regular
            session.nextPhase = .postMarket
            session.nextChangeNs = Fixtures.time
            session.timezone = "America/New_York"
            session.tradingDay = "2023-11-14"
            session.earlyClose = true
            session.holiday = ""
            return .session(session)
        case .alert:
            var alert = Alert()
            alert.severity = .critical
            alert.category = "provider.auth_failed"
            alert.title = "Provider rejected the key"
            alert.message = "HTTP 401"
            alert.service = "ingestor"
            alert.symbol = ""
            alert.details = ["provider": "polygon", "status": "401"]
            alert.dedupKey = "provider.auth_failed:polygon"
            return .alert(alert)
        case .status:
            var status = ServiceStatus()
            status.service = "ingestor"
            status.instance = "simulated-1"
            status.state = .running
            status.uptimeSeconds = 12.5
            status.messagesIn = 1
            status.messagesOut = 2
            status.sequenceGaps = 3
            status.errors = 4
            status.counters = ["provider.trades": 10]
            status.version = "1.0.0"
            status.intervalSeconds = 5
            return .status(status)
        }
    }
}

@Suite("Codec")
struct CodecTests {
    let aapl = Array("tick.AAPL\0".utf8)

    func raw(_ envelope: Envelope, topic: [UInt8]? = nil, frames: Int = 2) throws -> RawMessage {
        RawMessage(topic: topic ?? aapl, payload: try Codec.encode(envelope), frameCount: frames)
    }

    @Test("every payload kind survives encode → decode on its topic", arguments: PayloadCase.allCases)
    func roundTrip(kind: PayloadCase) throws {
        let topic = try kind.topic
        let envelope = Fixtures.envelope(kind.payload, sequence: 42)
        let message = RawMessage(topic: topic.wire, payload: try Codec.encode(envelope))
        let delivery = try Codec.decode(message)
        #expect(delivery.topic == topic)
        #expect(delivery.envelope == envelope)
        #expect(delivery.envelope.payload?.name == kind.rawValue)
        #expect(delivery.envelope.payload?.topicKind == topic.kind)
        #expect(delivery.stream.service == "test")
        #expect(delivery.stream.instance == "1")
        #expect(delivery.stream.startedAt == Fixtures.time)
        #expect(delivery.stream.topic == topic)
    }

    @Test("a message that is not two frames is wrongFrameCount, counted as frames")
    func wrongFrameCount() throws {
        let envelope = Fixtures.envelope(Fixtures.trade("AAPL"), sequence: 1)
        for frames in [1, 3, 4] {
            let error = try #require(throws: DecodeError.self) { try Codec.decode(try raw(envelope, frames: frames)) }
            #expect(error == .wrongFrameCount(frames))
            #expect(error.reason == .frames)
        }
        #expect(DecodeError.wrongFrameCount(1).description == "message has 1 frame(s), expected 2 (topic, envelope)")
    }

    @Test("a bad topic frame is badTopic with the topic error, counted as topic")
    func badTopic() throws {
        let envelope = Fixtures.envelope(Fixtures.trade("AAPL"), sequence: 1)
        let noTerminator = try #require(throws: DecodeError.self) {
            try Codec.decode(try raw(envelope, topic: Array("tick.AAPL".utf8)))
        }
        #expect(noTerminator == .badTopic(.missingTerminator("tick.AAPL")))
        #expect(noTerminator.reason == .topic)
        #expect(throws: DecodeError.badTopic(.unknownKind("tock"))) {
            try Codec.decode(try raw(envelope, topic: Array("tock.AAPL\0".utf8)))
        }
        #expect(throws: DecodeError.badTopic(.invalidCharacter("AA PL"))) {
            try Codec.decode(try raw(envelope, topic: Array("tick.AA PL\0".utf8)))
        }
    }

    @Test("bytes that are not an Envelope are undecodable, counted as payload")
    func undecodable() throws {
        // Field 2 (producer) claims 5 bytes but only 1 follows.
        let message = RawMessage(topic: aapl, payload: [0x12, 0x05, 0x01])
        let error = try #require(throws: DecodeError.self) { try Codec.decode(message) }
        guard case .undecodable(let detail) = error else {
            Issue.record("expected .undecodable, got \(error)")
            return
        }
        #expect(detail.hasPrefix("topic tick.AAPL: 3-byte payload is not an Envelope"))
        #expect(error.reason == .undecodable)
    }

    @Test("any schema version but 1 is unknownSchemaVersion, counted as version")
    func unknownSchemaVersion() throws {
        let v2 = Fixtures.envelope(Fixtures.trade("AAPL"), sequence: 1, schemaVersion: 2)
        let error = try #require(throws: DecodeError.self) { try Codec.decode(try raw(v2)) }
        #expect(error == .unknownSchemaVersion(2, topic: "tick.AAPL"))
        #expect(error.reason == .version)
        #expect(error.description == "unknown schema version 2 on tick.AAPL (this build reads 1)")
        // An empty payload decodes as an all-default envelope: version 0.
        #expect(throws: DecodeError.unknownSchemaVersion(0, topic: "tick.AAPL")) {
            try Codec.decode(RawMessage(topic: self.aapl, payload: []))
        }
    }

    @Test("an envelope without a payload is missingPayload, counted as payload")
    func missingPayload() throws {
        let empty = Fixtures.envelope(nil, sequence: 1)
        let error = try #require(throws: DecodeError.self) { try Codec.decode(try raw(empty)) }
        #expect(error == .missingPayload(topic: "tick.AAPL"))
        #expect(error.reason == .undecodable)
    }

    @Test("a payload on another kind's topic is kindMismatch, counted as payload")
    func kindMismatch() throws {
        let bar = Fixtures.envelope(PayloadCase.bar.payload, sequence: 1)
        let error = try #require(throws: DecodeError.self) { try Codec.decode(try raw(bar)) }
        #expect(error == .kindMismatch(topic: "tick.AAPL", payload: "bar"))
        #expect(error.reason == .undecodable)
        #expect(error.description == "topic tick.AAPL carries a bar payload")
        let trade = Fixtures.envelope(Fixtures.trade("AAPL"), sequence: 1)
        #expect(throws: DecodeError.kindMismatch(topic: "status.ingestor", payload: "trade")) {
            try Codec.decode(try self.raw(trade, topic: Array("status.ingestor\0".utf8)))
        }
    }
}
