import Contracts
import Foundation
import Models
import ServiceKit
import Signals
import Synchronization

/// What a signal says to do.
public enum Action: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case buy = "BUY"
    case sell = "SELL"
    case hold = "HOLD"

    public var description: String { rawValue }
}

/// The chances of the price moving down, staying within the models' dead zone, or moving up
/// over their horizon (they sum to 1).
public struct Probabilities: Sendable, Hashable {
    /// P(down), P(flat) and P(up).
    public var down: Double
    public var flat: Double
    public var up: Double

    /// A distribution; give values that sum to 1.
    public init(down: Double, flat: Double, up: Double) {
        self.down = down
        self.flat = flat
        self.up = up
    }

    init(_ values: [Double]) {
        self.init(
            down: values.count == 3 ? values[0] : 0, flat: values.count == 3 ? values[1] : 1,
            up: values.count == 3 ? values[2] : 0)
    }

    /// In the models' order: down, flat, up.
    var values: [Double] { [down, flat, up] }
}

/// One model's opinion inside an ensemble's decision.
public struct Vote: Sendable, Hashable {
    /// The model's name, e.g. `rf`.
    public var model: String
    /// The model's most likely direction.
    public var action: Action
    /// The model's probability for `action`.
    public var probability: Double
    /// Its weight in the ensemble (the weights sum to 1).
    public var weight: Double
    /// The model's whole distribution.
    public var probabilities: Probabilities

    /// A vote of `model`.
    public init(model: String, action: Action, probability: Double, weight: Double, probabilities: Probabilities) {
        self.model = model
        self.action = action
        self.probability = probability
        self.weight = weight
        self.probabilities = probabilities
    }
}

/// A strategy's answer for one closed bar.
public struct Decision: Sendable, Hashable {
    /// What to do.
    public var action: Action
    /// How sure the strategy is of `action`, 0...1.
    public var confidence: Double
    /// The whole distribution, when the strategy has one (the ensemble). A
    /// ``SignalGenerator`` then decides from it exactly as the signal service does (BUY when
    /// P(up) reaches the threshold, SELL when P(down) does, else HOLD), whatever `action` says.
    public var probabilities: Probabilities?
    /// Each model's vote, for an ensemble.
    public var votes: [Vote]

    /// A decision to take `action` with `confidence`.
    public init(action: Action, confidence: Double, probabilities: Probabilities? = nil, votes: [Vote] = []) {
        self.action = action
        self.confidence = confidence
        self.probabilities = probabilities
        self.votes = votes
    }

    /// Hold, with `confidence`.
    public static func hold(confidence: Double = 1) -> Decision { Decision(action: .hold, confidence: confidence) }
}

/// Decides for one ticker after each closed bar, from its features and the bar.
///
/// Write your own (rules on the named features, your own model), use ``EnsembleStrategy`` for
/// the trained models, or ``RuleStrategy`` for a closure. A stateful strategy can be an actor.
/// A ``SignalGenerator`` applies its threshold to what you return: an action whose
/// confidence is below it becomes HOLD.
public protocol Strategy: Sendable {
    /// Shown in signals; the type's name by default.
    var name: String { get }
    /// The decision for `features` (after `bar` closed). A thrown error skips this bar
    /// (counted in ``SignalGenerator/Statistics/strategyErrors``).
    func decide(features: Features, bar: Bar) async throws -> Decision
}

extension Strategy {
    public var name: String { String(describing: Self.self) }
}

/// A strategy from a closure: rules on the named features, for a quick script.
///
/// ```swift
/// let rsi = RuleStrategy(name: "rsi") { features, _ in
///     guard let rsi = features["rsi_14"] else { return .hold() }
///     return rsi < -0.4 ? Decision(action: .buy, confidence: 0.8) : .hold()
/// }
/// ```
public struct RuleStrategy: Strategy {
    /// Shown in signals.
    public let name: String
    private let rule: @Sendable (Features, Bar) -> Decision

    /// A strategy that asks `rule` for each decision.
    public init(name: String = "rules", _ rule: @escaping @Sendable (Features, Bar) -> Decision) {
        self.name = name
        self.rule = rule
    }

    /// What `rule` says.
    public func decide(features: Features, bar: Bar) -> Decision { rule(features, bar) }
}

/// How an ensemble combines its models' distributions (the config's `ensemble_method`).
public struct EnsembleMethod: Sendable, Hashable, CustomStringConvertible {
    let method: Models.EnsembleMethod

    /// The mean of the models' distributions.
    public static let simpleAverage = EnsembleMethod(method: .simpleAverage)
    /// The mean weighted by the configured weights.
    public static let weightedAverage = EnsembleMethod(method: .weightedAverage)
    /// The direction most models rank first wins.
    public static let majorityVote = EnsembleMethod(method: .majorityVote)
    /// As majority vote, each vote counting with its configured weight.
    public static let weightedVote = EnsembleMethod(method: .weightedVote)
    /// The mean weighted by each model's confidence.
    public static let confidenceWeighted = EnsembleMethod(method: .confidenceWeighted)
    /// The mean weighted by each model's accuracy (in a script, its validation accuracy).
    public static let dynamicEnsemble = EnsembleMethod(method: .dynamicEnsemble)

    /// Every method.
    public static var all: [EnsembleMethod] { Models.EnsembleMethod.allCases.map { EnsembleMethod(method: $0) } }

    /// The method of a config name, e.g. `majority_vote`.
    public init?(name: String) {
        guard let method = Models.EnsembleMethod(rawValue: name) else { return nil }
        self.method = method
    }

    init(method: Models.EnsembleMethod) { self.method = method }

