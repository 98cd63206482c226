import Bus
import Contracts
import TestSupport
import Testing
import Timekeeping

/// Messages as the validator sees them, a valid one of each kind and the ways a sender can
/// spoil it.
enum ValidMessages {
    static let now = Fixtures.time

    static func delivery(_ topic: Topic, _ payload: Envelope.OneOf_Payload, eventTime: Int64 = now) -> Delivery {
        var envelope = Fixtures.envelope(payload, sequence: 7)
        envelope.eventTimeNs = eventTime
        return Delivery(topic: topic, envelope: envelope)
    }

    static var trade: Trade {
        var trade = Trade()
        trade.symbol = "BRK.B"
        trade.price = 412.37
        trade.size = 12.5
        trade.conditions = ["@"]
        return trade
    }

    static var bar: Bar {
        var bar = Bar()
        bar.symbol = "AAPL"
        bar.startTimeNs = now - 60 * Nanoseconds.perSecond
        bar.endTimeNs = now
        bar.open = 190
        bar.high = 191.5
        bar.low = 189.25
        bar.close = 191
        bar.volume = 1_000
        bar.origin = .built
        return bar
    }

    static var features: FeatureVector {
        var features = FeatureVector()
        features.symbol = "AAPL"
        features.featureSet = "default"
        features.featureSetVersion = 1
        features.names = ["rsi_14", "sma_ratio_20"]
        features.values = [55.5, -0.01]
        features.schemaHash = FeatureSchemaHash.of(set: "default", version: 1, names: features.names)
        features.barEndTimeNs = now
        features.close = 191
        return features
    }

    static var signal: Signal {
        var signal = Signal()
        signal.symbol = "AAPL"
        signal.action = .buy
        signal.confidence = 0.72
        signal.price = 191
        signal.suggestedPositionSize = 0.1
        signal.id = "AAPL-1-BUY"
        var vote = ModelVote()
        vote.model = "rf"
        vote.action = .buy
        vote.probability = 0.7
        vote.weight = 1
        vote.probabilityUp = 0.7
        vote.probabilityFlat = 0.2
        vote.probabilityDown = 0.1
        signal.votes = [vote]
        signal.barEndTimeNs = now
        return signal
    }

    static var status: ServiceStatus {
        var status = ServiceStatus()
        status.service = "ingestor"
        status.state = .running
        status.uptimeSeconds = 12
        status.intervalSeconds = 5
        status.counters = ["bus.sent": 3]
        return status
    }

    static var alert: Alert {
        var alert = Alert()
        alert.severity = .error
        alert.category = "provider.auth_failed"
        alert.title = "refused"
        alert.message = "the key was refused"
        return alert
    }

    static var session: MarketSession {
        var session = MarketSession()
        session.phase = .regular
        session.nextPhase = .postMarket
        session.nextChangeNs = now + Nanoseconds.perHour
        session.clockNs = now
        session.clockSpeed = 60
        return session
    }
}

@Suite("EnvelopeValidator: every decoded message is checked once, at the boundary")
struct EnvelopeValidatorTests {
    let now = ValidMessages.now

    func reason(_ delivery: Delivery, limits: EnvelopeLimits = .init()) -> RejectReason? {
        var validator = EnvelopeValidator(limits: limits)
        return validator.check(delivery, now: now)?.reason
    }

    @Test("a valid message of every kind passes")
    func validPass() throws {
        let deliveries = [
            ValidMessages.delivery(try .tick("BRK.B"), .trade(ValidMessages.trade)),
            ValidMessages.delivery(try .bar("AAPL"), .bar(ValidMessages.bar)),
            ValidMessages.delivery(try .features("AAPL"), .features(ValidMessages.features)),
            ValidMessages.delivery(try .signal("AAPL"), .signal(ValidMessages.signal)),
            ValidMessages.delivery(try .status("ingestor"), .status(ValidMessages.status)),
            ValidMessages.delivery(.alert(.error), .alert(ValidMessages.alert)),
            ValidMessages.delivery(.marketSession, .session(ValidMessages.session)),
        ]
        for delivery in deliveries {
            var validator = EnvelopeValidator()
            #expect(validator.check(delivery, now: now) == nil, "\(delivery.topic)")
        }
    }

    @Test("event times far in the past or future, Int64.max and .min are time_range")
    func eventTimes() throws {
        let topic = try Topic.tick("BRK.B")
        for time in [Int64.max, .min, 0, -1, now + 2 * Nanoseconds.perHour, now - 21 * 365 * Nanoseconds.perDay] {
            #expect(reason(ValidMessages.delivery(topic, .trade(ValidMessages.trade), eventTime: time)) == .timeRange)
        }
        #expect(reason(ValidMessages.delivery(topic, .trade(ValidMessages.trade), eventTime: now - Nanoseconds.perDay)) == nil)
        // Replay widens the past.
        var replay = EnvelopeLimits()
        replay.eventTime.maxPast = nil
        let old = ValidMessages.delivery(topic, .trade(ValidMessages.trade), eventTime: now - 40 * 365 * Nanoseconds.perDay)
        #expect(reason(old, limits: replay) == nil)
    }

