import Bus
import Contracts
import Models

/// The signal generator's decisions as a value: the served models, what they have learnt
/// live, and each ticker's memory. One feature row in, one ``Step`` out: the ensemble's
/// distribution, each model's vote, the policy's decision, and whether it is due (a new
/// action, or the same one after the cooldown, in a session that allows signals).
///
/// Pure: no clock (the caller passes `now`), no I/O, no lock. The signal service keeps one
/// under its mutex and runs the models *outside* it (``predict(_:models:)`` on a snapshot of
/// ``models``, then ``step(_:distributions:generation:now:)`` under the lock); the `Tickwire` library's
/// `EnsembleStrategy`, and so backtests, run the same steps.
///
/// Live outcomes: the prediction for a ticker's bar `n` is scored when its bar `n + horizon`
/// arrives, with the training labels' own rule (``Models/Direction/logReturn(from:to:)`` and
/// ``Models/Direction/init(forwardReturn:deadZone:)``), and a model's hit or miss moves its
/// decayed live accuracy (the `dynamic_ensemble` weight, and the drift detector's input).
public struct SignalEngine: Sendable {
    /// How the engine combines, decides and learns.
    public struct Settings: Sendable {
        public var method: EnsembleMethod
        /// By model name, for the weighted methods (1 when not named).
        public var weights: [String: Double]
        public var policy: SignalPolicy
        /// The least time between two signals of one ticker with the same action.
        public var cooldown: Duration
        /// The live accuracy's decay per outcome (0...1; closer to 1 learns slower).
        public var accuracyDecay: Double
        /// A model drifts once its live accuracy is this far below its validation accuracy…
        public var driftThreshold: Double
        /// …over at least this many outcomes.
        public var driftMinOutcomes: Int
        /// Tickers remembered at most; the least recently seen is forgotten first.
        public var tickerCapacity: Int

        public init(
            method: EnsembleMethod = .dynamicEnsemble, weights: [String: Double] = [:], policy: SignalPolicy,
            cooldown: Duration = .seconds(300), accuracyDecay: Double = 0.95, driftThreshold: Double = 0.1,
            driftMinOutcomes: Int = 50, tickerCapacity: Int = 64
        ) {
            self.method = method
            self.weights = weights
            self.policy = policy
            self.cooldown = cooldown
            self.accuracyDecay = accuracyDecay
            self.driftThreshold = driftThreshold
            self.driftMinOutcomes = driftMinOutcomes
            self.tickerCapacity = tickerCapacity
        }
    }

    /// Why a feature row was refused, with the counter the services count it under.
    public enum Rejection: Error, Equatable, Sendable, CustomStringConvertible {
        /// No model is served.
        case noModels
        /// The row's close is not a positive finite price.
        case close(Double)
        /// Value `index` is NaN or infinite.
        case featureValue(index: Int, value: Double)
        /// The row was computed with another feature schema than the models were trained on.
        case schemaMismatch(expected: String, got: String)
        /// The row's width differs from what `model` reads.
        case featureLength(count: Int, model: String, reads: Int)
        /// A model gave no usable distribution.
        case modelOutput(String)

        /// The `status.<service>` counter, e.g. `rejected.feature_length`.
        public var counter: String {
            switch self {
            case .noModels: "rejected.no_models"
            case .close: "rejected.close"
            case .featureValue: "rejected.feature_value"
            case .schemaMismatch: "features.schema_mismatch"
            case .featureLength: "rejected.feature_length"
            case .modelOutput: "rejected.model_output"
            }
        }

        public var description: String {
            switch self {
            case .noModels: "no models are served"
            case .close(let close): "close \(close) is not a positive finite price"
            case .featureValue(let index, let value): "value \(index) (\(value)) is not finite"
            case .schemaMismatch(let expected, let got): "schema hash \(got), but the models were trained on \(expected)"
            case .featureLength(let count, let model, let reads): "\(count) values, but \(model) reads \(reads)"
            case .modelOutput(let reason): reason
            }
        }
    }

