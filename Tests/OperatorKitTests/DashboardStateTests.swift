import Contracts
@testable import Dashboard
import Foundation
import Testing

/// The dashboard's computations on bus messages alone: outcome resolution, the reliability
/// curve and Brier score, drift and outbox readings from heartbeats, caps, non-finite input.
@Suite("Dashboard state")
struct DashboardStateTests {
    static let base: Int64 = 1_700_000_000_000_000_000
    static let minute: Int64 = 60_000_000_000

    func delivery(_ payload: Envelope.OneOf_Payload, on topic: Topic, eventTime: Int64 = base) -> Delivery {
        var envelope = Envelope()
        envelope.schemaVersion = Codec.schemaVersion
        envelope.eventTimeNs = eventTime
        envelope.publishTimeNs = eventTime
        envelope.payload = payload
        return Delivery(topic: topic, envelope: envelope)
    }

    /// A bar of `symbol` ending `index` minutes after ``base``.
    func bar(_ state: inout DashboardState, _ symbol: String, _ index: Int64, close: Double, origin: BarOrigin = .built) throws {
        var bar = Bar()
        bar.symbol = symbol
        bar.startTimeNs = Self.base + (index - 1) * Self.minute
        bar.endTimeNs = Self.base + index * Self.minute
        bar.open = close
        bar.high = close
        bar.low = close
        bar.close = close
        bar.volume = 1
        bar.origin = origin
        state.apply(delivery(.bar(bar), on: try Topic.bar(symbol), eventTime: bar.endTimeNs), nowNs: bar.endTimeNs)
    }

    /// A signal of `symbol` for the bar ending `index` minutes after ``base``.
    func signal(
        _ state: inout DashboardState, _ symbol: String, _ index: Int64, _ action: Action, confidence: Double, price: Double = 100,
        horizon: Int32 = 3, votes: [ModelVote] = []
    ) throws {
        var signal = Signal()
        signal.symbol = symbol
        signal.action = action
        signal.confidence = confidence
        signal.price = price
        signal.id = "\(symbol)-\(index)"
        signal.barEndTimeNs = Self.base + index * Self.minute
        signal.horizonBars = horizon
        signal.votes = votes
        state.apply(delivery(.signal(signal), on: try Topic.signal(symbol), eventTime: signal.barEndTimeNs), nowNs: signal.barEndTimeNs)
    }

    func heartbeat(_ state: inout DashboardState, _ service: String, counters: [String: UInt64], nowNs: Int64 = base) throws {
        var status = ServiceStatus()
        status.service = service
        status.instance = "1"
        status.state = .running
        status.intervalSeconds = 1
        status.counters = counters
        state.apply(delivery(.status(status), on: try Topic.status(service)), nowNs: nowNs)
    }

    func vote(_ model: String, weight: Double = 0.5, accuracy: Double = 0.6, probability: Double = 0.7) -> ModelVote {
        var vote = ModelVote()
        vote.model = model
        vote.action = .buy
        vote.probability = probability
        vote.weight = weight
        vote.liveAccuracy = accuracy
        return vote
    }

    @Test("a BUY resolves horizon_bars bars after its own bar: a hit when that close is above its price; a SELL when below")
    func resolution() throws {
        var state = DashboardState()
        try bar(&state, "AAA", 10, close: 100)
        try signal(&state, "AAA", 10, .buy, confidence: 0.7, horizon: 3)
        try bar(&state, "AAA", 11, close: 90)
        try bar(&state, "AAA", 12, close: 95)
        #expect(state.quality().resolved == 0)
        #expect(state.quality().pending == 1)
        try bar(&state, "AAA", 13, close: 101)
        var quality = state.quality()
        #expect(quality.resolved == 1 && quality.hits == 1 && quality.pending == 0)
        #expect(quality.buyResolved == 1 && quality.buyHits == 1)

        try signal(&state, "BBB", 20, .sell, confidence: 0.6, price: 50, horizon: 1)
        try bar(&state, "BBB", 21, close: 50)  // unchanged: a miss
        try signal(&state, "BBB", 22, .sell, confidence: 0.6, price: 50, horizon: 1)
        try bar(&state, "BBB", 23, close: 49)
        quality = state.quality()
        #expect(quality.sellResolved == 2 && quality.sellHits == 1)
        #expect(quality.resolvedTotal == 3)
    }

