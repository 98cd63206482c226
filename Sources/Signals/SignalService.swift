import Bus
import Contracts
import Foundation
import Logging
import Models
import SessionClient
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
    /// Makes unguessable, restart-stable signal ids.
    let signalID: SignalID
    let signalIDProblem: String?
    let core: Core

    final class Core: Sendable {
        struct Values {
            var models: [LiveModel] = []
            var accuracy = LiveAccuracy()
            /// Per symbol; bounded, whatever symbols arrive.
            var tickers: RecencyMap<String, Ticker>
            var sessionOpen = true
            var accuracyDirty = false
            var schemaAlerted = false
            /// The last failed reload (directory stamp and error): alerted once, not on every poll.
            var lastReloadFailure: String?
            /// Why the state file was not used, to alert once the service runs.
            var stateFileProblem: String?
        }
        let values: Mutex<Values>
        /// Rate-limits the log lines of dropped feature vectors.
        let rejections = LogThrottle()

        init(tickerCapacity: Int) {
            values = Mutex(Values(tickers: RecencyMap(capacity: tickerCapacity)))
        }
    }

    /// Per-symbol state kept for at most this many symbols (the configured tickers fit with
    /// room to spare); the least recently seen is forgotten first.
    static func tickerCapacity(tickers: Int) -> Int { max(64, 4 * tickers) }

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
        (signalID, signalIDProblem) = SignalID.load(path: SignalID.path(stateFile: config.models.stateFile))
        core = Core(tickerCapacity: Self.tickerCapacity(tickers: config.tickers.count))
        let models = try loadModels()
        guard !models.isEmpty else {
            throw ConfigError(path: "models.directory", message: "no model files in '\(config.models.directory)': run `tickwire train` first")
        }
        // A state file that cannot be used is not fatal: fresh weights, and an alert once running.
        var accuracy = LiveAccuracy()
        var stateFileProblem: String?
        do {
            accuracy = try LiveAccuracy.load(path: config.models.stateFile) ?? LiveAccuracy()
            accuracy.keep(only: Set(models.map(\.name)))
        } catch {
            stateFileProblem = error.description
        }
        core.values.withLock {
            $0.models = models
            $0.accuracy = accuracy
            $0.stateFileProblem = stateFileProblem
        }
    }

    public func run() async throws {
        let config = environment.config
        let (models, stateFileProblem) = core.values.withLock { ($0.models, $0.stateFileProblem) }
        if let signalIDProblem { environment.logger.warning("\(signalIDProblem)") }
        if let stateFileProblem {
            environment.counters.add("models.state_file_invalid")
            environment.raiseAlert(
                .warning, category: "models.state_invalid", title: "ensemble state file not used",
                message: "\(stateFileProblem); starting with fresh live weights (the file is replaced at the next save)")
        }
        environment.logger.info(
            "\(models.count) models (\(models.map { "\($0.name)@\($0.version)" }.joined(separator: ", "))), \(method.rawValue), threshold \(policy.threshold), horizon \(models.first?.horizon ?? 0) bars")
        let patterns = try config.tickers.map { TopicPattern(exact: try Topic.features($0)) }
        // Features published while the generator was down are replayed from the journal
        // first, so each becomes a decision exactly once.
        let subscription = try await DurableSubscription(environment: environment, durable: patterns)
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
                try await subscription.run { delivery in
                    if case .features(let features) = delivery.payload { handle(features) }
                }
            }
            while let _ = try await group.next() {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
            }
            group.cancelAll()
        }
        saveAccuracy()
    }

    // MARK: Features in, signals out

    func handle(_ features: FeatureVector) {
        environment.counters.addIn()
        let config = environment.config
        let decay = config.models.accuracyDecay
        // Checks that need no model, outside the lock.
        guard features.close.isFinite, features.close > 0 else {
            reject(features, counter: "rejected.close", "close \(features.close) is not a positive finite price")
            return
        }
        if let index = features.values.firstIndex(where: { !$0.isFinite }) {
            reject(features, counter: "rejected.feature_value", "value \(index) (\(features.values[index])) is not finite")
            return
        }
        let outcome = core.values.withLock { values -> Outcome in
            guard let first = values.models.first else { return .none }
            guard features.schemaHash == first.schemaHash else {
                let alert = !values.schemaAlerted
                values.schemaAlerted = true
                return .schemaMismatch(expected: first.schemaHash, alert: alert)
            }
            if let model = values.models.first(where: { $0.featureCount != features.values.count }) {
                return .rejected(
                    counter: "rejected.feature_length",
                    reason: "\(features.values.count) values, but \(model.name) reads \(model.featureCount)")
            }
            // The ensemble now (before any state changes, so a refused row leaves none).
            let distributions: [[Double]]
            do {
                distributions = try values.models.map { model throws(PredictionError) in try model.predict(features.values) }
            } catch {
                return .rejected(counter: "rejected.model_output", reason: "\(error)")
            }
            var ticker = values.tickers.value(for: features.symbol) ?? Ticker()
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
            let ensemble = EnsembleEvaluation(
                models: values.models, distributions: distributions, method: method, weights: config.models.weights,
                accuracy: values.accuracy)
            var choices: [String: Int] = [:]
            for (model, p) in zip(values.models, distributions) { choices[model.name] = Direction.mostLikely(p) }
            ticker.pending.append((index, features.close, choices))
            let open = values.sessionOpen
            let decision = policy.decide(probabilities: ensemble.probabilities, features: features)
            let due: Bool
            if let last = ticker.last {
                due = last.action != decision.action || ContinuousClock.now - last.at >= .seconds(config.signals.cooldownSeconds)
            } else {
                due = true
            }
            if open && due { ticker.last = (decision.action, .now) }
            let evictionsBefore = values.tickers.evictions
            values.tickers.set(ticker, for: features.symbol)
            let evicted = values.tickers.evictions != evictionsBefore
            let votes = ensemble.votes(models: values.models, accuracy: values.accuracy)
            guard open else { return .outsideSession(drifted: drifted, evicted: evicted) }
            guard due else { return .unchanged(drifted: drifted, evicted: evicted) }
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
            signal.horizonBars = Int32(clamping: first.horizon)
            signal.id = signalID.id(symbol: features.symbol, barEnd: features.barEndTimeNs, action: decision.action)
            signal.stopLoss = decision.stopLoss
            signal.shares = decision.shares
            signal.riskAmount = decision.riskAmount
            signal.schemaHash = first.schemaHash
            signal.barEndTimeNs = features.barEndTimeNs
            return .signal(signal, drifted: drifted, evicted: evicted)
        }
        if outcome.evicted { environment.counters.add("tickers.evicted") }
        switch outcome {
        case .outsideSession, .unchanged, .signal: environment.counters.add("decisions")
        default: break
        }
        switch outcome {
        case .none:
            break
        case .rejected(let counter, let reason):
            reject(features, counter: counter, reason)
        case .schemaMismatch(let expected, let alert):
            environment.counters.add("features.schema_mismatch")
            if alert {
                environment.raiseAlert(
                    .error, category: "model.schema_mismatch", title: "features do not match the models",
                    message: "features.\(features.symbol) has schema hash \(features.schemaHash) (\(features.featureSet) v\(features.featureSetVersion)) but the models were trained on \(expected); retrain with `tickwire train`",
                    symbol: features.symbol)
            }
        case .outsideSession(let drifted, _):
            environment.counters.add("signals.outside_session")
            alertDrift(drifted)
        case .unchanged(let drifted, _):
            environment.counters.add("signals.unchanged")
            alertDrift(drifted)
        case .signal(let signal, let drifted, _):
            alertDrift(drifted)
            guard let topic = try? Topic.signal(signal.symbol) else { return }
            environment.publish(.signal(signal), on: topic, eventTime: signal.barEndTimeNs)
            environment.counters.add("signals.\(signal.action == .buy ? "buy" : signal.action == .sell ? "sell" : "hold")")
            environment.logger.info(
                "\(signal.symbol) \(signal.action) confidence \(String(format: "%.2f", signal.confidence)) at \(signal.price)")
        }
    }

    enum Outcome {
        case none
        case schemaMismatch(expected: String, alert: Bool)
        /// Dropped and counted under `counter`.
        case rejected(counter: String, reason: String)
        case outsideSession(drifted: [LiveModel], evicted: Bool)
        case unchanged(drifted: [LiveModel], evicted: Bool)
        case signal(Signal, drifted: [LiveModel], evicted: Bool)

        /// Whether another symbol's state was forgotten to make room for this one.
        var evicted: Bool {
            switch self {
            case .outsideSession(_, let evicted), .unchanged(_, let evicted), .signal(_, _, let evicted): evicted
            default: false
            }
        }
    }

    /// Counts a dropped feature vector under `counter` (e.g. `rejected.feature_length`) and logs
    /// it, rate-limited.
    func reject(_ features: FeatureVector, counter: String, _ reason: String) {
        environment.counters.add(counter)
        if core.rejections.shouldReport() {
            environment.logger.warning("dropped features.\(features.symbol.prefix(40)) (\(counter)): \(reason)")
        }
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

    /// Loads the models again and swaps them in. A bad file (or an empty directory) keeps the
    /// models being served: the error is logged, and alerted (`models.reload_failed`) once per
    /// version of the directory, not on every poll or SIGHUP that finds the same problem.
    func reload(reason: String) {
        do {
            let models = try loadModels()
            guard !models.isEmpty else { throw ConfigError(path: "models.directory", message: "no model files left") }
            core.values.withLock {
                $0.models = models
                $0.schemaAlerted = false
                $0.lastReloadFailure = nil
            }
            environment.counters.add("models.reloads")
            environment.logger.notice("reloaded \(models.count) models (\(reason)): \(models.map { "\($0.name)@\($0.version)" }.joined(separator: ", "))")
        } catch {
            let stamp = Self.directoryStamp(environment.config.models.directory)
            let failure = "\(stamp.sorted { $0.key < $1.key })|\(error)"
            let first = core.values.withLock { values -> Bool in
                defer { values.lastReloadFailure = failure }
                return values.lastReloadFailure != failure
            }
            environment.counters.add("models.reload_failures")
            guard first else {
                environment.logger.error("model reload (\(reason)) still fails: \(error); still serving the previous models")
                return
            }
            environment.raiseAlert(
                .error, category: "models.reload_failed", title: "model reload failed",
                message: "\(reason): \(error); still serving the previous models")
        }
    }

    /// Each model file's modification time and size: a change means a reload.
    static func directoryStamp(_ directory: String) -> [String: String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var stamp: [String: String] = [:]
        for file in files where file.hasSuffix(".json") {
            let attributes = try? FileManager.default.attributesOfItem(atPath: (directory as NSString).appendingPathComponent(file))
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            let size = (attributes?[.size] as? NSNumber)?.uint64Value ?? 0
            stamp[file] = "\(modified)/\(size)"
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
