import Bus
import Contracts
import Foundation
import Logging
import Models
import ServiceKit
@testable import Signals
import Synchronization
import TestSupport
import Testing

/// A model that reads 3 features and always favours up.
private struct Bullish: Classifier {
    var kind: String { "bullish" }
    var featureCount: Int { 3 }
    func probabilities(_ features: [Double]) -> [Double] { [0.1, 0.1, 0.8] }
}

/// A model whose arithmetic overflows on every row.
private struct Overflowing: Classifier {
    var kind: String { "overflowing" }
    var featureCount: Int { 3 }
    func probabilities(_ features: [Double]) -> [Double] { [.nan, .nan, .nan] }
}

/// Records, while it predicts, whether the lock `check` looks at is free.
private final class LockProbe: Sendable {
    let check = Mutex<(@Sendable () -> Bool)?>(nil)
    let results = Mutex<[Bool]>([])
}

/// Favours up, and asks its probe during every prediction.
private struct Probing: Classifier {
    let probe: LockProbe
    var kind: String { "probing" }
    var featureCount: Int { 3 }
    func probabilities(_ features: [Double]) -> [Double] {
        if let check = probe.check.withLock({ $0 }) {
            let free = check()
            probe.results.withLock { $0.append(free) }
        }
        return [0.1, 0.1, 0.8]
    }
}

private func live(_ classifier: any Classifier, name: String) -> LiveModel {
    LiveModel(
        name: name, version: "1", kind: classifier.kind, classifier: classifier, validationAccuracy: 0.5, horizon: 2,
        deadZone: 0.001, schemaHash: "hash-1")
}

private func vector(_ symbol: String = "AAPL", values: [Double] = [0.1, 0.2, 0.3], close: Double = 100) -> FeatureVector {
    var features = FeatureVector()
    features.symbol = symbol
    features.schemaHash = "hash-1"
    features.values = values
    features.close = close
    features.barEndTimeNs = Fixtures.time
    return features
}

/// A signal service on a real bus socket (nobody listens), fed directly.
private func withService(
    models: [LiveModel], stateFile: String? = nil, configure: (inout TickwireConfig) -> Void = { _ in },
    _ body: (SignalService, ServiceCounters) async throws -> Void
) async throws {
    try await withContext { context in
        let publisher = try await MessagePublisher(
            context: context, endpoint: loopbackWildcard, producer: Producer(service: "signal-generator", instance: "test"),
            bind: true)
        var config = TickwireConfig()
        config.tickers = ["AAPL"]
        config.signalThreshold = 0.6
        config.signals.cooldownSeconds = 0
        config.models.stateFile = stateFile
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString).json").path
        configure(&config)
        let counters = ServiceCounters()
        let environment = ServiceEnvironment(
            name: "signal-generator", config: config, logger: Logger(label: "test"), context: context,
            publisher: publisher, counters: counters)
        do {
            let service = try SignalService(environment: environment) { models }
            try await body(service, counters)
        } catch {
            await publisher.close()
            throw error
        }
        await publisher.close()
    }
}

@Suite("Signal service on hostile feature vectors")
struct SignalServiceHostileTests {
    @Test("the frame that crashed the generator (its schema, no values), NaN, a bad close: dropped and counted")
    func rejectedVectors() async throws {
        try await withService(models: [live(Bullish(), name: "a"), live(Bullish(), name: "b")]) { service, counters in
            service.handle(vector(values: []))
            service.handle(vector(values: [0.1, 0.2]))
            service.handle(vector(values: [0.1, 0.2, 0.3, 0.4]))
            service.handle(vector(values: [0.1, .nan, 0.3]))
            service.handle(vector(values: [0.1, .infinity, 0.3]))
            service.handle(vector(close: 0))
            service.handle(vector(close: -5))
            service.handle(vector(close: .nan))
            service.handle(vector(close: .infinity))
            var named = counters.snapshot.named
            #expect(named["rejected.feature_length"] == 3, "\(named)")
            #expect(named["rejected.feature_value"] == 2, "\(named)")
            #expect(named["rejected.close"] == 4, "\(named)")
            #expect(named["signals.buy"] == nil, "\(named)")
            // Still serving: a good vector gives a BUY.
            service.handle(vector())
            named = counters.snapshot.named
            #expect(named["signals.buy"] == 1, "\(named)")
            #expect(counters.snapshot.messagesIn == 10)
        }
    }