    /// What one row did.
    public struct Step: Sendable {
        /// Whether the decision is published.
        public enum Verdict: Sendable, Equatable {
            /// A new action, or the same after the cooldown: publish it.
            case due
            /// The same action as the last published one, within the cooldown.
            case unchanged
            /// The session does not allow signals now (the models still learn).
            case outsideSession
        }

        public var verdict: Verdict
        /// The policy's action, confidence, stop and size.
        public var decision: SignalPolicy.Decision
        /// The ensemble's distribution (down, flat, up).
        public var probabilities: [Double]
        /// Each model's vote, with its weight and live accuracy.
        public var votes: [ModelVote]
        /// The models that have just started drifting (alert once).
        public var drifted: [LiveModel]
        /// Whether another ticker's memory was forgotten to make room.
        public var evicted: Bool
        /// Outcomes scored by this row (one per model per matured prediction).
        public var outcomes: Int
    }

    /// One ticker's memory: its bar count, the predictions awaiting outcomes, and its last
    /// published action.
    struct Ticker: Sendable {
        struct Pending: Sendable {
            var index: Int
            var close: Double
            /// The models' generation when predicted (scored only by the same models).
            var generation: Int
            /// Each model's most likely direction, in the models' order.
            var choices: [Int]
        }
        var bars = 0
        var pending: [Pending] = []
        var last: (action: Action, at: ContinuousClock.Instant)?
    }

    public let settings: Settings
    /// The served models (all trained on one schema and horizon).
    public private(set) var models: [LiveModel]
    /// Changes whenever ``replaceModels(_:)`` does: a distribution computed for another
    /// generation is refused by ``step(_:distributions:generation:now:)``.
    public private(set) var generation = 0
    /// What the models have learnt live.
    public private(set) var accuracy: LiveAccuracy
    /// Whether ``accuracy`` changed since ``markAccuracySaved()``.
    public private(set) var accuracyChanged = false
    /// Whether the session allows signals now.
    public var sessionOpen = true
    private var tickers: RecencyMap<String, Ticker>

    /// An engine serving `models`, starting from `accuracy` (forgetting models not served).
    public init(models: [LiveModel], accuracy: LiveAccuracy = LiveAccuracy(), settings: Settings) {
        self.settings = settings
        self.models = models
        var accuracy = accuracy
        accuracy.keep(only: Set(models.map(\.name)))
        self.accuracy = accuracy
        tickers = RecencyMap(capacity: settings.tickerCapacity)
    }

    /// The models' horizon in bars (0 with no models).
    public var horizon: Int { models.first?.horizon ?? 0 }
    /// Tickers remembered now.
    public var tickerCount: Int { tickers.count }
    /// Whether `symbol`'s memory is kept (without marking it as seen).
    public func remembers(_ symbol: String) -> Bool { tickers.peek(symbol) != nil }
    /// Bars seen for `symbol` since it was (last) remembered.
    public func bars(of symbol: String) -> Int { tickers.peek(symbol)?.bars ?? 0 }

    /// Serves `models` from now on. Live accuracies of models still served are kept, and each
    /// ticker's last action (the cooldown goes on); predictions still pending are never scored
    /// (other models made them).
    public mutating func replaceModels(_ models: [LiveModel]) {
        self.models = models
        generation &+= 1
        accuracy.keep(only: Set(models.map(\.name)))
    }

    /// Call after saving ``accuracy``.
    public mutating func markAccuracySaved() { accuracyChanged = false }

    // MARK: One row

