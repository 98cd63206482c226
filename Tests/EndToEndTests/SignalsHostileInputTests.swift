import Bus
import Contracts
import Foundation
import TestSupport
import Testing

/// The signal generator as a process, fed hostile frames on a real bus (issue 11): the frame that
/// used to kill it, a vector with NaN, then a model file overwritten with garbage and SIGHUP.
@Suite("Signal generator on hostile input", .serialized, .timeLimit(.minutes(3)))
struct SignalsHostileInputTests {
    /// The live feature schema, from `processor schema`.
    struct Schema {
        var name: String
        var version: Int
        var hash: String
        var names: [String]
    }

    static func schema() async throws -> Schema {
        let process = try RunningProcess("processor", arguments: ["schema"], environment: [:])
        #expect(await process.wait(seconds: 20) == 0, "\(process.stderr)")
        var lines = process.stdout.split(separator: "\n").map(String.init)
        func value(_ key: String) throws -> String {
            let line = try #require(lines.first { $0.hasPrefix(key + " ") }, "no '\(key)' in \(process.stdout)")
            lines.removeAll { $0 == line }
            return String(line.dropFirst(key.count + 1))
        }
        let name = try value("feature_set")
        let version = try #require(Int(try value("version")))
        let hash = try value("schema_hash")
        return Schema(name: name, version: version, hash: hash, names: lines)
    }

