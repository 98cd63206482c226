import Foundation
import ServiceKit
import TestSupport
import Testing

@testable import MarketData

@Suite("Replay config")
struct ReplayConfigTests {
    func configError(_ config: TickwireConfig) -> ConfigError? {
        do {
            _ = try ReplayProvider(config: config)
            return nil
        } catch {
            return error
        }
    }

    @Test("no files: an error at replay.files")
    func noFiles() {
        let error = configError(replayConfig([]))
        #expect(error?.path == "replay.files")
        #expect(error?.message.contains("no files") == true)
    }

    @Test("a missing file: an error at replay.files[i] naming it")
    func missingFile() throws {
        let error = configError(replayConfig([try replayFixture("merge_a.csv"), "/nonexistent/ticks.csv"]))
        #expect(error?.path == "replay.files[1]")
        #expect(error?.message.contains("/nonexistent/ticks.csv") == true)
        #expect(error?.message.contains("not found") == true)
        #expect(error?.description.contains("replay.files[1]") == true)
    }

    @Test("a directory, an empty file and an unknown header are refused at start with their index")
    func unusableFiles() throws {
        let directory = try TemporaryDirectory()
        let cases: [(String, String)] = [
            (directory.path, "is a directory"),
            (try replayFixture("empty.csv"), "the file is empty"),
            (try replayFixture("unknown_format.csv"), "not a known replay format"),
            (try directory.write("notime.csv", "symbol,open,high,low,close\n"), "no time column"),
            (try directory.write("half.csv", "time,symbol,open,close\n"), "not a known replay format"),
        ]
        for (path, expected) in cases {
            let error = configError(replayConfig([try replayFixture("merge_a.csv"), path]))
            #expect(error?.path == "replay.files[1]", "\(path)")
            #expect(error?.message.contains(expected) == true, "\(error?.message ?? "no error") for \(path)")
        }
    }

    @Test("bad options name the entry: unknown key, bad zone, symbol, format, interval, label")
    func badOptions() throws {
        let path = try replayFixture("nvda-1999-2014-daily.csv")
        let cases: [(String, String)] = [
            ("#colour=red", "unknown option 'colour'"),
            ("#tz=Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
            ("#symbol=BAD SYMBOL", "is not a valid symbol"),
            ("#format=parquet", "unknown format 'parquet'"),
            ("#interval=fortnight", "interval 'fortnight'"),
            ("#label=middle", "label must be"),
            ("#symbol", "must be key=value"),
            ("#format=trades", "a trades file needs price and size"),
        ]
        for (suffix, expected) in cases {
            let error = configError(replayConfig([path + suffix]))
            #expect(error?.path == "replay.files[0]", "\(suffix)")
            #expect(error?.message.contains(expected) == true, "\(error?.message ?? "no error") for \(suffix)")
        }
    }

    @Test("a file without a symbol column whose name gives no symbol needs #symbol=")
    func symbolNeeded() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("2024.csv", "date,open,high,low,close\n2024-01-02,1,2,1,2\n")
        let error = configError(replayConfig([path]))
        #expect(error?.path == "replay.files[0]")
        #expect(error?.message.contains("#symbol=") == true)
        let fixed = try ReplayProvider(config: replayConfig([path + "#symbol=IDX"]))
        #expect(fixed.files.first?.symbol == "IDX")
    }

    @Test("negative or infinite speed is refused at replay.speed")
    func badSpeed() throws {
        let path = try replayFixture("merge_a.csv")
        #expect(configError(replayConfig([path], speed: -1))?.path == "replay.speed")
        #expect(configError(replayConfig([path], speed: .infinity))?.path == "replay.speed")
    }

    @Test("a path that exists with '#' in its name is taken whole")
    func hashInName() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("ES#1.csv", "time,symbol,price,size\n1704205800,ES,1,1\n")
        let provider = try ReplayProvider(config: replayConfig([path]))
        #expect(provider.files.first?.path == path)
    }

    @Test("format detection: Alpha Vantage header in any case, bars, trades, and format= overriding")
    func detection() throws {
        let directory = try TemporaryDirectory()
        let cases: [(String, ReplayFormat, String)] = [
            ("Timestamp,Open,High,Low,Close,Volume", .alphaVantage, "America/New_York"),
            ("timestamp,open,high,low,close,volume,symbol", .bars, "UTC"),
            ("datetime,open,high,low,close", .bars, "UTC"),
            ("time,price,size", .trades, "UTC"),
            ("time,ticker,price,volume,exchange,trade_id", .trades, "UTC"),
        ]
        for (header, format, zone) in cases {
            let file = try ReplayFile(entry: try directory.write("T_\(format.rawValue).csv", header + "\n"), configPath: "x")
            #expect(file.format == format, "\(header)")
            #expect(file.timeZone == zone, "\(header)")
        }
        let forced = try ReplayFile(
            entry: try directory.write("AAPL.csv", "timestamp,open,high,low,close,volume\n") + "#format=bars", configPath: "x")
        #expect(forced.format == .bars)
        #expect(forced.timeZone == "UTC")
        #expect(forced.symbol == "AAPL")
    }

    @Test("symbols from file names")
    func symbolsFromNames() {
        let cases: [(String, String?)] = [
            ("AAPL.csv", "AAPL"),
            ("/data/BRK.B.csv", "BRK.B"),
            ("RDS-A.CSV", "RDS-A"),
            ("intraday_1min_AAPL.csv", "AAPL"),
            ("intraday_5min_BRK.B.csv", "BRK.B"),
            ("nvda-1999-2014-daily.csv", "NVDA"),
            ("data/msft_trades.csv", "MSFT"),
            ("AAPL_2024_trades.csv", "AAPL"),
            ("2024.csv", nil),
            ("2024-01-02.csv", nil),
        ]
        for (name, expected) in cases {
            #expect(ReplayFile.symbol(fromFileName: name) == expected, "\(name)")
        }
    }

    @Test("bar lengths from options and file names")
    func intervals() {
        #expect(ReplayFile.interval(from: "5min") == 5 * minute)
        #expect(ReplayFile.interval(from: "30s") == 30_000_000_000)
        #expect(ReplayFile.interval(from: "1h") == 60 * minute)
        #expect(ReplayFile.interval(from: "1D") == day)
        #expect(ReplayFile.interval(from: "daily") == day)
        #expect(ReplayFile.interval(from: "0min") == nil)
        #expect(ReplayFile.interval(from: "min") == nil)
        #expect(ReplayFile.intervalHint(fromFileName: "intraday_5min_AAPL.csv") == 5 * minute)
        #expect(ReplayFile.intervalHint(fromFileName: "nvda-1999-2014-daily.csv") == day)
        #expect(ReplayFile.intervalHint(fromFileName: "bars_symbols.csv") == nil)
    }

    @Test("the ticker filter: none for the built-in default list or an empty list, else exactly the list")
    func filter() {
        #expect(ReplayProvider.filter(for: TickwireConfig().tickers) == nil)
        #expect(ReplayProvider.filter(for: []) == nil)
        #expect(ReplayProvider.filter(for: ["AAPL"]) == ["AAPL"])
        #expect(ReplayProvider.filter(for: ["AAPL", "GOOGL", "MSFT", "AMZN", "META"]) == ["AAPL", "GOOGL", "MSFT", "AMZN", "META"])
    }
}
