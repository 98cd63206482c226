import ArgumentParser
import Foundation
import Indicators

/// The cost of one update of the full indicator set per bar, against TA-Lib's batch functions
/// for the same columns on the same bars (the Python `ta-lib` wheel, run in the same
/// `make bench`), and the memory per ticker at 10,000 tickers.
struct IndicatorBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "indicators",
        abstract: "Indicator cost per bar against TA-Lib's batch functions, and memory per ticker."
    )

    @Option(help: "Bars in the series (a seeded random walk with realistic ranges and volumes).")
    var bars = 200_000

    @Option(help: "Runs of each side; medians are reported.")
    var runs = 5

    @Option(help: "Python with the ta-lib wheel (make deps puts one in .venv).")
    var python = ".venv/bin/python"

    @Option(help: "The TA-Lib side's script.")
    var script = "Tests/python/talib_bench.py"

    @Option(help: "Tickers for the memory measurement.")
    var tickers = 10_000

    func run() throws {
        let series = Self.series(count: bars)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-bench-bars-\(getpid()).csv")
        try Self.write(series, to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        print("tickwire-bench indicators: \(bars) bars, \(IndicatorSet.columns.count) columns (\(IndicatorSet.columns.count - SessionIndicators.columns.count) TA-Lib), median of \(runs) runs")

        // Ours: one streaming update per bar, full set.
        var ours: [Double] = []
        var sink = 0.0
        for _ in 0..<runs {
            var set = IndicatorSet()
            let started = ContinuousClock.now
            for bar in series {
                set.update(bar)
            }
            let elapsed = ContinuousClock.now - started
            sink += set.values[0]
            ours.append(elapsed.seconds / Double(series.count) * 1e9)
        }
        let oursMedian = Self.median(ours)
        var featureCosts: [Double] = []
        for _ in 0..<runs {
            var pipeline = FeaturePipeline()
            let started = ContinuousClock.now
            for bar in series { pipeline.update(bar) }
            featureCosts.append((ContinuousClock.now - started).seconds / Double(series.count) * 1e9)
            sink += pipeline.features[0]
        }
        print(String(format: "  Tickwire streaming, full set:         %8.1f ns/bar (runs %@)", oursMedian, Self.list(ours)))
        print(String(format: "  Tickwire indicators + features:       %8.1f ns/bar", Self.median(featureCosts)))

        // TA-Lib: the same columns, batch, over the same bars.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, file.path, String(runs)]
        let pipe = Pipe()
        process.standardOutput = pipe
        do {
            try process.run()
        } catch {
            print("  TA-Lib batch: cannot run \(python) \(script): \(error) (run `make deps`)")
            throw ExitCode(1)
        }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let report = try? JSONSerialization.jsonObject(with: output) as? [String: Any],
            let taLib = report["median_ns_per_bar"] as? Double
        else {
            print("  TA-Lib batch: the script failed (status \(process.terminationStatus)); run `make deps`")
            throw ExitCode(1)
        }
        let ratio = oursMedian / taLib
        print(String(format: "  TA-Lib batch (Python ta-lib), same set: %6.1f ns/bar", taLib))
        print(String(format: "  ratio Tickwire / TA-Lib batch: %.2f×   goal ≤ 1.50× → %@", ratio, ratio <= 1.5 ? "met" : "NOT met"))

        // Memory: one processor's per-ticker state (indicators, features, window of bars).
        let before = Self.residentBytes()
        var states: [FeaturePipeline] = []
        states.reserveCapacity(tickers)
        for index in 0..<tickers {
            var pipeline = FeaturePipeline()
            for bar in series[(index % 100)..<(index % 100 + 60)] { pipeline.update(bar) }
            states.append(pipeline)
        }
        let after = Self.residentBytes()
        let perTicker = Double(after - before) / Double(tickers)
        print(String(format: "  memory: %.1f KiB per ticker at %d tickers (%.0f MiB resident growth, indicators and features)",
                     perTicker / 1024, tickers, Double(after - before) / 1_048_576))
        if sink == 42 || states.isEmpty { print("") }
    }

    /// A seeded random walk with intrabar ranges and volumes, like minute bars.
    static func series(count: Int) -> [OHLCV] {
        var state: UInt64 = 0x5EED
        func unit() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        var bars: [OHLCV] = []
        bars.reserveCapacity(count)
        var price = 100.0
        let start: Int64 = 1_704_205_800 * 1_000_000_000  // 2024-01-02 09:30 New York
        for index in 0..<count {
            let open = price
            price *= 1 + (unit() - 0.5) * 0.004
            let close = price
            let high = max(open, close) * (1 + unit() * 0.001)
            let low = min(open, close) * (1 - unit() * 0.001)
            let volume = (1_000 + unit() * 9_000).rounded()
            bars.append(OHLCV(time: start + Int64(index) * 60_000_000_000, open: open, high: high, low: low, close: close, volume: volume))
        }
        return bars
    }

    static func write(_ bars: [OHLCV], to file: URL) throws {
        var text = "timestamp,open,high,low,close,volume\n"
        text.reserveCapacity(bars.count * 80)
        for bar in bars {
            text += "\(bar.time / 1_000_000_000),\(bar.open),\(bar.high),\(bar.low),\(bar.close),\(bar.volume)\n"
        }
        try text.write(to: file, atomically: true, encoding: .utf8)
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    static func list(_ values: [Double]) -> String { values.map { String(format: "%.0f", $0) }.joined(separator: " ") }

    /// Resident set size from /proc/self/statm.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