    @Test("a signal arriving after the bars past it resolves at once with the horizon's bar")
    func lateSignal() throws {
        var state = DashboardState()
        for index in Int64(1)...6 { try bar(&state, "AAA", index, close: 100 + Double(index)) }
        // Bars 2, 3 (close 103, above 102.5) past bar 1.
        try signal(&state, "AAA", 1, .buy, confidence: 0.8, price: 102.5, horizon: 2)
        #expect(state.quality().resolved == 1 && state.quality().hits == 1)
        // A second signal for the same bar, or an older one, is a repeat and not scored again.
        try signal(&state, "AAA", 1, .buy, confidence: 0.8, price: 102.5, horizon: 2)
        #expect(state.quality().resolvedTotal == 1)
        // A signal older than every remembered bar once bars were forgotten cannot be scored.
        for index in Int64(7)...Int64(DashboardState.barMemory + 10) { try bar(&state, "CCC", index, close: 100) }
        try signal(&state, "CCC", 2, .buy, confidence: 0.8, horizon: 2)
        #expect(state.unscoredSignals == 1)
        #expect(state.quality().resolvedTotal == 1)
    }

    @Test("once a ticker shows built bars only they count; one bar per end time, in order")
    func builtBarsWin() throws {
        var state = DashboardState()
        try signal(&state, "AAA", 10, .buy, confidence: 0.7, horizon: 2)
        try bar(&state, "AAA", 11, close: 101, origin: .live)  // counted: no built bar yet
        try bar(&state, "AAA", 11, close: 101, origin: .built)  // the same end: not again
        try bar(&state, "AAA", 12, close: 120, origin: .backfill)  // ignored from now on
        #expect(state.quality().pending == 1)
        try bar(&state, "AAA", 10, close: 120)  // before the last counted end: ignored
        #expect(state.quality().pending == 1)
        try bar(&state, "AAA", 12, close: 99)
        let quality = state.quality()
        #expect(quality.resolved == 1 && quality.hits == 0)
    }

    @Test("HOLD is counted, not scored; a confidence outside 0…1, no horizon or a huge one is not scored")
    func holdAndUnscored() throws {
        var state = DashboardState()
        try signal(&state, "AAA", 1, .hold, confidence: 0.5)
        try signal(&state, "BBB", 1, .buy, confidence: 1.5)
        try signal(&state, "CCC", 1, .buy, confidence: 0.7, horizon: 0)
        try signal(&state, "DDD", 1, .buy, confidence: 0.7, horizon: Int32(DashboardState.maxHorizonBars + 1))
        try signal(&state, "EEE", 1, .buy, confidence: 0.7, price: 0)
        for symbol in ["AAA", "BBB", "CCC", "DDD", "EEE"] {
            for index in Int64(2)...8 { try bar(&state, symbol, index, close: 200) }
        }
        let quality = state.quality()
        #expect(quality.holdSignals == 1)
        #expect(quality.unscored == 4)
        #expect(quality.resolved == 0 && quality.pending == 0 && quality.brier == nil)
    }

    @Test("reliability bins hold mean confidence and hit rate; Brier is the mean of (confidence − hit)²")
    func reliabilityAndBrier() throws {
        var state = DashboardState()
        // Each on its own ticker, horizon 1: (confidence, hit).
        let cases: [(Double, Bool)] = [(0.45, true), (0.45, false), (0.42, true), (0.48, false), (0.95, true), (1.0, true), (0.35, false)]
        for (number, (confidence, hit)) in cases.enumerated() {
            let symbol = "S\(number)"
            try signal(&state, symbol, 1, .buy, confidence: confidence, price: 100, horizon: 1)
            try bar(&state, symbol, 2, close: hit ? 101 : 99)
        }
        let quality = state.quality()
        #expect(quality.bins.count == DashboardState.reliabilityEdges.count - 1)
        #expect(quality.bins.map(\.count) == [1, 4, 0, 0, 0, 0, 2])
        #expect(quality.bins[1].hits == 2)
        #expect(abs((quality.bins[1].meanConfidence ?? 0) - 0.45) < 1e-12)
        #expect(quality.bins[1].hitRate == 0.5)
        #expect(quality.bins[6].hitRate == 1)
        #expect(quality.bins[0].hitRate == 0)
        #expect(quality.bins[2].hitRate == nil && quality.bins[2].meanConfidence == nil)
        let expected = cases.map { ($0.0 - ($0.1 ? 1 : 0)) * ($0.0 - ($0.1 ? 1 : 0)) }.reduce(0, +) / Double(cases.count)
        #expect(abs((quality.brier ?? -1) - expected) < 1e-12)
        #expect(quality.hitRate == 4.0 / 7)

        #expect(DashboardState.bin(of: 0) == 0)
        #expect(DashboardState.bin(of: 0.3999) == 0)
        #expect(DashboardState.bin(of: 0.4) == 1)
        #expect(DashboardState.bin(of: 0.9) == 6)
        #expect(DashboardState.bin(of: 1) == 6)
        #expect(DashboardState.bin(of: 1.01) == nil)
        #expect(DashboardState.bin(of: -0.1) == nil)
        #expect(DashboardState.bin(of: .nan) == nil)
        #expect(DashboardState.bin(of: .infinity) == nil)
    }