    /// The checks that need no model run: a positive finite close and finite values; then,
    /// against `models`, the schema and the width. Nil when the row can be predicted.
    public static func problem(with features: FeatureVector, models: [LiveModel]) -> Rejection? {
        guard features.close.isFinite, features.close > 0 else { return .close(features.close) }
        if let index = features.values.firstIndex(where: { !$0.isFinite }) {
            return .featureValue(index: index, value: features.values[index])
        }
        guard let first = models.first else { return .noModels }
        guard features.schemaHash == first.schemaHash else {
            return .schemaMismatch(expected: first.schemaHash, got: features.schemaHash)
        }
        if let model = models.first(where: { $0.featureCount != features.values.count }) {
            return .featureLength(count: features.values.count, model: model.name, reads: model.featureCount)
        }
        return nil
    }

    /// Every model's calibrated distribution for the row, in the models' order. The slow part:
    /// run it outside any lock, on a snapshot of ``models``.
    public static func predict(_ features: FeatureVector, models: [LiveModel]) throws(Rejection) -> [[Double]] {
        if let problem = problem(with: features, models: models) { throw problem }
        var distributions: [[Double]] = []
        distributions.reserveCapacity(models.count)
        for model in models {
            do {
                distributions.append(try model.predict(features.values))
            } catch {
                throw .modelOutput("\(model.name): \(error)")
            }
        }
        return distributions
    }

    /// Scores the ticker's predictions that have matured, combines `distributions` (from
    /// ``predict(_:models:)`` with the models of `generation`), decides, and remembers the
    /// prediction. Nil when `generation` is no longer the current one (the models were
    /// replaced during the prediction: predict again); throws when the distributions do not
    /// fit the models. Nothing changes in either case.
    public mutating func step(
        _ features: FeatureVector, distributions: [[Double]], generation: Int, now: ContinuousClock.Instant
    ) throws(Rejection) -> Step? {
        guard generation == self.generation else { return nil }
        guard let first = models.first else { throw .noModels }
        guard distributions.count == models.count, distributions.allSatisfy({ $0.count == Direction.count }) else {
            throw .modelOutput("\(distributions.count) distributions for \(models.count) models")
        }
        var ticker = tickers.value(for: features.symbol) ?? Ticker()
        ticker.bars += 1
        let index = ticker.bars
        var drifted: [LiveModel] = []
        var outcomes = 0
        while let head = ticker.pending.first, head.index + first.horizon <= index {
            ticker.pending.removeFirst()
            // A gap (the outcome is unknown), or a prediction of models no longer served.
            guard head.index + first.horizon == index, head.generation == generation else { continue }
            let forward = Direction.logReturn(from: head.close, to: features.close)
            for (model, choice) in zip(models, head.choices) {
                let label = Direction(forwardReturn: forward, deadZone: model.deadZone)
                accuracy.record(model, hit: choice == label.rawValue, decay: settings.accuracyDecay)
                accuracyChanged = true
                outcomes += 1
                if accuracy.checkDrift(model, threshold: settings.driftThreshold, minOutcomes: settings.driftMinOutcomes) {
                    drifted.append(model)
                }
            }
        }
        let ensemble = EnsembleEvaluation(
            models: models, distributions: distributions, method: settings.method, weights: settings.weights,
            accuracy: accuracy)
        ticker.pending.append(Ticker.Pending(
                index: index, close: features.close, generation: generation,
                choices: distributions.map(Direction.mostLikely)))
        let decision = settings.policy.decide(probabilities: ensemble.probabilities, features: features)
        let verdict: Step.Verdict
        if !sessionOpen {
            verdict = .outsideSession
        } else if let last = ticker.last, last.action == decision.action, now - last.at < settings.cooldown {
            verdict = .unchanged
        } else {
            verdict = .due
            ticker.last = (decision.action, now)
        }
        let evictionsBefore = tickers.evictions
        tickers.set(ticker, for: features.symbol)
        return Step(
            verdict: verdict, decision: decision, probabilities: ensemble.probabilities,
            votes: ensemble.votes(models: models, accuracy: accuracy), drifted: drifted,
            evicted: tickers.evictions != evictionsBefore, outcomes: outcomes)
    }
}