    /// The config name, e.g. `majority_vote`.
    public var name: String { method.rawValue }
    public var description: String { name }
}

/// The trained models as a strategy: every model file of a directory (`tickwire train
/// --out DIR`, or XGBoost JSON models) loaded and checked as the signal generator loads them,
/// and decided by the signal generator's own ``Signals/SignalEngine``: the same ensemble code,
/// temperature and live learning.
///
/// Each decision carries the combined ``Probabilities`` and every model's ``Vote``. Like the
/// signal service it learns live: each ticker's prediction is scored `horizon` bars later
/// with the training labels' rule, and `dynamicEnsemble` weighs each model by that decayed
/// accuracy (its validation accuracy before any outcome). See ``liveAccuracy``.
public struct EnsembleStrategy: Strategy {
    /// `ensemble(` and the models' names `)`.
    public let name: String
    /// How the models are combined.
    public let method: EnsembleMethod
    /// The models, as `name@version`.
    public let models: [String]
    /// How many bars ahead the models predict.
    public let horizon: Int
    private let engine: Engine

    /// The engine, shared by copies of the strategy (one memory per ticker inside).
    private final class Engine: Sendable {
        let state: Mutex<SignalEngine>
        init(_ engine: SignalEngine) { state = Mutex(engine) }
    }

    /// Loads the models in `modelDirectory`.
    /// - Parameters:
    ///   - method: how to combine them.
    ///   - weights: by model name, for the weighted methods (1 when not named).
    ///   - horizon: bars ahead for XGBoost models (Tickwire's own files record theirs).
    ///   - accuracyDecay: how slowly live accuracy moves (the config's `models.accuracy_decay`).
    public init(
        modelDirectory: String, method: EnsembleMethod = .dynamicEnsemble, weights: [String: Double] = [:],
        horizon: Int = TickwireConfig().models.horizon, accuracyDecay: Double = TickwireConfig().models.accuracyDecay
    ) throws(ConfigurationError) {
        let live: [LiveModel]
        do {
            live = try ModelDirectory.load(modelDirectory, horizon: horizon)
        } catch {
            throw ConfigurationError("\(error)")
        }
        guard let first = live.first else {
            throw ConfigurationError(
                "no model files in '\(modelDirectory)': train some with `tickwire train --out \(modelDirectory)`")
        }
        guard accuracyDecay.isFinite, (0...1).contains(accuracyDecay) else {
            throw ConfigurationError("accuracyDecay must be between 0 and 1")
        }
        for (model, weight) in weights where !(weight.isFinite && weight >= 0) {
            throw ConfigurationError("weights.\(model) must be a finite number, at least 0")
        }
        let defaults = TickwireConfig()
        // The threshold and sizing here are placeholders: a SignalGenerator applies its own
        // policy to the probabilities this strategy returns.
        let settings = SignalEngine.Settings(
            method: method.method, weights: weights,
            policy: SignalPolicy(threshold: 0.5, capital: 1, riskPerTrade: 0.01, atrStopMultiple: 2, maxPositionFraction: 1),
            cooldown: .zero, accuracyDecay: accuracyDecay, driftThreshold: defaults.models.driftThreshold,
            driftMinOutcomes: defaults.models.driftMinOutcomes, tickerCapacity: 100_000)
        engine = Engine(SignalEngine(models: live, settings: settings))
        self.method = method
        self.horizon = first.horizon
        models = live.map { "\($0.name)@\($0.version)" }
        name = "ensemble(\(live.map(\.name).joined(separator: ",")))"
    }

    /// Each model's live accuracy so far (its validation accuracy before any outcome), and
    /// how many outcomes it has been scored on.
    public var liveAccuracy: [String: (accuracy: Double, outcomes: Int)] {
        engine.state.withLock { engine in
            Dictionary(uniqueKeysWithValues: engine.models.map { model in
                (model.name, (engine.accuracy.accuracy(of: model), engine.accuracy.models[model.name]?.outcomes ?? 0))
            })
        }
    }

    /// The ensemble's distribution for `features`, and each model's vote; the action is the
    /// most likely direction. The models run outside the engine's lock.
    public func decide(features: Features, bar: Bar) throws -> Decision {
        let (live, generation) = engine.state.withLock { ($0.models, $0.generation) }
        let step: SignalEngine.Step?
        do {
            let distributions = try SignalEngine.predict(features.vector, models: live)
            step = try engine.state.withLock { engine throws(SignalEngine.Rejection) -> SignalEngine.Step? in
                try engine.step(features.vector, distributions: distributions, generation: generation, now: .now)
            }
        } catch {
            if case .schemaMismatch(let expected, let got) = error {
                throw ConfigurationError("the features have schema hash \(got) but the models were trained on \(expected): retrain them")
            }
            throw ConfigurationError("\(error)")
        }
        guard let step else { throw ConfigurationError("the models changed during the prediction") }
        let probabilities = Probabilities(step.probabilities)
        let votes = step.votes.map { vote in
            Vote(
                model: vote.model, action: Action(vote.action), probability: vote.probability, weight: vote.weight,
                probabilities: Probabilities(down: vote.probabilityDown, flat: vote.probabilityFlat, up: vote.probabilityUp))
        }
        let best = Direction.mostLikely(step.probabilities)
        let action: Action = best == Direction.up.rawValue ? .buy : (best == Direction.down.rawValue ? .sell : .hold)
        return Decision(
            action: action, confidence: probabilities.values[best], probabilities: probabilities, votes: votes)
    }
}

extension Action {
    init(_ action: Contracts.Action) {
        switch action {
        case .buy: self = .buy
        case .sell: self = .sell
        default: self = .hold
        }
    }
}