    @Test("pending signals per ticker, resolved ones, models and channels are capped")
    func caps() throws {
        var state = DashboardState()
        let extra = 50
        for index in 0..<Int64(DashboardState.pendingPerTicker + extra) {
            try signal(&state, "AAA", index, .buy, confidence: 0.7, horizon: 5)
        }
        var quality = state.quality()
        #expect(quality.pending == DashboardState.pendingPerTicker)
        #expect(quality.expired == extra)

        // More resolved signals than the window: the curve covers the last ones only.
        let resolved = DashboardState.recentOutcomes + 100
        for step in 0..<Int64(resolved) {
            try signal(&state, "BBB", 2 * step, .buy, confidence: 0.7, horizon: 1)
            try bar(&state, "BBB", 2 * step + 1, close: step < 100 ? 99 : 101)
        }
        quality = state.quality()
        #expect(quality.resolved == DashboardState.recentOutcomes)
        #expect(quality.resolvedTotal == UInt64(resolved))
        #expect(quality.hits == DashboardState.recentOutcomes, "the first 100, all misses, left the window")
        #expect(state.outcomes.count == DashboardState.recentOutcomes)

        for number in 0..<(DashboardState.maxModels + 8) {
            try signal(&state, "CCC", Int64(number), .buy, confidence: 0.7, votes: [vote("model-\(number)")])
        }
        #expect(state.models.count == DashboardState.maxModels)
        #expect(state.models["model-\(DashboardState.maxModels + 7)"] != nil)
        #expect(state.models["model-0"] == nil, "the least recent model is evicted")

        var counters: [String: UInt64] = ["outbox.pending": 3]
        for number in 0..<(DashboardState.maxChannels + 4) { counters["notifications.sent.ch\(100 + number)"] = UInt64(number) }
        try heartbeat(&state, "notifier", counters: counters)
        let outbox = try #require(state.outboxRows(nowNs: Self.base).first?.outbox)
        #expect(outbox.channels.count == DashboardState.maxChannels)
        #expect(outbox.moreChannels == 4)
        #expect(outbox.channels.first?.name == "ch100")

        for number in 0..<(DashboardState.maxTickers + 10) {
            try signal(&state, "T\(number)", 1, .buy, confidence: 0.7, horizon: 1)
        }
        #expect(state.tickers.count == DashboardState.maxTickers)
        #expect(state.quality().pending <= DashboardState.maxTickers * DashboardState.pendingPerTicker)

        // Text from outside is cut.
        try heartbeat(&state, "notifier", counters: ["notifications.failed." + String(repeating: "x", count: 5_000): 1])
        let long = try #require(state.outboxRows(nowNs: Self.base).first?.outbox.channels.first?.name)
        #expect(long.count <= DashboardState.textLimit + 1)
    }

    @Test("NaN and infinities are ignored: no ticker change, no outcome, no model row")
    func nonFinite() throws {
        var state = DashboardState()
        try signal(&state, "AAA", 1, .buy, confidence: 0.7, horizon: 1)
        let before = state.quality().pending
        try signal(&state, "AAA", 2, .buy, confidence: .nan, horizon: 1)
        try signal(&state, "AAA", 3, .buy, confidence: 0.7, price: .infinity, horizon: 1)
        #expect(state.quality().pending == before)
        try bar(&state, "AAA", 4, close: .infinity)
        try bar(&state, "AAA", 4, close: .nan)
        #expect(state.quality().resolved == 0)
        #expect(state.tickers["AAA"]?.bar == nil)
        try bar(&state, "AAA", 4, close: 101)
        #expect(state.quality().resolved == 1)

        try signal(&state, "BBB", 1, .buy, confidence: 0.7, votes: [
            vote("nan-weight", weight: .nan), vote("inf-accuracy", accuracy: .infinity), vote("nan-p", probability: .nan), vote("fine"),
        ])
        #expect(Set(state.models.keys) == ["fine"])
        // The snapshot stays JSON whatever came in.
        let json = try JSONSerialization.jsonObject(with: state.snapshot(nowNs: Self.base)) as? [String: Any]
        #expect(json?["quality"] != nil)
    }

