import Foundation
import ServiceKit
import TestSupport
import Testing

@Suite("models and signals settings")
struct SettingsTests {
    /// Loads `json` as a config file; returns the ConfigError's path, or nil when it loads.
    static func refusedPath(_ json: String) throws -> String? {
        let directory = try TemporaryDirectory()
        let file = try directory.write("config.json", json)
        do {
            _ = try ConfigLoader(environment: [:]).load(file: file)
            return nil
        } catch {
            return error.path
        }
    }

    @Test("every number of models.* and signals.* is bounded and finite; the demo values load")
    func ranges() throws {
        let refused: [(json: String, path: String)] = [
            (#"{"models": {"horizon": 0}}"#, "models.horizon"),
            (#"{"models": {"horizon": 10001}}"#, "models.horizon"),
            (#"{"models": {"dead_zone": -0.1}}"#, "models.dead_zone"),
            (#"{"models": {"dead_zone": 2}}"#, "models.dead_zone"),
            (#"{"models": {"accuracy_decay": 0}}"#, "models.accuracy_decay"),
            (#"{"models": {"accuracy_decay": 1.01}}"#, "models.accuracy_decay"),
            (#"{"models": {"drift_threshold": 5}}"#, "models.drift_threshold"),
            (#"{"models": {"drift_min_outcomes": 0}}"#, "models.drift_min_outcomes"),
            (#"{"models": {"drift_min_outcomes": 100000000}}"#, "models.drift_min_outcomes"),
            (#"{"models": {"weights": {"rf": -1}}}"#, "models.weights.rf"),
            (#"{"models": {"weights": {"gbt": 1e300}}}"#, "models.weights.gbt"),
            (#"{"models": {"kinds": ["rf", "xgb"]}}"#, "models.kinds[1]"),
            (#"{"models": {"kinds": []}}"#, "models.kinds"),
            (#"{"models": {"state_file": ""}}"#, "models.state_file"),
            (#"{"signals": {"cooldown_seconds": -1}}"#, "signals.cooldown_seconds"),
            (#"{"signals": {"cooldown_seconds": 1e300}}"#, "signals.cooldown_seconds"),
            (#"{"signals": {"capital": 0}}"#, "signals.capital"),
            (#"{"signals": {"capital": 1e300}}"#, "signals.capital"),
            (#"{"signals": {"risk_per_trade": 0}}"#, "signals.risk_per_trade"),
            (#"{"signals": {"risk_per_trade": 2}}"#, "signals.risk_per_trade"),
            (#"{"signals": {"atr_stop_multiple": 0}}"#, "signals.atr_stop_multiple"),
            (#"{"signals": {"atr_stop_multiple": 1e9}}"#, "signals.atr_stop_multiple"),
            (#"{"signals": {"max_position_fraction": 0}}"#, "signals.max_position_fraction"),
            (#"{"signals": {"max_position_fraction": 3}}"#, "signals.max_position_fraction"),
            (#"{"signal_threshold": 1.5}"#, "signal_threshold"),
        ]
        for (json, path) in refused {
            #expect(try Self.refusedPath(json) == path, "\(json)")
        }
        #expect(try Self.refusedPath(#"""
            {"signal_threshold": 0.6, "models": {"horizon": 5, "dead_zone": 0.001, "accuracy_decay": 1, "drift_threshold": 0.1,
             "drift_min_outcomes": 30, "weights": {"rf": 2, "gbt": 0}},
             "signals": {"cooldown_seconds": 0, "capital": 100000, "risk_per_trade": 0.01, "atr_stop_multiple": 2,
             "max_position_fraction": 0.25}}
            """#) == nil)
        let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/demo.json").path
        _ = try ConfigLoader(environment: [:]).load(file: demo)
    }
}