    @Test("publish time Int64.min or ahead of the clock, and sequence 0, are refused")
    func header() throws {
        let topic = try Topic.tick("BRK.B")
        var delivery = ValidMessages.delivery(topic, .trade(ValidMessages.trade))
        delivery.publishTimeNs = .min
        #expect(reason(delivery) == .timeRange)
        delivery.publishTimeNs = now + Nanoseconds.perHour
        #expect(reason(delivery) == .timeRange)
        delivery = ValidMessages.delivery(topic, .trade(ValidMessages.trade))
        delivery.sequence = 0
        #expect(reason(delivery) == .sequence)
        delivery = ValidMessages.delivery(topic, .trade(ValidMessages.trade))
        delivery.producer.service = ""
        #expect(reason(delivery) == .producer)
        delivery.producer.service = String(repeating: "x", count: 10_000)
        #expect(reason(delivery) == .producer)
    }

    @Test("NaN, infinities, 1e308 and negative sizes are number")
    func numbers() throws {
        let topic = try Topic.tick("BRK.B")
        for (price, size) in [(Double.nan, 1.0), (.infinity, 1), (1e308, 1), (100, -1), (100, .nan), (100, 1e300)] {
            var trade = ValidMessages.trade
            trade.price = price
            trade.size = size
            #expect(reason(ValidMessages.delivery(topic, .trade(trade))) == .number, "\(price) \(size)")
        }
        var trade = ValidMessages.trade
        trade.price = -37.63  // prices through zero (oil futures, spreads) are real
        #expect(reason(ValidMessages.delivery(topic, .trade(trade))) == nil)

        var status = ValidMessages.status
        status.intervalSeconds = .nan
        #expect(reason(ValidMessages.delivery(try .status("ingestor"), .status(status))) == .number)
        var signal = ValidMessages.signal
        signal.confidence = 1.5
        #expect(reason(ValidMessages.delivery(try .signal("AAPL"), .signal(signal))) == .number)
        signal = ValidMessages.signal
        signal.votes[0].probability = .nan
        #expect(reason(ValidMessages.delivery(try .signal("AAPL"), .signal(signal))) == .number)
        var bar = ValidMessages.bar
        bar.high = 100
        bar.low = 200
        #expect(reason(ValidMessages.delivery(try .bar("AAPL"), .bar(bar))) == .number)
        bar = ValidMessages.bar
        bar.endTimeNs = bar.startTimeNs
        #expect(reason(ValidMessages.delivery(try .bar("AAPL"), .bar(bar))) == .timeRange)
        var session = ValidMessages.session
        session.nextChangeNs = .max
        #expect(reason(ValidMessages.delivery(.marketSession, .session(session))) == .timeRange)
    }

    @Test("the payload's symbol or name must be the topic's key")
    func symbols() throws {
        #expect(reason(ValidMessages.delivery(try .tick("AAPL"), .trade(ValidMessages.trade))) == .symbol)
        #expect(reason(ValidMessages.delivery(try .status("notifier"), .status(ValidMessages.status))) == .symbol)
        #expect(reason(ValidMessages.delivery(.alert(.critical), .alert(ValidMessages.alert))) == .symbol)
        var timer = TimerEvent()
        timer.name = "end_of_day"
        #expect(reason(ValidMessages.delivery(try .timer("status_report"), .timer(timer))) == .symbol)
        #expect(reason(ValidMessages.delivery(try .timer("end_of_day"), .timer(timer))) == nil)
    }

    @Test("unknown enum values are enum")
    func enums() throws {
        var signal = ValidMessages.signal
        signal.action = .UNRECOGNIZED(42)
        #expect(reason(ValidMessages.delivery(try .signal("AAPL"), .signal(signal))) == .enumValue)
        signal.action = .unspecified
        #expect(reason(ValidMessages.delivery(try .signal("AAPL"), .signal(signal))) == .enumValue)
        var alert = ValidMessages.alert
        alert.severity = .UNRECOGNIZED(9)
        #expect(reason(ValidMessages.delivery(.alert(.error), .alert(alert))) == .enumValue)
        var session = ValidMessages.session
        session.phase = .UNRECOGNIZED(-1)
        #expect(reason(ValidMessages.delivery(.marketSession, .session(session))) == .enumValue)
        var bar = ValidMessages.bar
        bar.origin = .UNRECOGNIZED(77)
        #expect(reason(ValidMessages.delivery(try .bar("AAPL"), .bar(bar))) == .enumValue)
    }

