import Contracts
import Foundation
import Indicators
import Logging
import Models
import Scheduling
import ServiceKit
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The signal generator: runs the ensemble on every `features.<SYMBOL>`, publishes BUY / SELL
/// / HOLD on `signal.<SYMBOL>` when a ticker's action changes (or again after the cooldown),
/// learns each model's live accuracy as outcomes arrive `horizon` bars later, and acts only in
/// the sessions the config allows.
public struct SignalService: Service {
    let environment: ServiceEnvironment
    let method: EnsembleMethod
    let policy: SignalPolicy
    let loadModels: @Sendable () throws -> [LiveModel]
    let core: Core

    final class Core: Sendable {
        struct Values {
            var models: [LiveModel] = []
            var accuracy = LiveAccuracy()
            var tickers: [String: Ticker] = [:]
            var sessionOpen = true
            var accuracyDirty = false
            var schemaAlerted = false
        }
        let values = Mutex(Values())
    }

    /// One ticker's memory: its bar count and the predictions awaiting outcomes.
    struct Ticker {
        var bars = 0
        var pending: [(index: Int, close: Double, choices: [String: Int])] = []
        var last: (action: Action, at: ContinuousClock.Instant)?
    }

    public init(
        environment: ServiceEnvironment, loadModels: @escaping @Sendable () throws -> [LiveModel]
    ) throws {
        self.environment = environment
        let config = environment.config
        method = EnsembleMethod(rawValue: config.ensembleMethod) ?? .dynamicEnsemble
        policy = SignalPolicy(
            threshold: config.signalThreshold, capital: config.signals.capital, riskPerTrade: config.signals.riskPerTrade,
            atrStopMultiple: config.signals.atrStopMultiple, maxPositionFraction: config.signals.maxPositionFraction)
        self.loadModels = loadModels
        core = Core()
        let models = try loadModels()
        guard !models.isEmpty else {
            throw ConfigError(path: "models.directory", message: "no model files in '\(config.models.directory)': run `tickwire train` first")
        }
        let accuracy = LiveAccuracy.load(path: config.models.stateFile) ?? LiveAccuracy()
        core.values.withLock {
            $0.models = models
            $0.accuracy = accuracy
        }
    }