    @Test("a model's row is its latest vote: weight, live accuracy, action, probability")
    func modelTable() throws {
        var state = DashboardState()
        try signal(&state, "AAA", 1, .buy, confidence: 0.7, votes: [vote("gbt", weight: 0.4, accuracy: 0.55), vote("logistic")])
        try signal(&state, "BBB", 1, .buy, confidence: 0.7, votes: [vote("gbt", weight: 0.6, accuracy: 0.61)])
        let rows = state.modelRows()
        #expect(rows.map(\.model) == ["gbt", "logistic"])
        #expect(rows.first?.weight == 0.6 && rows.first?.liveAccuracy == 0.61 && rows.first?.symbol == "BBB")
        #expect(rows.first?.action == "BUY" && rows.first?.probability == 0.7)
    }

    @Test("PSI from the signal generator's heartbeat, labelled stable / watch / shifted; model.drift alerts kept apart")
    func drift() throws {
        #expect(DashboardState.psiLabel(0) == "stable")
        #expect(DashboardState.psiLabel(0.099) == "stable")
        #expect(DashboardState.psiLabel(0.1) == "watch")
        #expect(DashboardState.psiLabel(0.25) == "watch")
        #expect(DashboardState.psiLabel(0.251) == "shifted")
        #expect(DashboardState.psiLabel(.nan) == "unknown")

        var state = DashboardState()
        try heartbeat(&state, "signal-generator", counters: [DashboardState.psiCounter: 180])
        try heartbeat(&state, "processor", counters: [DashboardState.psiCounter: 900])  // not the generator's: ignored
        try heartbeat(&state, "ingestor", counters: [:])
        var rows = state.driftRows(nowNs: Self.base)
        #expect(rows.count == 1)
        #expect(rows.first?.psi == 0.18 && rows.first?.label == "watch" && rows.first?.stale == false)
        #expect(rows.first?.featurePsi == nil && rows.first?.featureLabel == nil)
        try heartbeat(
            &state, "signal-generator",
            counters: [DashboardState.psiCounter: UInt64.max, DashboardState.featurePsiCounter: 40])
        rows = state.driftRows(nowNs: Self.base + 10_000_000_000)
        #expect(rows.first?.label == "shifted" && rows.first?.stale == true)
        #expect(rows.first?.featurePsi == 0.04 && rows.first?.featureLabel == "stable")

        var alert = Alert()
        alert.severity = .warning
        alert.category = "model.drift"
        alert.title = "predictions drifted from training"
        alert.service = "signal-generator"
        state.apply(delivery(.alert(alert), on: .alert(.warning)), nowNs: Self.base)
        alert.category = "feed.stale"
        for _ in 0..<(DashboardState.recentAlerts + 5) { state.apply(delivery(.alert(alert), on: .alert(.warning)), nowNs: Self.base) }
        #expect(state.alerts.allSatisfy { $0.category == "feed.stale" })
        #expect(state.driftAlerts.count == 1 && state.driftAlerts.first?.title == "predictions drifted from training")
    }

    @Test("the notifier's outbox: pending, queued, throttled and sent/failed per channel")
    func outbox() throws {
        var state = DashboardState()
        try heartbeat(&state, "notifier", counters: [
            "outbox.pending": 4, "notifications.queued": 12, "notifications.throttled": 2,
            "notifications.sent.webhook": 7, "notifications.failed.webhook": 1, "notifications.sent.console": 3,
            "notifications.failed.email": 5, "notifications.sent.": 9, "unrelated": 1,
        ])
        try heartbeat(&state, "ingestor", counters: ["outbox.pending": 99])
        let rows = state.outboxRows(nowNs: Self.base)
        #expect(rows.count == 1)
        let outbox = try #require(rows.first?.outbox)
        #expect(outbox.pending == 4 && outbox.queued == 12 && outbox.throttled == 2)
        #expect(outbox.channels == [
            .init(name: "console", sent: 3, failed: 0), .init(name: "email", sent: 0, failed: 5),
            .init(name: "webhook", sent: 7, failed: 1),
        ])
        try heartbeat(&state, "notifier", counters: [:])
        let empty = try #require(state.outboxRows(nowNs: Self.base).first?.outbox)
        #expect(empty.pending == nil && empty.channels.isEmpty)
    }
}