    @Test("a feature vector with no values, fewer values than names, or another schema's hash is feature_length")
    func featureVectors() throws {
        let topic = try Topic.features("AAPL")
        var features = ValidMessages.features
        features.values = []
        #expect(reason(ValidMessages.delivery(topic, .features(features))) == .featureLength)
        features = ValidMessages.features
        features.names = []
        features.values = []
        #expect(reason(ValidMessages.delivery(topic, .features(features))) == .featureLength)
        features = ValidMessages.features
        features.names = ["a", "b"]  // same hash claimed for other names
        #expect(reason(ValidMessages.delivery(topic, .features(features))) == .featureLength)
        features = ValidMessages.features
        features.values[1] = .infinity
        #expect(reason(ValidMessages.delivery(topic, .features(features))) == .number)
        // The hash is cached per names: a second valid vector passes, a forged one after it fails.
        var validator = EnvelopeValidator()
        #expect(validator.check(ValidMessages.delivery(topic, .features(ValidMessages.features)), now: now) == nil)
        #expect(validator.check(ValidMessages.delivery(topic, .features(ValidMessages.features)), now: now) == nil)
        features = ValidMessages.features
        features.names[0] = "forged"
        #expect(validator.check(ValidMessages.delivery(topic, .features(features)), now: now)?.reason == .featureLength)
    }

    @Test("1 MB strings and 10,000-element lists are size")
    func sizes() throws {
        let huge = String(repeating: "x", count: 1 << 20)
        var trade = ValidMessages.trade
        trade.exchange = huge
        #expect(reason(ValidMessages.delivery(try .tick("BRK.B"), .trade(trade))) == .size)
        trade = ValidMessages.trade
        trade.conditions = Array(repeating: "@", count: 10_000)
        #expect(reason(ValidMessages.delivery(try .tick("BRK.B"), .trade(trade))) == .size)
        var alert = ValidMessages.alert
        alert.message = huge
        #expect(reason(ValidMessages.delivery(.alert(.error), .alert(alert))) == .size)
        alert = ValidMessages.alert
        alert.details = Dictionary(uniqueKeysWithValues: (0..<10_000).map { ("k\($0)", "v") })
        #expect(reason(ValidMessages.delivery(.alert(.error), .alert(alert))) == .size)
        var features = ValidMessages.features
        features.names = (0..<10_000).map { "f\($0)" }
        features.values = Array(repeating: 0, count: 10_000)
        #expect(reason(ValidMessages.delivery(try .features("AAPL"), .features(features))) == .size)
    }

    @Test("market and timer messages carry the scheduler's clock, which may be simulated years away")
    func scheduledTimes() throws {
        let simulated = now + 3 * 365 * Nanoseconds.perDay
        var session = ValidMessages.session
        session.clockNs = simulated
        session.nextChangeNs = simulated + Nanoseconds.perHour
        #expect(reason(ValidMessages.delivery(.marketSession, .session(session), eventTime: simulated)) == nil)
        #expect(reason(ValidMessages.delivery(.marketSession, .session(session), eventTime: .max)) == .timeRange)
    }
}

@Suite("MessageSubscription refuses invalid messages on a real socket and keeps going")
struct SubscriptionValidationTests {
    @Test("hostile frames are counted by reason; valid ones around them are delivered in order")
    func countedAndDropped() async throws {
        try await withContext { context in
            let raw = try await RawPublisher(context: context, endpoint: loopbackWildcard, bind: true)
            let issues = Collector<SubscriptionIssue>()
            let subscription = try await MessageSubscription(
                context: context, endpoint: raw.endpoint,
                patterns: [try TopicPattern("tick.BRK.B"), TopicPattern(exact: Fixtures.controlTopic)],
                clock: { ValidMessages.now },
                onIssue: { issues.append($0) })
            let control = Counter()
            var iterator = subscription.makeAsyncIterator()
            try await warmUp(
                &iterator,
                publish: { raw.send(Fixtures.controlFrames(.starting, sequence: control.next())) },
                giveUp: { await subscription.close() },
                isWarmUp: Fixtures.isControl)
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            let topic = try Topic.tick("BRK.B")
            func send(_ trade: Trade, sequence: UInt64, eventTime: Int64 = ValidMessages.now) throws {
                var envelope = Fixtures.envelope(.trade(trade), sequence: sequence)
                envelope.eventTimeNs = eventTime
                raw.send(try Fixtures.frames(topic, envelope))
            }
            var nan = ValidMessages.trade
            nan.price = .nan
            var other = ValidMessages.trade
            other.symbol = "AAPL"
            try send(ValidMessages.trade, sequence: 1)
            try send(ValidMessages.trade, sequence: 2, eventTime: .max)
            try send(nan, sequence: 3)
            try send(other, sequence: 4)
            try send(ValidMessages.trade, sequence: 5)
            raw.send(Fixtures.controlFrames(.stopping, sequence: control.next()))
            let read = try await readUntilFence(&iterator)
            #expect(read.deliveries.map(\.sequence) == [1, 5])
            let statistics = subscription.statistics
            #expect(statistics.rejected == ["time_range": 1, "number": 1, "symbol": 1])
            // Refused messages do not advance the stream: 1 then 5 is a gap of the 3 refused.
            #expect(statistics.sequence.missing == 3)
            let reasons = issues.values.compactMap { issue -> RejectReason? in
                if case .rejected(let rejection) = issue { return rejection.reason }
                return nil
            }
            #expect(reasons == [.timeRange, .number, .symbol])
            watchdog.cancel()
            await raw.close()
            await subscription.close()
        }
    }
}
