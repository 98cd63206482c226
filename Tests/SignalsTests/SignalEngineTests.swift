import Contracts
import Models
@testable import Signals
import Testing

/// A model that reads 3 features and always gives `distribution`.
private struct Fixed: Classifier {
    var distribution: [Double]
    var kind: String { "fixed" }
    var featureCount: Int { 3 }
    func probabilities(_ features: [Double]) -> [Double] { distribution }
}

private let up = [0.1, 0.1, 0.8]
private let down = [0.8, 0.1, 0.1]
private let flat = [0.1, 0.8, 0.1]

private func model(_ name: String, _ distribution: [Double], horizon: Int = 2, validation: Double = 0.5) -> LiveModel {
    LiveModel(
        name: name, version: "1", kind: "fixed", classifier: Fixed(distribution: distribution),
        validationAccuracy: validation, horizon: horizon, deadZone: 0.001, schemaHash: "hash-1")
}

private func row(_ symbol: String = "AAPL", close: Double, values: [Double] = [0.1, 0.2, 0.3]) -> FeatureVector {
    var features = FeatureVector()
    features.symbol = symbol
    features.schemaHash = "hash-1"
    features.values = values
    features.close = close
    return features
}

private func engine(
    _ models: [LiveModel], method: EnsembleMethod = .dynamicEnsemble, cooldown: Duration = .zero, decay: Double = 0.5,
    driftMinOutcomes: Int = 1_000, tickerCapacity: Int = 64
) -> SignalEngine {
    SignalEngine(
        models: models,
        settings: SignalEngine.Settings(
            method: method, policy: SignalPolicy(threshold: 0.6, capital: 10_000, riskPerTrade: 0.01, atrStopMultiple: 2, maxPositionFraction: 0.2),
            cooldown: cooldown, accuracyDecay: decay, driftThreshold: 0.1, driftMinOutcomes: driftMinOutcomes,
            tickerCapacity: tickerCapacity))
}

/// Predicts and steps, as the service does.
private func feed(
    _ engine: inout SignalEngine, _ features: FeatureVector, at now: ContinuousClock.Instant = .now
) throws -> SignalEngine.Step {
    let distributions = try SignalEngine.predict(features, models: engine.models)
    let step = try engine.step(features, distributions: distributions, generation: engine.generation, now: now)
    return try #require(step)
}

@Suite("Signal engine: outcomes, ensemble, policy and cooldown as a value")
struct SignalEngineTests {
    @Test("a prediction is scored horizon bars later with the training label rule; hits raise, misses lower")
    func outcomes() throws {
        var engine = engine([model("bull", up), model("bear", down), model("still", flat)])
        // Horizon 2: bar 1's prediction is scored at bar 3. log(102/100) = 0.0198 > 0.001: up.
        for close in [100.0, 101, 102] { _ = try feed(&engine, row(close: close)) }
        #expect(engine.accuracy.models["bull"]?.accuracy == 0.75)
        #expect(engine.accuracy.models["bear"]?.accuracy == 0.25)
        #expect(engine.accuracy.models["still"]?.accuracy == 0.25)
        #expect(engine.accuracy.models.values.allSatisfy { $0.outcomes == 1 })
        #expect(engine.accuracyChanged)
        // Bar 2 (close 101) scored at bar 4 (close 101.05): log return 0.000495, inside the
        // dead zone, so flat is the label; only "still" hits.
        let step = try feed(&engine, row(close: 101.05))
        #expect(step.outcomes == 3)
        #expect(engine.accuracy.models["still"]?.accuracy == 0.625)
        #expect(engine.accuracy.models["bull"]?.accuracy == 0.375)
        #expect(Direction(forwardReturn: Direction.logReturn(from: 101, to: 101.05), deadZone: 0.001) == .flat)
    }

    @Test("tickers are scored apart; a model reload leaves pending predictions unscored")
    func tickersAndReload() throws {
        var engine = engine([model("bull", up)])
        _ = try feed(&engine, row("AAPL", close: 100))
        _ = try feed(&engine, row("MSFT", close: 50))
        _ = try feed(&engine, row("AAPL", close: 100))
        #expect(engine.accuracy.models.isEmpty, "AAPL has had 2 bars, horizon 2: nothing matured")
        engine.replaceModels([model("bull", up)])
        let step = try feed(&engine, row("AAPL", close: 110))
        #expect(step.outcomes == 0, "the prediction of bar 1 came from the models before the reload")
        #expect(engine.bars(of: "AAPL") == 3)
        _ = try feed(&engine, row("AAPL", close: 111))
        let scored = try feed(&engine, row("AAPL", close: 120))
        #expect(scored.outcomes == 1, "bar 3, made by the new models, is scored at bar 5")
    }