    public func run() async throws {
        let config = environment.config
        let models = core.values.withLock { $0.models }
        environment.logger.info(
            "\(models.count) models (\(models.map { "\($0.name)@\($0.version)" }.joined(separator: ", "))), \(method.rawValue), threshold \(policy.threshold), horizon \(models.first?.horizon ?? 0) bars")
        let patterns = try config.tickers.map { TopicPattern(exact: try Topic.features($0)) }
        let subscription = try await environment.subscribe(patterns)
        let includeExtended = config.marketHours.includeExtendedHours
        let core = self.core
        let logger = environment.logger
        let follower = SessionFollower(environment: environment, calendar: try .configured(config)) { phase, _ in
            let open = phase == .regular || (includeExtended && (phase == .preMarket || phase == .postMarket))
            let changed = core.values.withLock { values -> Bool in
                defer { values.sessionOpen = open }
                return values.sessionOpen != open
            }
            if changed { logger.info(open ? "signals on: the session allows them" : "signals off until the session allows them") }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await follower.run() }
            group.addTask { await reloadOnChange() }
            group.addTask { await saveAccuracyPeriodically() }
            group.addTask {
                for try await delivery in subscription.cancelOnGracefulShutdown() {
                    if case .features(let features) = delivery.payload { handle(features) }
                }
            }
            while let _ = try await group.next() {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
            }
            group.cancelAll()
        }
        await subscription.close()
        saveAccuracy()
    }

    // MARK: Features in, signals out

    func handle(_ features: FeatureVector) {
        environment.counters.addIn()
        let config = environment.config
        let decay = config.models.accuracyDecay
        let outcome = core.values.withLock { values -> Outcome in
            guard let first = values.models.first else { return .none }
            guard features.schemaHash == first.schemaHash else {
                let alert = !values.schemaAlerted
                values.schemaAlerted = true
                return .schemaMismatch(expected: first.schemaHash, alert: alert)
            }
            var ticker = values.tickers[features.symbol] ?? Ticker()
            ticker.bars += 1
            let index = ticker.bars
            // Outcomes that are now known.
            var drifted: [LiveModel] = []
            while let head = ticker.pending.first, head.index + first.horizon <= index {
                ticker.pending.removeFirst()
                guard head.index + first.horizon == index else { continue }  // a gap: unknown
                let r = head.close > 0 && features.close > 0 ? log(features.close / head.close) : 0
                for model in values.models {
                    guard let choice = head.choices[model.name] else { continue }
                    let label = r > model.deadZone ? Direction.up.rawValue : (r < -model.deadZone ? Direction.down.rawValue : Direction.flat.rawValue)
                    values.accuracy.record(model, hit: choice == label, decay: decay)
                    values.accuracyDirty = true
                    if values.accuracy.checkDrift(
                        model, threshold: config.models.driftThreshold, minOutcomes: config.models.driftMinOutcomes)
                    {
                        drifted.append(model)
                    }
                }
            }
            // The ensemble now.
            let distributions = values.models.map { $0.probabilities(features.values) }
            let weights: [Double]
            switch method {
            case .weightedAverage, .weightedVote: weights = values.models.map { config.models.weights[$0.name] ?? 1 }
            case .dynamicEnsemble: weights = values.models.map { values.accuracy.accuracy(of: $0) }
            default: weights = []
            }
            let (combined, modelWeights) = method.combine(distributions, weights: weights)
            let probabilities = TemperatureScaling.apply(combined, temperature: first.ensembleTemperature)
            var choices: [String: Int] = [:]
            for (model, p) in zip(values.models, distributions) { choices[model.name] = Direction.mostLikely(p) }
            ticker.pending.append((index, features.close, choices))
            let open = values.sessionOpen
            let atr = Self.natrIndex.map { features.values[$0] * features.close } ?? 0
            let decision = policy.decide(probabilities: probabilities, price: features.close, atr: atr)
            let due: Bool
            if let last = ticker.last {
                due = last.action != decision.action || ContinuousClock.now - last.at >= .seconds(config.signals.cooldownSeconds)
            } else {
                due = true
            }
            if open && due { ticker.last = (decision.action, .now) }
            values.tickers[features.symbol] = ticker
            let votes = zip(values.models, zip(distributions, modelWeights)).map { model, pair -> ModelVote in
                var vote = ModelVote()
                vote.model = model.name
                let choice = Direction.mostLikely(pair.0)
                vote.action = choice == Direction.up.rawValue ? .buy : (choice == Direction.down.rawValue ? .sell : .hold)
                vote.probability = pair.0[choice]
                vote.weight = pair.1
                vote.probabilityDown = pair.0[0]
                vote.probabilityFlat = pair.0[1]
                vote.probabilityUp = pair.0[2]
                vote.liveAccuracy = values.accuracy.models[model.name]?.accuracy ?? 0
                return vote
            }
            guard open else { return .outsideSession(drifted: drifted) }
            guard due else { return .unchanged(drifted: drifted) }
            var signal = Signal()
            signal.symbol = features.symbol
            signal.action = decision.action
            signal.confidence = decision.confidence
            signal.price = features.close
            signal.suggestedPositionSize = decision.positionFraction
            signal.ensembleMethod = method.rawValue
            signal.votes = votes
            signal.modelVersion = values.models.map { "\($0.name)@\($0.version)" }.joined(separator: ",")
            signal.modelVersions = values.models.map { "\($0.name)@\($0.version)" }
            signal.horizonBars = Int32(first.horizon)
            signal.id = "\(features.symbol)-\(features.barEndTimeNs)-\(decision.action)"
            signal.stopLoss = decision.stopLoss
            signal.shares = decision.shares
            signal.riskAmount = decision.riskAmount
            signal.schemaHash = first.schemaHash
            signal.barEndTimeNs = features.barEndTimeNs
            return .signal(signal, drifted: drifted)
        }
        switch outcome {
        case .none:
            break
        case .schemaMismatch(let expected, let alert):
            environment.counters.add("features.schema_mismatch")
            if alert {
                environment.raiseAlert(
                    .error, category: "model.schema_mismatch", title: "features do not match the models",
                    message: "features.\(features.symbol) has schema hash \(features.schemaHash) (\(features.featureSet) v\(features.featureSetVersion)) but the models were trained on \(expected); retrain with `tickwire train`",
                    symbol: features.symbol)
            }
        case .outsideSession(let drifted):
            environment.counters.add("signals.outside_session")
            alertDrift(drifted)
        case .unchanged(let drifted):
            environment.counters.add("signals.unchanged")
            alertDrift(drifted)
        case .signal(let signal, let drifted):
            alertDrift(drifted)
            guard let topic = try? Topic.signal(signal.symbol) else { return }
            environment.publish(.signal(signal), on: topic, eventTime: signal.barEndTimeNs)
            environment.counters.add("signals.\(signal.action == .buy ? "buy" : signal.action == .sell ? "sell" : "hold")")
            environment.logger.info(
                "\(signal.symbol) \(signal.action) confidence \(String(format: "%.2f", signal.confidence)) at \(signal.price)")
        }
    }

    /// Where `natr_14` (ATR / close) sits in the feature vector, for the stop distance.
    static let natrIndex = FeaturePipeline.schema.index(of: "natr_14")

    enum Outcome {
        case none
        case schemaMismatch(expected: String, alert: Bool)
        case outsideSession(drifted: [LiveModel])
        case unchanged(drifted: [LiveModel])
        case signal(Signal, drifted: [LiveModel])
    }

    func alertDrift(_ models: [LiveModel]) {
        for model in models {
            let live = core.values.withLock { $0.accuracy.models[model.name]?.accuracy ?? 0 }
            environment.raiseAlert(
                .warning, category: "model.drift", title: "\(model.name) is degrading",
                message: String(
                    format: "%@ live accuracy %.3f is more than %.2f below its validation accuracy %.3f",
                    model.name, live, environment.config.models.driftThreshold, model.validationAccuracy))
        }
    }

    // MARK: Model reload and state

    /// Reloads the models when a file in the directory changes (checked every 2 s) or on
    /// SIGHUP, without dropping messages: the swap happens under the lock between two.
    func reloadOnChange() async {
        let directory = environment.config.models.directory
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals.cancelOnGracefulShutdown() { reload(reason: "SIGHUP") }
            }
            group.addTask {
                var stamp = Self.directoryStamp(directory)
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(2)) }
                    let now = Self.directoryStamp(directory)
                    if now != stamp {
                        stamp = now
                        reload(reason: "model files changed")
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    func reload(reason: String) {
        do {
            let models = try loadModels()
            guard !models.isEmpty else { throw ConfigError(path: "models.directory", message: "no model files left") }
            core.values.withLock {
                $0.models = models
                $0.schemaAlerted = false
            }
            environment.counters.add("models.reloads")
            environment.logger.notice("reloaded \(models.count) models (\(reason)): \(models.map { "\($0.name)@\($0.version)" }.joined(separator: ", "))")
        } catch {
            environment.raiseAlert(
                .error, category: "model.reload_failed", title: "model reload failed",
                message: "\(reason): \(error); still serving the previous models")
        }
    }

    static func directoryStamp(_ directory: String) -> [String: Date] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var stamp: [String: Date] = [:]
        for file in files where file.hasSuffix(".json") {
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + file)
            stamp[file] = attributes?[.modificationDate] as? Date
        }
        return stamp
    }

    func saveAccuracyPeriodically() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(2)) }
            saveAccuracy()
        }
    }

    func saveAccuracy() {
        let snapshot = core.values.withLock { values -> LiveAccuracy? in
            guard values.accuracyDirty else { return nil }
            values.accuracyDirty = false
            values.accuracy.updatedAt = ISO8601DateFormatter().string(from: Date())
            return values.accuracy
        }
        guard let snapshot else { return }
        do {
            try snapshot.save(path: environment.config.models.stateFile)
        } catch {
            environment.logger.error("cannot save live accuracies to \(environment.config.models.stateFile): \(error)")
        }
    }
}