    @Test("the models run outside the service's lock: the state stays available during inference")
    func inferenceOutsideTheLock() async throws {
        let probe = LockProbe()
        try await withService(models: [live(Probing(probe: probe), name: "probing")]) { service, counters in
            probe.check.withLock { $0 = { service.core.values.withLockIfAvailable { _ in true } ?? false } }
            service.handle(vector())
            service.handle(vector())
            #expect(probe.results.withLock { $0 } == [true, true])
            #expect(counters.snapshot.named["decisions"] == 2)
        }
    }

    @Test("a model that gives no finite probabilities drops the vector, leaving no per-symbol state")
    func modelOutput() async throws {
        try await withService(models: [live(Bullish(), name: "a"), live(Overflowing(), name: "b")]) { service, counters in
            service.handle(vector())
            #expect(counters.snapshot.named["rejected.model_output"] == 1)
            #expect(service.core.values.withLock { $0.engine.tickerCount } == 0)
        }
    }

    @Test("per-symbol state is bounded: the least recently seen symbol is forgotten and counted")
    func boundedTickers() async throws {
        try await withService(models: [live(Bullish(), name: "a")]) { service, counters in
            let capacity = SignalService.tickerCapacity(tickers: 1)
            for i in 0..<(capacity + 10) { service.handle(vector("SYM\(i)")) }
            #expect(service.core.values.withLock { $0.engine.tickerCount } == capacity)
            #expect(counters.snapshot.named["tickers.evicted"] == 10)
            #expect(service.core.values.withLock { $0.engine.remembers("SYM0") } == false)
            #expect(service.core.values.withLock { $0.engine.remembers("SYM\(capacity + 9)") } == true)
        }
    }

    @Test("extreme bar times and prices flow through without trapping")
    func extremes() async throws {
        try await withService(models: [live(Bullish(), name: "a")]) { service, counters in
            for time in [Int64.min, -1, 0, Int64.max] {
                var features = vector()
                features.barEndTimeNs = time
                service.handle(features)
            }
            service.handle(vector(values: [0.1, 0.2, 1e308], close: 1e308))
            service.handle(vector(values: [0.1, 0.2, Double.leastNonzeroMagnitude], close: Double.leastNonzeroMagnitude))
            #expect(counters.snapshot.named["signals.buy"] == 6, "\(counters.snapshot.named)")
        }
    }

    @Test("an unusable state file: fresh weights, reported; the generator still starts")
    func badStateFile() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("state.json", #"{"models": {"a": {"accuracy": 1e308, "outcomes": 3, "drifting": false}}, "updated_at": "x"}"#)
        try await withService(models: [live(Bullish(), name: "a")], stateFile: path) { service, _ in
            let (accuracy, problem) = service.core.values.withLock { ($0.engine.accuracy, $0.stateFileProblem) }
            #expect(accuracy == LiveAccuracy())
            #expect(problem?.contains("models.a.accuracy") == true, "\(problem ?? "none")")
        }
    }

    @Test("a bad model directory on reload keeps the old models and reports once per version")
    func reloadKeepsModels() async throws {
        let failures = ReloadScript()
        try await withContext { context in
            let publisher = try await MessagePublisher(
                context: context, endpoint: loopbackWildcard, producer: Producer(service: "signal-generator", instance: "test"),
                bind: true)
            var config = TickwireConfig()
            config.tickers = ["AAPL"]
            config.models.stateFile = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString).json").path
            let counters = ServiceCounters()
            let environment = ServiceEnvironment(
                name: "signal-generator", config: config, logger: Logger(label: "test"), context: context,
                publisher: publisher, counters: counters)
            let service = try SignalService(environment: environment) { try failures.next() }
            service.reload(reason: "SIGHUP")
            service.reload(reason: "SIGHUP")
            #expect(counters.snapshot.named["models.reload_failures"] == 2)
            #expect(counters.snapshot.named["alerts.error"] == 1, "one alert for one bad version: \(counters.snapshot.named)")
            #expect(service.core.values.withLock { $0.engine.models.map(\.name) } == ["first"])
            service.handle(vector())
            #expect(counters.snapshot.named["signals.buy"] == 1)
            await publisher.close()
        }
    }
}

/// Model loads for a reload test: the first succeeds, later ones fail.
private final class ReloadScript: Sendable {
    private let calls = Mutex(0)