    @Test("dynamic ensemble: the weights follow live accuracy")
    func dynamicWeights() throws {
        var engine = engine([model("bull", up), model("bear", down)], decay: 0.5)
        var last: SignalEngine.Step?
        for i in 0..<8 { last = try feed(&engine, row(close: 100 + Double(i))) }  // a steady rise
        let step = try #require(last)
        let weights = Dictionary(uniqueKeysWithValues: step.votes.map { ($0.model, $0.weight) })
        #expect((weights["bull"] ?? 0) > 0.9, "\(weights)")
        #expect(step.decision.action == .buy)
        #expect(step.probabilities[2] > step.probabilities[0])
        let vote = try #require(step.votes.first { $0.model == "bull" })
        #expect(vote.liveAccuracy == engine.accuracy.models["bull"]?.accuracy)
    }

    @Test("drift is reported once, when a model falls below its validation accuracy")
    func drift() throws {
        var engine = engine([model("bear", down, validation: 0.6)], driftMinOutcomes: 2)
        var drifted: [String] = []
        for i in 0..<10 { drifted += try feed(&engine, row(close: 100 + Double(i))).drifted.map(\.name) }
        #expect(drifted == ["bear"])
        #expect(engine.accuracy.models["bear"]?.drifting == true)
    }

    @Test("cooldown: the same action is held back until it passes; a new action is due at once")
    func cooldown() throws {
        var engine = engine([model("bull", up)], cooldown: .seconds(60))
        let start = ContinuousClock.now
        #expect(try feed(&engine, row(close: 100), at: start).verdict == .due)
        #expect(try feed(&engine, row(close: 100), at: start + .seconds(30)).verdict == .unchanged)
        #expect(try feed(&engine, row(close: 100), at: start + .seconds(61)).verdict == .due)
        // Another symbol has its own cooldown.
        #expect(try feed(&engine, row("MSFT", close: 100), at: start + .seconds(62)).verdict == .due)
        engine.replaceModels([model("bear", down)])
        #expect(try feed(&engine, row(close: 100), at: start + .seconds(63)).verdict == .due, "SELL after BUY")
        #expect(try feed(&engine, row(close: 100), at: start + .seconds(64)).verdict == .unchanged, "the cooldown survives a reload")
    }

    @Test("outside the session nothing is due, the models still learn, and the first decision after is due")
    func session() throws {
        var engine = engine([model("bull", up)], cooldown: .seconds(3_600))
        let start = ContinuousClock.now
        engine.sessionOpen = false
        for i in 0..<3 {
            #expect(try feed(&engine, row(close: 100 + Double(i)), at: start).verdict == .outsideSession)
        }
        #expect(engine.accuracy.models["bull"]?.outcomes == 1)
        engine.sessionOpen = true
        #expect(try feed(&engine, row(close: 104), at: start + .seconds(1)).verdict == .due)
    }

    @Test("a distribution from replaced models changes nothing and asks for another prediction")
    func staleGeneration() throws {
        var engine = engine([model("bull", up)])
        let features = row(close: 100)
        let distributions = try SignalEngine.predict(features, models: engine.models)
        let generation = engine.generation
        engine.replaceModels([model("bull", up)])
        #expect(try engine.step(features, distributions: distributions, generation: generation, now: .now) == nil)
        #expect(engine.tickerCount == 0)
        #expect(throws: SignalEngine.Rejection.self) {
            try engine.step(features, distributions: [up, up], generation: engine.generation, now: .now)
        }
        #expect(engine.tickerCount == 0)
    }

    @Test("rows the models cannot read are refused with their reason, before any model runs")
    func problems() {
        let models = [model("bull", up)]
        #expect(SignalEngine.problem(with: row(close: 0), models: models) == .close(0))
        #expect(SignalEngine.problem(with: row(close: .nan), models: models)?.counter == "rejected.close")
        #expect(SignalEngine.problem(with: row(close: 1, values: [0, .infinity, 0]), models: models) == .featureValue(index: 1, value: .infinity))
        var other = row(close: 1)
        other.schemaHash = "hash-2"
        #expect(SignalEngine.problem(with: other, models: models) == .schemaMismatch(expected: "hash-1", got: "hash-2"))
        #expect(SignalEngine.problem(with: row(close: 1, values: [1, 2]), models: models) == .featureLength(count: 2, model: "bull", reads: 3))
        #expect(SignalEngine.problem(with: row(close: 1), models: []) == .noModels)
        #expect(SignalEngine.problem(with: row(close: 1), models: models) == nil)
    }

    @Test("ticker memory is bounded by the capacity")
    func bounded() throws {
        var engine = engine([model("bull", up)], tickerCapacity: 4)
        var evictions = 0
        for i in 0..<10 { evictions += try feed(&engine, row("S\(i)", close: 10)).evicted ? 1 : 0 }
        #expect(engine.tickerCount == 4)
        #expect(evictions == 6)
        #expect(!engine.remembers("S0") && engine.remembers("S9"))
    }
}
