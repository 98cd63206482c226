import Bus
import Contracts
import FeatureContract
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
    let loadModels: @Sendable () throws -> [LiveModel]
    /// Makes unguessable, restart-stable signal ids.
    let signalID: SignalID
    let signalIDProblem: String?
    let core: Core
    /// Features published → signal published.
    let signalDelay: LatencyHistogram
    /// Votes, accuracy, weights and drift on the scrape.
    let modelMetrics: ModelMetrics

    final class Core: Sendable {
        struct Values {
            /// The decisions: models, live accuracy, each ticker's memory, the session.
            var engine: SignalEngine
            var schemaAlerted = false
            /// The last failed reload (directory stamp and error): alerted once, not on every poll.
            var lastReloadFailure: String?
            /// Why the state file was not used, to alert once the service runs.
            var stateFileProblem: String?
            /// Predictions against the training class balance; nil without a report.json.
            var drift: PredictionDrift?
            var driftAlerted = false
            /// Features against the training rows; nil without `feature_bins` in report.json.
            var featureDrift: FeatureDrift?
            var featureDriftAlerted = false
        }
        let values: Mutex<Values>
        /// Rate-limits the log lines of dropped feature vectors.
        let rejections = LogThrottle()

        init(engine: SignalEngine) {
            values = Mutex(Values(engine: engine))
        }
    }

    /// Per-symbol state kept for at most this many symbols (the configured tickers fit with
    /// room to spare); the least recently seen is forgotten first.
    static func tickerCapacity(tickers: Int) -> Int { max(64, 4 * tickers) }

    /// The engine's settings from the config's `ensemble_method`, `signal_threshold`,
    /// `signals` and `models` sections.
    static func engineSettings(_ config: TickwireConfig) -> SignalEngine.Settings {
        SignalEngine.Settings(
            method: EnsembleMethod(rawValue: config.ensembleMethod) ?? .dynamicEnsemble,
            weights: config.models.weights,
            policy: SignalPolicy(
                threshold: config.signalThreshold, capital: config.signals.capital,
                riskPerTrade: config.signals.riskPerTrade, atrStopMultiple: config.signals.atrStopMultiple,
                maxPositionFraction: config.signals.maxPositionFraction),
            cooldown: .seconds(config.signals.cooldownSeconds), accuracyDecay: config.models.accuracyDecay,
            driftThreshold: config.models.driftThreshold, driftMinOutcomes: config.models.driftMinOutcomes,
            tickerCapacity: tickerCapacity(tickers: config.tickers.count))
    }

    public init(
        environment: ServiceEnvironment, loadModels: @escaping @Sendable () throws -> [LiveModel]
    ) throws {
        self.environment = environment
        let config = environment.config
        self.loadModels = loadModels
        signalDelay = LatencyHistogram(
            metric: "signal_delay", [("service", environment.name), ("instance", environment.producer.instance)],
            help: "From the publish of a feature vector to the publish of the signal it made.")
        (signalID, signalIDProblem) = SignalID.load(path: SignalID.path(stateFile: config.models.stateFile))
        let models = try loadModels()
        guard !models.isEmpty else {
            throw ConfigError(path: "models.directory", message: "no model files in '\(config.models.directory)': run `tickwire train` first")
        }
        // A state file that cannot be used is not fatal: fresh weights, and an alert once running.
        var accuracy = LiveAccuracy()
        var stateFileProblem: String?
        do {
            accuracy = try LiveAccuracy.load(path: config.models.stateFile) ?? LiveAccuracy()
        } catch {
            stateFileProblem = error.description
        }
        core = Core(engine: SignalEngine(models: models, accuracy: accuracy, settings: Self.engineSettings(config)))
        let drift = PredictionDrift.trainingBalance(directory: config.models.directory).flatMap { PredictionDrift(balance: $0) }
        let featureDrift = Self.featureDrift(config.models.directory, models: models)
        core.values.withLock {
            $0.stateFileProblem = stateFileProblem
            $0.drift = drift
            $0.featureDrift = featureDrift
        }
        modelMetrics = ModelMetrics(service: environment.name, instance: environment.producer.instance)
        for model in models {
            modelMetrics.accuracy.set(model.name, accuracy.accuracy(of: model))
        }
    }

    public func run() async throws {
        let config = environment.config
        let (engine, stateFileProblem) = core.values.withLock { ($0.engine, $0.stateFileProblem) }
        if let signalIDProblem { environment.logger.warning("\(signalIDProblem)") }
        if let stateFileProblem {
            environment.counters.add("models.state_file_invalid")
            environment.raiseAlert(
                .warning, category: "models.state_invalid", title: "ensemble state file not used",
                message: "\(stateFileProblem); starting with fresh live weights (the file is replaced at the next save)")
        }
        environment.logger.info(
            "\(engine.models.count) models (\(engine.models.map { "\($0.name)@\($0.version)" }.joined(separator: ", "))), \(engine.settings.method.rawValue), threshold \(engine.settings.policy.threshold), horizon \(engine.horizon) bars")
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
                defer { values.engine.sessionOpen = open }
                return values.engine.sessionOpen != open
            }
            if changed { logger.info(open ? "signals on: the session allows them" : "signals off until the session allows them") }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await follower.run() }
            group.addTask { await reloadOnChange() }
            group.addTask { await saveAccuracyPeriodically() }
            group.addTask {
                try await subscription.run { delivery in
                    if case .features(let features) = delivery.payload { handle(features, publishedAtNs: delivery.publishTimeNs) }
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

    /// One feature vector through the engine: the models run on a snapshot, outside the lock;
    /// the engine's step (outcomes, ensemble, policy, cooldown) runs under it.
    /// `publishedAtNs`, the features' publish time, starts
    /// `tickwire_signal_delay_seconds` (features published → signal published).
    func handle(_ features: FeatureVector, publishedAtNs: Int64 = 0) {
        environment.counters.addIn()
        // A reload between the prediction and the step means predicting again (bounded).
        for _ in 0..<3 {
            let (models, generation) = core.values.withLock { ($0.engine.models, $0.engine.generation) }
            let step: SignalEngine.Step?
            do {
                let distributions = try SignalEngine.predict(features, models: models)
                step = try core.values.withLock { values throws(SignalEngine.Rejection) -> SignalEngine.Step? in
                    try values.engine.step(features, distributions: distributions, generation: generation, now: .now)
                }
            } catch {
                refuse(features, error)
                return
            }
            guard let step else { continue }
            environment.counters.add("decisions")
            if step.evicted { environment.counters.add("tickers.evicted") }
            alertDrift(step.drifted)
            modelMetrics.record(step.votes)
            recordPrediction(step.probabilities)
            recordFeatures(features.values)
            switch step.verdict {
            case .outsideSession: environment.counters.add("signals.outside_session")
            case .unchanged: environment.counters.add("signals.unchanged")
            case .due:
                publish(signal(for: features, step: step, models: models))
                signalDelay.record(fromNs: publishedAtNs, toNs: WallClock.nanoseconds())
            }
            return
        }
        reject(features, counter: "rejected.models_reloading", "the models were replaced three times during the prediction")
    }

    /// The bus message for a decision that is due.
    func signal(for features: FeatureVector, step: SignalEngine.Step, models: [LiveModel]) -> Signal {
        let decision = step.decision
        var signal = Signal()
        signal.symbol = features.symbol
        signal.action = decision.action
        signal.confidence = decision.confidence
        signal.price = features.close
        signal.suggestedPositionSize = decision.positionFraction
        signal.ensembleMethod = core.values.withLock { $0.engine.settings.method.rawValue }
        signal.votes = step.votes
        signal.modelVersions = models.map { "\($0.name)@\($0.version)" }
        signal.modelVersion = signal.modelVersions.joined(separator: ",")
        signal.horizonBars = Int32(clamping: models.first?.horizon ?? 0)
        signal.id = signalID.id(symbol: features.symbol, barEnd: features.barEndTimeNs, action: decision.action)
        signal.stopLoss = decision.stopLoss
        signal.shares = decision.shares
        signal.riskAmount = decision.riskAmount
        signal.schemaHash = models.first?.schemaHash ?? ""
        signal.barEndTimeNs = features.barEndTimeNs
        return signal
    }

    func publish(_ signal: Signal) {
        guard let topic = try? Topic.signal(signal.symbol) else { return }
        environment.publish(.signal(signal), on: topic, eventTime: signal.barEndTimeNs)
        environment.counters.add("signals.\(signal.action == .buy ? "buy" : signal.action == .sell ? "sell" : "hold")")
        environment.logger.info(
            "\(signal.symbol) \(signal.action) confidence \(String(format: "%.2f", signal.confidence)) at \(signal.price)")
    }

    /// A refused row: counted by reason; a schema mismatch is alerted once (until a reload).
    func refuse(_ features: FeatureVector, _ rejection: SignalEngine.Rejection) {
        guard case .schemaMismatch(let expected, _) = rejection else {
            reject(features, counter: rejection.counter, rejection.description)
            return
        }
        environment.counters.add(rejection.counter)
        let first = core.values.withLock { values -> Bool in
            defer { values.schemaAlerted = true }
            return !values.schemaAlerted
        }
        guard first else { return }
        environment.raiseAlert(
            .error, category: "model.schema_mismatch", title: "features do not match the models",
            message: "features.\(features.symbol) has schema hash \(features.schemaHash) (\(features.featureSet) v\(features.featureSetVersion)) but the models were trained on \(expected); retrain with `tickwire train`",
            symbol: features.symbol)
    }

    /// Counts a dropped feature vector under `counter` (e.g. `rejected.feature_length`) and logs
    /// it, rate-limited.
    func reject(_ features: FeatureVector, counter: String, _ reason: String) {
        environment.counters.add(counter)
        if core.rejections.shouldReport() {
            environment.logger.warning("dropped features.\(features.symbol.prefix(40)) (\(counter)): \(reason)")
        }
    }

    /// Adds the ensemble's predicted class to the drift index; raises `model.drift` once when
    /// it passes ``PredictionDrift/alertThreshold`` (again after it fell below the re-arm level).
    func recordPrediction(_ probabilities: [Double]) {
        guard probabilities.count == 3, let top = probabilities.indices.max(by: { probabilities[$0] < probabilities[$1] })
        else { return }
        let crossed = core.values.withLock { values -> (psi: Double, shares: [Double], reference: [Double])? in
            // Mutated in place: a copy out and back would copy its window on every decision.
            values.drift?.record(predictedClass: top)
            guard let drift = values.drift, let psi = drift.index else { return nil }
            modelMetrics.drift.set("predictions", psi)
            // Heartbeat counters are whole numbers: the index in thousandths (the dashboard's).
            environment.counters.set("models.prediction_psi_milli", UInt64(min(max(psi, 0), 1e6) * 1000))
            if psi < PredictionDrift.rearmThreshold { values.driftAlerted = false }
            guard psi > PredictionDrift.alertThreshold, !values.driftAlerted else { return nil }
            values.driftAlerted = true
            return (psi, drift.shares, drift.reference)
        }
        guard let crossed else { return }
        environment.counters.add("models.prediction_drift")
        func percent(_ shares: [Double]) -> String { shares.map { String(format: "%.0f%%", $0 * 100) }.joined(separator: "/") }
        environment.raiseAlert(
            .warning, category: "model.drift", title: "predictions drifted from training",
            message: String(
                format: "the last %d decisions predicted down/flat/up %@ against %@ in training: PSI %.3f (above %.2f)",
                core.values.withLock { $0.drift?.window ?? 0 }, percent(crossed.shares), percent(crossed.reference),
                crossed.psi, PredictionDrift.alertThreshold),
            details: ["psi": String(format: "%.4f", crossed.psi)])
    }

    /// The feature drift index for `models`, from the training rows' bins in `directory`.
    static func featureDrift(_ directory: String, models: [LiveModel]) -> FeatureDrift? {
        guard let count = models.first?.featureCount, let bins = FeatureDrift.trainingBins(directory: directory) else { return nil }
        return FeatureDrift(bins: bins, featureCount: count)
    }

    /// Adds a feature vector to the feature drift index; raises `model.drift` once when the
    /// largest feature's index passes ``PredictionDrift/alertThreshold`` (re-armed below
    /// ``PredictionDrift/rearmThreshold``).
    func recordFeatures(_ values: [Double]) {
        let crossed = core.values.withLock { state -> (psi: Double, feature: Int)? in
            state.featureDrift?.record(values)  // in place, as above
            guard let largest = state.featureDrift?.largest else { return nil }
            modelMetrics.drift.set("features", largest.index)
            environment.counters.set("models.feature_psi_milli", UInt64(min(max(largest.index, 0), 1e6) * 1000))
            if largest.index < PredictionDrift.rearmThreshold { state.featureDriftAlerted = false }
            guard largest.index > PredictionDrift.alertThreshold, !state.featureDriftAlerted else { return nil }
            state.featureDriftAlerted = true
            return (largest.index, largest.feature)
        }
        guard let crossed else { return }
        let names = FeatureSchema.default.names
        let name = crossed.feature < names.count ? names[crossed.feature] : "feature \(crossed.feature)"
        environment.counters.add("models.feature_drift")
        environment.raiseAlert(
            .warning, category: "model.drift", title: "features drifted from training",
            message: String(
                format: "%@ over the last %d feature vectors has a population stability index of %.3f against the training rows (above %.2f); the models see data unlike what they learned from",
                name, core.values.withLock { $0.featureDrift?.window ?? 0 }, crossed.psi, PredictionDrift.alertThreshold),
            details: ["psi": String(format: "%.4f", crossed.psi), "feature": name])
    }

    func alertDrift(_ models: [LiveModel]) {
        for model in models {
            let live = core.values.withLock { $0.engine.accuracy.models[model.name]?.accuracy ?? 0 }
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
            let drift = PredictionDrift.trainingBalance(directory: environment.config.models.directory)
                .flatMap { PredictionDrift(balance: $0) }
            let featureDrift = Self.featureDrift(environment.config.models.directory, models: models)
            core.values.withLock {
                $0.engine.replaceModels(models)
                $0.schemaAlerted = false
                $0.lastReloadFailure = nil
                $0.drift = drift  // new models: a new training distribution, a fresh window
                $0.driftAlerted = false
                $0.featureDrift = featureDrift
                $0.featureDriftAlerted = false
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
            guard values.engine.accuracyChanged else { return nil }
            values.engine.markAccuracySaved()
            return values.engine.accuracy
        }
        guard var snapshot else { return }
        snapshot.updatedAt = ISO8601DateFormatter().string(from: Date())
        do {
            try snapshot.save(path: environment.config.models.stateFile)
        } catch {
            environment.logger.error("cannot save live accuracies to \(environment.config.models.stateFile): \(error)")
        }
    }
}
