import Contracts
import Foundation
import MarketData
import ServiceKit
import TestSupport
import Testing

@Suite("Replay formats")
struct ReplayFormatTests {
    @Test("Alpha Vantage intraday CSV: newest-first rows play oldest first, Eastern times become UTC across the DST change")
    func alphaVantage() async throws {
        let provider = try ReplayProvider(config: replayConfig([try replayFixture("intraday_1min_AAPL.csv")]))
        let file = try #require(provider.files.first)
        #expect(file.format == .alphaVantage)
        #expect(file.symbol == "AAPL")
        #expect(file.timeZone == "America/New_York")
        #expect(file.interval == minute)

        let recorder = try await play(provider, until: 4)
        let bars = recorder.bars
        #expect(bars.count == 4)
        // Friday 2025-03-07 is still EST (UTC-5); Monday 2025-03-10 is EDT (UTC-4).
        #expect(bars.map(\.startTimeNs) == [
            utc("2025-03-07T20:58:00Z"), utc("2025-03-07T20:59:00Z"), utc("2025-03-10T13:30:00Z"), utc("2025-03-10T13:31:00Z"),
        ])
        #expect(bars.map(\.endTimeNs) == bars.map { $0.startTimeNs + minute })
        let first = try #require(bars.first)
        #expect(first.symbol == "AAPL")
        #expect(first.open == 239.0)
        #expect(first.high == 239.15)
        #expect(first.low == 238.9)
        #expect(first.close == 239.1)
        #expect(first.volume == 402_113)
        #expect(first.vwap == 0)
        #expect(first.tradeCount == 0)
        #expect(first.origin == .live)
        #expect(first.provider == "replay")
        let last = try #require(bars.last)
        #expect([last.open, last.high, last.low, last.close, last.volume] == [235.54, 235.9, 235.1, 235.6, 310_245])
        #expect(recorder.issues.isEmpty)
        #expect(recorder.connected == 1)
    }

    @Test("the Alpha Vantage provider fixture (100 bars, EDT) plays in order from 10:03 to 11:42 New York")
    func alphaVantageProviderFixture() async throws {
        let path = try replayFixture("intraday_1min_AAPL.csv", folder: "alphavantage")
        let recorder = try await play(try ReplayProvider(config: replayConfig([path])), until: 100)
        let bars = recorder.bars
        #expect(bars.count == 100)
        #expect(bars.first?.startTimeNs == utc("2025-03-14T14:03:00Z"))
        #expect(bars.first?.close == 211.74)
        #expect(bars.last?.startTimeNs == utc("2025-03-14T15:42:00Z"))
        #expect(bars.last?.close == 213.18)
        #expect(zip(bars, bars.dropFirst()).allSatisfy { $0.endTimeNs < $1.endTimeNs })
        #expect(recorder.issues.isEmpty)
    }

    @Test("daily OHLCV with Date,Open,High,Low,Close,Adj Close,Volume: symbol from the file name, a bar per UTC day")
    func dailyBars() async throws {
        let provider = try ReplayProvider(config: replayConfig([try replayFixture("nvda-1999-2014-daily.csv")]))
        #expect(provider.files.first?.format == .bars)
        #expect(provider.files.first?.symbol == "NVDA")
        let bars = try await play(provider, until: 5).bars
        #expect(bars.count == 5)
        let first = try #require(bars.first)
        #expect(first.symbol == "NVDA")
        #expect(first.startTimeNs == utc("1999-01-22T00:00:00Z"))
        #expect(first.endTimeNs == utc("1999-01-23T00:00:00Z"))
        #expect([first.open, first.high, first.low, first.close, first.volume] == [1.75, 1.953125, 1.552083, 1.640625, 67_867_200])
        // Friday to Monday: the weekend is a gap between bars, not part of one.
        #expect(bars[1].startTimeNs == utc("1999-01-25T00:00:00Z"))
        #expect(bars.last?.startTimeNs == utc("1999-01-28T00:00:00Z"))
        #expect(bars.last?.close == 1.661458)
    }

    @Test("a daily file in a zone with DST: a bar covers the local day (23 hours on the spring-forward Sunday)")
    func dailyBarsInZone() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("SPY.csv", "date,open,high,low,close\n2025-03-09,1,2,1,2\n2025-03-10,2,3,2,3\n")
        let bars = try await play(try ReplayProvider(config: replayConfig([path + "#tz=America/New_York"])), until: 2).bars
        #expect(bars.first?.startTimeNs == utc("2025-03-09T05:00:00Z"))
        #expect(bars.first?.endTimeNs == utc("2025-03-10T04:00:00Z"))
        #expect(bars.last?.startTimeNs == utc("2025-03-10T04:00:00Z"))
        #expect(bars.last?.symbol == "SPY")
    }

    @Test("1-minute futures file whose rows carry an unnamed time after the date: read as UTC, 1min from the name")
    func futuresMinuteBars() async throws {
        let provider = try ReplayProvider(config: replayConfig([try replayFixture("futures-2006-01-02-to-02-27-1min.csv")]))
        let file = try #require(provider.files.first)
        #expect(file.symbol == "FUTURES")
        #expect(file.interval == minute)
        #expect(file.timeZone == "UTC")
        let bars = try await play(provider, until: 5).bars
        #expect(bars.count == 5)
        let first = try #require(bars.first)
        #expect(first.startTimeNs == utc("2006-01-02T09:01:00Z"))
        #expect(first.endTimeNs == utc("2006-01-02T09:02:00Z"))
        #expect([first.open, first.high, first.low, first.close, first.volume] == [3602, 3603, 3597, 3599, 5699])
        #expect(bars.last?.startTimeNs == utc("2006-01-02T09:05:00Z"))
    }

    @Test("options: symbol, zone and end labels (Berlin 09:01 labelling the bar 08:00–08:01 UTC)")
    func futuresWithOptions() async throws {
        let entry = try replayFixture("futures-2006-01-02-to-02-27-1min.csv") + "#symbol=FESX, tz=Europe/Berlin, label=end"
        let provider = try ReplayProvider(config: replayConfig([entry]))
        #expect(provider.files.first?.symbol == "FESX")
        #expect(provider.files.first?.label == .end)
        let first = try #require(try await play(provider, until: 5).bars.first)
        #expect(first.symbol == "FESX")
        #expect(first.startTimeNs == utc("2006-01-02T08:00:00Z"))
        #expect(first.endTimeNs == utc("2006-01-02T08:01:00Z"))
    }

    @Test("generic bars with a ticker column: ISO times with Z, an offset, fractions, or none (UTC); vwap and trade count")
    func barsWithSymbols() async throws {
        let provider = try ReplayProvider(config: replayConfig([try replayFixture("bars_symbols.csv")]))
        #expect(provider.files.first?.symbol == nil)
        #expect(provider.files.first?.interval == nil)
        let bars = try await play(provider, until: 5).bars
        #expect(bars.map(\.symbol) == ["AAPL", "MSFT", "AAPL", "MSFT", "AAPL"])
        // The bar length is inferred from the rows: 60 s.
        #expect(bars.map(\.startTimeNs) == [
            utc("2024-01-02T14:30:00Z"), utc("2024-01-02T14:30:00Z"), utc("2024-01-02T14:31:00Z"), utc("2024-01-02T14:31:00Z"),
            utc("2024-01-02T14:32:00.250Z"),
        ])
        #expect(bars.allSatisfy { $0.endTimeNs - $0.startTimeNs == minute })
        let first = try #require(bars.first)
        #expect([first.open, first.high, first.low, first.close, first.volume, first.vwap] == [187.15, 188.44, 186.90, 187.80, 1_520_300, 187.62])
        #expect(first.tradeCount == 10_211)
        #expect(bars.last?.vwap == 0)
        #expect(bars.last?.tradeCount == 0)
    }

    @Test("trades CSV: epoch ms, fractional seconds, ISO, quoted fields, optional exchange and id, dotted and dashed symbols")
    func trades() async throws {
        let provider = try ReplayProvider(config: replayConfig([try replayFixture("trades_BRK.B.csv")]))
        #expect(provider.files.first?.format == .trades)
        let recorder = try await play(provider, until: 5)
        let trades = recorder.trades
        #expect(trades.map(\.trade.symbol) == ["BRK.B", "RDS-A", "BRK.B", "BRK.B", "BRK.B"])
        let start: Int64 = 1_704_205_800_000_000_000
        #expect(trades.map(\.time) == [start, start + 250_000_000, start + 500_000_000, start + 1_000_000_000, start + 1_500_000_000])
        #expect(trades.map(\.trade.price) == [362.10, 61.02, 362.12, 362.15, 362.20])
        #expect(trades.map(\.trade.size) == [100, 50, 25.5, 10, 300])
        #expect(trades.map(\.trade.exchange) == ["XNYS", "", "XNAS", "XNYS", "XNYS"])
        #expect(trades.map(\.trade.tradeID) == ["t1", "", "t2", "t3", "t4"])
        #expect(trades.allSatisfy { $0.trade.provider == "replay" })
        #expect(recorder.issues.isEmpty)
    }

    @Test("trades without a symbol column take it from the file name; quantity counts as size")
    func tradesWithoutSymbolColumn() async throws {
        let provider = try ReplayProvider(config: replayConfig([try replayFixture("trades_nosymbol_TSLA.csv")]))
        #expect(provider.files.first?.symbol == "TSLA")
        let trades = try await play(provider, until: 2).trades
        #expect(trades.map(\.trade.symbol) == ["TSLA", "TSLA"])
        #expect(trades.map(\.time) == [1_704_205_800_125_000_000, 1_704_205_800_500_000_000])
        #expect(trades.map(\.trade.size) == [10, 3])
    }

    @Test("epoch seconds, microseconds and nanoseconds, separate date and time columns")
    func moreTimeForms() async throws {
        let directory = try TemporaryDirectory()
        let epochs = try directory.write(
            "epochs.csv", "timestamp,symbol,price,size\n1704205800,X,1,1\n1704205800000000002,X,1,1\n1704205800000001,X,1,1\n")
        let split = try directory.write("split.csv", "Date,Time,Symbol,Price,Size\n2024-01-02,14:30:05,Y,2,3\n")
        let recorder = try await play(try ReplayProvider(config: replayConfig([epochs, split])), until: 4)
        #expect(recorder.trades.map(\.time) == [
            1_704_205_800_000_000_000, 1_704_205_800_000_000_002, 1_704_205_800_000_001_000, 1_704_205_805_000_000_000,
        ])
        #expect(recorder.issues.isEmpty)
    }

    @Test("with tickers of its own, only those play; with the built-in default tickers, everything plays")
    func tickerFilter() async throws {
        let files = [try replayFixture("bars_symbols.csv"), try replayFixture("nvda-1999-2014-daily.csv")]
        let provider = try ReplayProvider(config: replayConfig(files, tickers: ["MSFT"]))
        let recorder = try await play(provider, symbols: ["MSFT"], until: 2)
        try await Task.sleep(for: .milliseconds(50))
        #expect(recorder.bars.map(\.symbol) == ["MSFT", "MSFT"])
        #expect(recorder.counts["filtered_rows"] == 3)

        let everything = try await play(try ReplayProvider(config: replayConfig(files)), until: 10)
        #expect(Set(everything.bars.map(\.symbol)) == ["AAPL", "MSFT", "NVDA"])
    }
}