    /// A logistic regression on the live schema that always favours up (P(up) ≈ 0.91): no
    /// training needed, and a BUY for every vector it reads.
    static func bullishModel(_ schema: Schema) -> String {
        let n = schema.names.count
        func list(_ value: Double, _ count: Int) -> String { "[" + [String](repeating: "\(value)", count: count).joined(separator: ", ") + "]" }
        let names = "[" + schema.names.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        return #"""
            {"format": "tickwire-model", "format_version": 1, "kind": "logreg", "name": "bullish",
             "feature_set": "\#(schema.name)", "feature_set_version": \#(schema.version), "schema_hash": "\#(schema.hash)",
             "feature_names": \#(names), "hyperparameters": {},
             "training": {"from": "2025-01-02", "to": "2025-03-01", "rows": 100, "horizon": 3, "dead_zone": 0.001},
             "metrics": {"accuracy": 0.5}, "seed": 1, "created_at": "2025-03-01T00:00:00Z",
             "payload": {"logreg": {"standardizer": {"mean": \#(list(0, n)), "scale": \#(list(1, n))},
               "coefficients": [\#(list(0, n)), \#(list(0, n)), \#(list(0, n))], "intercepts": [0, 0, 3]}}}
            """#
    }

    static func features(_ schema: Schema, values: [Double]) -> Envelope.OneOf_Payload {
        var features = FeatureVector()
        features.symbol = "AAPL"
        features.featureSet = schema.name
        features.featureSetVersion = UInt32(schema.version)
        features.schemaHash = schema.hash
        // Names as the processor sends them; the crashing frame had neither names nor values.
        features.names = values.isEmpty ? [] : schema.names
        features.values = values
        features.close = 100
        features.barEndTimeNs = WallClock.nanoseconds()
        return .features(features)
    }

    @Test("the crashing frame and NaN are dropped and counted; a garbage model file on SIGHUP keeps the old models")
    func hostileFramesAndReload() async throws {
        let schema = try await Self.schema()
        #expect(schema.names.count > 10 && schema.hash.count == 16, "\(schema)")
        let directory = try TemporaryDirectory()
        let models = directory.file("models")
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        let modelFile = (models as NSString).appendingPathComponent("bullish.json")
        try Self.bullishModel(schema).write(toFile: modelFile, atomically: true, encoding: .utf8)
        let config = try writeConfig(#"""
            {
                "tickers": ["AAPL"],
                "signal_threshold": 0.6,
                "models": { "directory": "\#(models)", "state_file": "\#(directory.file("state.json"))", "horizon": 3 },
                "signals": { "cooldown_seconds": 0 },
                "heartbeat": { "interval_seconds": 0.5 }
            }
            """#)
        let bus = try TestBus()
        let proxy = try await startProxy(bus)
        let tap = try RunningProcess(
            "bus-tap", arguments: ["signal.", "status.signal-generator", "alert.", "--duration", "100"], environment: bus.environment)
        defer { tap.signal(SIGKILL) }
        try await Task.sleep(for: .seconds(1.5))
        let generator = try RunningProcess("signal-generator", arguments: ["--config", config], environment: bus.environment)
        defer { generator.signal(SIGKILL) }
        #expect(await generator.waitForOutput(seconds: 20) { $0.contains("bullish@") }, "\(generator.stderr)")

        func signals() -> [[String: Any]] { jsonLines(tap.stdout).compactMap { $0["signal"] as? [String: Any] } }
        func alerts(_ category: String) -> [[String: Any]] {
            jsonLines(tap.stdout).compactMap { $0["alert"] as? [String: Any] }.filter { $0["category"] as? String == category }
        }
        func counters() -> [String: Int] {
            let statuses = jsonLines(tap.stdout).compactMap { $0["status"] as? [String: Any] }
            return (statuses.last?["counters"] as? [String: Any] ?? [:]).compactMapValues { $0 as? Int }
        }
        let good = [Double](repeating: 0.01, count: schema.names.count)

        try await withContext { context in
            let publisher = try await MessagePublisher(
                context: context, endpoint: bus.publishEndpoint, producer: Producer(service: "processor", instance: "hostile"), options: try bus.options(as: "processor"))
            let topic = try Topic.features("AAPL")
            // Good vectors until the generator is subscribed and answers (bounded).
            var answered = false
            for _ in 0..<40 where !answered {
                publisher.publish(Self.features(schema, values: good), on: topic)
                answered = await tap.waitForOutput(seconds: 0.5) { _ in !signals().isEmpty }
            }
            #expect(answered, "no signal for a good vector: \(generator.stderr)")
            let first = try #require(signals().first)
            #expect(first["action"] as? String == "ACTION_BUY" && (first["shares"] as? Double ?? 0) > 0, "\(first)")

            // The frame that killed the generator: its models' schema hash and no values. Then NaN.
            publisher.publish(Self.features(schema, values: []), on: topic)
            var withNaN = good
            withNaN[schema.names.count / 2] = .nan
            publisher.publish(Self.features(schema, values: withNaN), on: topic)
            let before = signals().count
            publisher.publish(Self.features(schema, values: good), on: topic)
            #expect(await tap.waitForOutput(seconds: 10) { _ in signals().count > before }, "no signal after the hostile frames")
            let counted = await tap.waitForOutput(seconds: 10) { _ in
                // Both die at the bus boundary: no values is feature_length, NaN is number.
                counters()["rejected.feature_length", default: 0] >= 1 && counters()["rejected.number", default: 0] >= 1
            }
            #expect(counted, "heartbeat counters: \(counters())\n\(generator.stderr)")
            #expect(generator.process.isRunning, "\(generator.stderr)")

            // A model file overwritten with garbage, then SIGHUP: the old model keeps serving, one alert.
            try Data("{\"format\": \"tickwire-model\", \"payload\": [[[[\u{0}garbage".utf8).write(to: URL(fileURLWithPath: modelFile))
            generator.signal(SIGHUP)
            let alerted = await tap.waitForOutput(seconds: 15) { _ in !alerts("models.reload_failed").isEmpty }
            #expect(alerted, "no models.reload_failed alert: \(generator.stderr)")
            let message = alerts("models.reload_failed").first?["message"] as? String ?? ""
            #expect(message.contains("bullish.json"), "\(message)")
            let afterReload = signals().count
            publisher.publish(Self.features(schema, values: good), on: topic)
            #expect(await tap.waitForOutput(seconds: 10) { _ in signals().count > afterReload }, "no signal from the old model")
            // The 2 s file poll sees the same bad version: no second alert; a second SIGHUP neither.
            generator.signal(SIGHUP)
            try await Task.sleep(for: .seconds(3))
            #expect(alerts("models.reload_failed").count == 1, "\(alerts("models.reload_failed"))")
            #expect(generator.process.isRunning, "\(generator.stderr)")
            await publisher.close()
        }
        #expect(await generator.stop() == 0, "\(generator.stderr)")
        await proxy.stop()
    }

    @Test("tickwire predict and train given a hostile model file or flags exit non-zero with the message, never a signal")
    func commandLine() async throws {
        let directory = try TemporaryDirectory()
        let input = try directory.write("features.csv", "timestamp,a,b\n2025-01-02T10:00:00Z,0.1,0.2\n")
        // best_iteration + 1 overflowed (a trap) in a file without iteration_indptr.
        let overflowing = try directory.write("overflow.json", #"""
            {"learner": {"attributes": {"best_iteration": "9223372036854775807"},
              "gradient_booster": {"model": {"gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "1"},
                "tree_info": [0], "trees": [{"left_children": [-1], "right_children": [-1], "split_indices": [0],
                "split_conditions": [0.5], "default_left": [0]}]}, "name": "gbtree"},
              "learner_model_param": {"base_score": "5E-1", "num_class": "0", "num_feature": "2", "num_target": "1"},
              "objective": {"name": "binary:logistic"}}}
            """#)
        let outOfRange = try directory.write("range.json", #"""
            {"learner": {"attributes": {},
              "gradient_booster": {"model": {"tree_info": [0], "trees": [{"left_children": [912, -1, -1],
                "right_children": [2, -1, -1], "split_indices": [0, 0, 0], "split_conditions": [0.5, 1, 2],
                "default_left": [0, 0, 0]}]}, "name": "gbtree"},
              "learner_model_param": {"base_score": "5E-1", "num_class": "0", "num_feature": "2", "num_target": "1"},
              "objective": {"name": "binary:logistic"}}}
            """#)
        let garbage = try directory.write("garbage.json", String(repeating: "[", count: 100_000))
        let cases: [(model: String, mentions: String)] = [
            (overflowing, "learner.attributes.best_iteration"),
            (outOfRange, "learner.gradient_booster.model.trees[0].left_children[0]: index 912 out of range (0..<3)"),
            (garbage, "garbage.json"),
        ]
        for (model, mentions) in cases {
            let predict = try RunningProcess(
                "tickwire", arguments: ["predict", "--model", model, "--input", input, "--output", directory.file("out.csv")],
                environment: [:])
            let status = await predict.wait(seconds: 30)
            #expect(status == 65 && predict.process.terminationReason == .exit, "\(model): \(String(describing: status)) \(predict.stderr)")
            #expect(predict.stderr.contains(mentions), "\(predict.stderr)")
        }
        // Flags out of range are usage errors (ArgumentParser's exit 64), before any file is read.
        for flags in [["--folds", "0"], ["--horizon", "0"], ["--horizon", "1000000"], ["--trees", "0"], ["--dead-zone", "nan"]] {
            let train = try RunningProcess("tickwire", arguments: ["train", "--data", input] + flags, environment: [:])
            let status = await train.wait(seconds: 30)
            #expect(status == 64 && train.process.terminationReason == .exit, "\(flags): \(String(describing: status)) \(train.stderr)")
            #expect(train.stderr.contains(flags[0]), "\(flags): \(train.stderr)")
        }
    }

    @Test("a models or signals setting out of range stops the generator with exit 78, naming the JSON path")
    func settings() async throws {
        let bus = try TestBus()
        for (json, path) in [(#"{"models": {"horizon": 0}}"#, "models.horizon"),
                             (#"{"models": {"accuracy_decay": 1.5}}"#, "models.accuracy_decay"),
                             (#"{"signals": {"cooldown_seconds": 1e300}}"#, "signals.cooldown_seconds")] {
            let generator = try RunningProcess(
                "signal-generator", arguments: ["--config", try writeConfig(json)], environment: bus.environment)
            #expect(await generator.wait(seconds: 20) == 78, "\(json): \(generator.stderr)")
            #expect(generator.stderr.contains(path), "\(generator.stderr)")
        }
    }
}