    func next() throws -> [LiveModel] {
        let call = calls.withLock { value -> Int in
            value += 1
            return value
        }
        guard call == 1 else {
            throw ModelFileError.invalidModel(path: "/models/rf.json", reason: "payload.rf.trees[0].left[0]: index 9 out of range (1..<3)")
        }
        return [live(Bullish(), name: "first")]
    }
}

@Suite("Hostile state files and sizing")
struct HostileStateTests {
    @Test("corrupt, truncated, out-of-range, oversized state files are refused with their path; none is nil")
    func stateFiles() throws {
        let directory = try TemporaryDirectory()
        let good = #"{"models": {"rf": {"accuracy": 0.5, "outcomes": 3, "drifting": false}}, "updated_at": "x"}"#
        #expect(try LiveAccuracy.load(path: directory.write("good.json", good))?.models["rf"]?.outcomes == 3)
        #expect(try LiveAccuracy.load(path: directory.file("absent.json")) == nil)
        let bad: [(name: String, text: String, mentions: String)] = [
            ("truncated", String(good.prefix(30)), "not a valid state file"),
            ("garbage", "\u{1}\u{2}garbage", "not a valid state file"),
            ("nan", #"{"models": {"rf": {"accuracy": NaN, "outcomes": 3, "drifting": false}}, "updated_at": "x"}"#, "not a valid state file"),
            ("huge-accuracy", #"{"models": {"rf": {"accuracy": 1e308, "outcomes": 3, "drifting": false}}, "updated_at": "x"}"#, "models.rf.accuracy"),
            ("negative", #"{"models": {"rf": {"accuracy": -0.5, "outcomes": 3, "drifting": false}}, "updated_at": "x"}"#, "models.rf.accuracy"),
            ("outcomes", #"{"models": {"rf": {"accuracy": 0.5, "outcomes": -3, "drifting": false}}, "updated_at": "x"}"#, "models.rf.outcomes"),
        ]
        for (name, text, mentions) in bad {
            let path = try directory.write("\(name).json", text)
            let error = try #require(throws: StateFileError.self) { try LiveAccuracy.load(path: path) }
            #expect(error.description.contains(path) && error.description.contains(mentions), "\(name): \(error)")
        }
        let huge = directory.file("huge.json")
        #expect(FileManager.default.createFile(atPath: huge, contents: Data("{".utf8)))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: huge))
        try handle.truncate(atOffset: UInt64(LiveAccuracy.maxFileBytes) + 1)
        try handle.close()
        let tooLarge = try #require(throws: StateFileError.self) { try LiveAccuracy.load(path: huge) }
        #expect(tooLarge.reason.contains("at most"), "\(tooLarge)")
    }

    @Test("an outcome count at Int.max saturates instead of trapping")
    func saturatingOutcomes() {
        var accuracy = LiveAccuracy()
        accuracy.models["a"] = .init(accuracy: 0.5, outcomes: .max, drifting: false)
        accuracy.record(live(Bullish(), name: "a"), hit: true, decay: 0.9)
        #expect(accuracy.models["a"]?.outcomes == .max)
    }

    @Test("sizing never gives infinite or NaN shares; a malformed distribution is a HOLD")
    func sizing() {
        let policy = SignalPolicy(threshold: 0.6, capital: 100_000, riskPerTrade: 0.01, atrStopMultiple: 2, maxPositionFraction: 0.25)
        #expect(policy.decide(probabilities: [], price: 100, atr: 1).action == .hold)
        #expect(policy.decide(probabilities: [0.9], price: 100, atr: 1).action == .hold)
        #expect(policy.decide(probabilities: [0, .nan, 1], price: 100, atr: 1).action == .hold)
        let up = [0.1, 0.1, 0.8]
        for (price, atr) in [(Double.leastNonzeroMagnitude, Double.leastNonzeroMagnitude), (100, Double.leastNonzeroMagnitude), (.infinity, 1), (.nan, 1), (100, .nan), (100, .infinity), (1e308, 1e308)] {
            let decision = policy.decide(probabilities: up, price: price, atr: atr)
            #expect(decision.action == .buy)
            for value in [decision.shares, decision.stopLoss, decision.positionFraction, decision.riskAmount] {
                #expect(value.isFinite, "price \(price) atr \(atr): \(decision)")
            }
        }
    }
}
