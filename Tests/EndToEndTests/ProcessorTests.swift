import Foundation
import TestSupport
import Testing

/// Processors as processes: disjoint ticker sets, warm-up after kill -9, live/offline parity,
/// and the offline tables' errors.
@Suite("Processor end to end", .serialized, .timeLimit(.minutes(3)))
struct ProcessorTests {
    /// Feature lines of a bus-tap's JSON output: (producer, symbol, from_history), optionally
    /// only those published after `since` (UTC nanoseconds).
    func features(_ output: String, since: Int64 = 0) -> [(producer: String, symbol: String, fromHistory: Bool)] {
        jsonLines(output).compactMap { line in
            guard let producer = line["producer"] as? String, let features = line["features"] as? [String: Any],
                let symbol = features["symbol"] as? String, (line["publish_time_ns"] as? Int ?? 0) > since
            else { return nil }
            return (producer, symbol, features["from_history"] as? Bool ?? false)
        }
    }

    static let stackConfig = #"""
        {
            "tickers": ["AAPL", "MSFT", "GOOGL", "AMZN"],
            "heartbeat": { "interval_seconds": 1 },
            "simulator": { "trades_per_second": 20, "backfill_bars": 120 },
            "processor": { "bar_interval_seconds": 1, "late_tolerance_seconds": 0.2, "history_timeout_seconds": 1 },
            "processors": [
                { "name": "p1", "tickers": ["AAPL", "MSFT"] },
                { "name": "p2", "tickers": ["GOOGL", "AMZN"] }
            ]
        }
        """#

    @Test("two processors publish only their own tickers; after kill -9 one is back within seconds")
    func disjointAndRestart() async throws {
        let bus = try TestBus()
        let config = try writeConfig(Self.stackConfig)
        let proxy = try await startProxy(bus)
        let tap = try RunningProcess("bus-tap", arguments: ["features.", "bar.", "--duration", "60"], environment: bus.environment)
        try await Task.sleep(for: .seconds(1.5))
        let ingestor = try RunningProcess("ingestor", arguments: ["--config", config], environment: bus.environment)
        var p1 = try RunningProcess("processor", arguments: ["--config", config, "--instance", "p1"], environment: bus.environment)
        let p2 = try RunningProcess("processor", arguments: ["--config", config, "--instance", "p2"], environment: bus.environment)
        defer { tap.signal(SIGKILL) }

        // Both processors warm up from the ingestor's backfill: features for all four tickers.
        let all = await tap.waitForOutput(seconds: 20) { text in
            Set(features(text).map(\.symbol)) == ["AAPL", "MSFT", "GOOGL", "AMZN"]
        }
        #expect(all, "features missing: \(Set(features(tap.stdout).map(\.symbol)))\np1: \(p1.stderr)\np2: \(p2.stderr)")
        let expected = ["processor/p1": Set(["AAPL", "MSFT"]), "processor/p2": Set(["GOOGL", "AMZN"])]
        // Let live bars close too, then check ownership over everything seen.
        try await Task.sleep(for: .seconds(3))
        let seen = Dictionary(grouping: features(tap.stdout), by: \.producer).mapValues { Set($0.map(\.symbol)) }
        #expect(seen == expected, "features by producer: \(seen)")
        let bars = jsonLines(tap.stdout).filter { ($0["topic"] as? String)?.hasPrefix("bar.") == true }
        let builtBy = Dictionary(grouping: bars.filter { ($0["bar"] as? [String: Any])?["origin"] as? String == "BAR_ORIGIN_BUILT" },
                                 by: { $0["producer"] as? String ?? "" }).mapValues { Set($0.compactMap { ($0["bar"] as? [String: Any])?["symbol"] as? String }) }
        #expect(builtBy == expected, "built bars by producer: \(builtBy)")

        // kill -9 p1, start it again: its tickers have features again within seconds.
        p1.signal(SIGKILL)
        _ = await p1.wait(seconds: 5)
        let restartedAt = ContinuousClock.now
        let restartedAtNs = Int64(Date().timeIntervalSince1970 * 1e9)
        p1 = try RunningProcess("processor", arguments: ["--config", config, "--instance", "p1"], environment: bus.environment)
        let back = await tap.waitForOutput(seconds: 10) { text in
            Set(features(text, since: restartedAtNs).filter { $0.producer == "processor/p1" }.map(\.symbol)) == ["AAPL", "MSFT"]
        }
        let recovery = ContinuousClock.now - restartedAt
        #expect(back, "p1 did not publish features after restart: \(p1.stderr)")
        #expect(recovery < .seconds(5), "features took \(recovery) after the restart")
        let firstFromP1 = features(tap.stdout, since: restartedAtNs).first { $0.producer == "processor/p1" }
        #expect(firstFromP1?.fromHistory == true, "the first features after a restart come from the warm-up")

        for process in [p1, p2, ingestor] { #expect(await process.stop() == 0, "\(process.name): \(process.stderr)") }
        await proxy.stop()
    }

    @Test("features on the bus equal `processor features` on the same bars")
    func liveEqualsOffline() async throws {
        let bus = try TestBus()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-parity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = Paths.repository.appendingPathComponent("Tests/IndicatorsTests/Fixtures/orcl-daily.csv")
        let rows = try String(contentsOf: source, encoding: .utf8).split(separator: "\n").prefix(301)
        let bars = directory.appendingPathComponent("ORCL.csv").path
        try (rows.joined(separator: "\n") + "\n").write(toFile: bars, atomically: true, encoding: .utf8)
        let config = try writeConfig(#"""
            {
                "provider": "replay",
                "tickers": ["ORCL"],
                "replay": { "files": ["\#(bars)"], "speed": 0 },
                "processor": { "bar_source": "provider", "history_endpoints": [] }
            }
            """#)
        let proxy = try await startProxy(bus)
        let processor = try RunningProcess("processor", arguments: ["--config", config], environment: bus.environment)
        let readyCount = 300 - 49  // the default features are defined from the 50th bar
        let tap = try RunningProcess(
            "bus-tap", arguments: ["features.ORCL", "--count", String(readyCount), "--duration", "40"], environment: bus.environment)
        #expect(await processor.waitForOutput(seconds: 10) { $0.contains("processor") && $0.contains("from provider") })
        try await Task.sleep(for: .seconds(1.5))
        let ingestor = try RunningProcess("ingestor", arguments: ["--config", config], environment: bus.environment)
        let tapStatus = await tap.wait(seconds: 45)
        for process in [ingestor, processor] { await process.stop() }
        await proxy.stop()
        #expect(tapStatus == 0, "bus-tap: \(tap.stderr)\nprocessor: \(processor.stderr)\ningestor: \(ingestor.stderr)")
        // Numbers are read with Double(String) (correctly rounded), not JSONSerialization.
        let live = tap.stdout.split(separator: "\n").compactMap { line -> [Double]? in
            guard let start = line.range(of: "\"values\":[")?.upperBound, let end = line[start...].firstIndex(of: "]") else { return nil }
            return line[start..<end].split(separator: ",").compactMap { Double($0) }
        }
        #expect(live.count == readyCount)

        let output = directory.appendingPathComponent("features.csv").path
        let offline = try RunningProcess("processor", arguments: ["features", "--input", bars, "--output", output], environment: bus.environment)
        #expect(await offline.wait(seconds: 30) == 0, "\(offline.stderr)")
        let table = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").dropFirst()
        let ready = table.map { $0.split(separator: ",", omittingEmptySubsequences: false).dropFirst() }
            .filter { !$0.contains("") }
            .map { $0.map { Double($0)! } }
        #expect(ready.count == readyCount)
        let firstDifference = Array(zip(ready, live)).firstIndex { $0.0 != $0.1 }
        #expect(firstDifference == nil, "first difference at ready row \(firstDifference ?? -1): offline \(firstDifference.map { ready[$0] } ?? []) live \(firstDifference.map { live[$0] } ?? [])")
    }

    @Test("processor indicators: a bad row names its line and exits 65; a good file has every column")
    func offlineTables() async throws {
        let directory = try TemporaryDirectory()
        let bad = try directory.write("bad.csv", "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,10\n2024-01-03,1,2,0.5,oops,10\n")
        let failed = try RunningProcess(
            "processor", arguments: ["indicators", "--input", bad, "--output", directory.file("out.csv")], environment: [:])
        #expect(await failed.wait(seconds: 20) == 65)
        #expect(failed.stderr.contains("bad.csv:3: close 'oops' is not a finite number"), "\(failed.stderr)")

        let good = Paths.repository.appendingPathComponent("examples/data/AAPL.csv").path
        let output = directory.file("aapl-indicators.csv")
        let ran = try RunningProcess("processor", arguments: ["indicators", "--input", good, "--output", output], environment: [:])
        #expect(await ran.wait(seconds: 20) == 0, "\(ran.stderr)")
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: ",").map(String.init)
        #expect(header.first == "timestamp")
        for column in ["sma_200", "bbands_upper_20_2", "macdhist_12_26_9", "stochrsi_fastd_14_5_3", "adosc_3_10", "session_vwap", "realized_vol_20"] {
            #expect(header.contains(column), "missing \(column)")
        }
        // AAPL.csv is newest-first; the output is oldest-first.
        let times = lines.dropFirst().map { String($0.prefix { $0 != "," }) }
        #expect(times == times.sorted())
        #expect(times.count == 100)
    }

    @Test("overlapping processor ticker sets are a config error naming the field")
    func overlapping() async throws {
        let config = try writeConfig(#"{"processors": [{"name": "a", "tickers": ["AAPL"]}, {"name": "b", "tickers": ["MSFT", "AAPL"]}]}"#)
        let bus = try TestBus()
        let processor = try RunningProcess("processor", arguments: ["--config", config, "--instance", "a"], environment: bus.environment)
        #expect(await processor.wait(seconds: 20) == 78)
        #expect(processor.stderr.contains("processors[1].tickers[1]"), "\(processor.stderr)")
        #expect(processor.stderr.contains("already served by processors[0]"), "\(processor.stderr)")
    }
}
