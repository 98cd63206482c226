import Contracts
import Foundation
import MarketData
import ServiceKit
import Synchronization
import TestSupport
import Testing

/// Writes a trades file of `count` rows `gapMilliseconds` apart, starting 2024-01-02T14:30Z.
func tradesFile(in directory: TemporaryDirectory, _ name: String, count: Int, gapMilliseconds: Int64) throws -> String {
    var text = "timestamp,symbol,price,size\n"
    text.reserveCapacity(count * 40)
    for index in 0..<count {
        text += "\(1_704_205_800_000 + Int64(index) * gapMilliseconds),SIM,\(100 + Double(index % 100) / 100),1\n"
    }
    return try directory.write(name, text)
}

@Suite("Replay playback")
struct ReplayPlaybackTests {
    @Test("several files merge in time order; on equal times the file listed first goes first")
    func mergeOrder() async throws {
        let files = [try replayFixture("merge_a.csv"), try replayFixture("merge_b.csv")]
        let trades = try await play(try ReplayProvider(config: replayConfig(files)), until: 8).trades
        #expect(trades.map { "\($0.trade.symbol)\($0.trade.price)" } == [
            "AAA10.0", "BBB20.1", "AAA10.2", "BBB20.2", "BBB20.3", "AAA10.4", "AAA10.5", "BBB20.6",
        ])
        #expect(zip(trades, trades.dropFirst()).allSatisfy { $0.time <= $1.time })
    }

    @Test("files of different kinds and bar lengths merge by event time (a bar's end)")
    func mergeDailyFiles() async throws {
        let files = [try replayFixture("nvda-1999-2014-daily.csv"), try replayFixture("orcl-1995-2014-daily.csv")]
        let bars = try await play(try ReplayProvider(config: replayConfig(files)), until: 10).bars
        #expect(bars.map(\.symbol) == Array(repeating: "ORCL", count: 5) + Array(repeating: "NVDA", count: 5))
        #expect(bars.first?.startTimeNs == utc("1995-01-03T00:00:00Z"))
    }

    @Test("speed 100: events 1 s apart in the file arrive about 10 ms apart, never early; times unchanged")
    func pacing() async throws {
        let directory = try TemporaryDirectory()
        let path = try tradesFile(in: directory, "paced.csv", count: 10, gapMilliseconds: 1_000)
        let recorder = try await play(try ReplayProvider(config: replayConfig([path], speed: 100)), until: 10)
        let instants = recorder.instants
        let first = try #require(instants.first)
        for (index, instant) in instants.enumerated() {
            // Due 10 ms × index after the first; Task.sleep may be late, never early.
            #expect(instant - first >= .milliseconds(10 * index) - .microseconds(500), "event \(index)")
        }
        let total = try #require(instants.last) - first
        #expect(total >= .milliseconds(89))
        // Far under the 9 s that speed 1 would take, even on a loaded 2-core CI box.
        #expect(total < .seconds(8), "took \(total) for 90 ms of paced events")
        #expect(recorder.trades.map(\.time) == (0..<10).map { 1_704_205_800_000_000_000 + Int64($0) * 1_000_000_000 })
    }

    @Test("speed 1 is real time: 4 events 50 ms apart take about 150 ms")
    func realTime() async throws {
        let directory = try TemporaryDirectory()
        let path = try tradesFile(in: directory, "realtime.csv", count: 4, gapMilliseconds: 50)
        let instants = try await play(try ReplayProvider(config: replayConfig([path], speed: 1)), until: 4).instants
        let total = try #require(instants.last) - instants[0]
        #expect(total >= .milliseconds(149))
        #expect(total < .seconds(10), "took \(total); a loaded CI box delays it, never by this much")
    }

    @Test("speed 0 plays 20,000 events (5.5 hours of data) at once, in order, without waiting")
    func fullSpeed() async throws {
        let directory = try TemporaryDirectory()
        let path = try tradesFile(in: directory, "fast.csv", count: 20_000, gapMilliseconds: 1_000)
        let clock = ContinuousClock()
        let start = clock.now
        let trades = try await play(try ReplayProvider(config: replayConfig([path], speed: 0)), until: 20_000, seconds: 30).trades
        #expect(clock.now - start < .seconds(15))
        #expect(trades.count == 20_000)
        #expect(zip(trades, trades.dropFirst()).allSatisfy { $1.time - $0.time == 1_000_000_000 })
    }

    @Test("cancellation ends a looping full-speed replay promptly, and a long wait at speed 1")
    func cancellation() async throws {
        let directory = try TemporaryDirectory()
        let path = try tradesFile(in: directory, "loop.csv", count: 1_000, gapMilliseconds: 1)
        for config in [replayConfig([path], speed: 0, loop: true), replayConfig([try replayFixture("nvda-1999-2014-daily.csv")], speed: 1)] {
            let recorder = ReplayRecorder()
            let sink = recorder.sink
            let provider = try ReplayProvider(config: config)
            let task = Task { try await provider.run(symbols: [], sink: sink) }
            try await waitUntil("first event") { !recorder.events.isEmpty }
            try await Task.sleep(for: .milliseconds(50))
            let clock = ContinuousClock()
            let cancelled = clock.now
            task.cancel()
            try await withTimeout(seconds: 20, "run to end") { try await task.value }
            // Loose: pool waits of ~9 s were seen on a loaded 2-core CI run; a replay that
            // ignored cancellation would run for hours (the daily file at speed 1).
            #expect(clock.now - cancelled < .seconds(12))
        }
    }

    @Test("at the end without loop, run idles until cancelled instead of returning (which would restart it)")
    func idleAtEnd() async throws {
        let provider = try ReplayProvider(config: replayConfig([try replayFixture("merge_a.csv")]))
        let recorder = ReplayRecorder()
        let sink = recorder.sink
        let ended = Mutex(false)
        let task = Task {
            try await provider.run(symbols: [], sink: sink)
            ended.withLock { $0 = true }
        }
        try await waitUntil("all events") { recorder.events.count == 4 }
        try await Task.sleep(for: .milliseconds(200))
        #expect(ended.withLock { $0 } == false)
        #expect(recorder.events.count == 4)
        #expect(recorder.counts["replay_passes"] == 1)
        task.cancel()
        try await withTimeout(seconds: 5, "run to end") { try await task.value }
        #expect(ended.withLock { $0 })
    }

    @Test("loop plays again with times moved forward by one pass, so time never goes backwards")
    func loop() async throws {
        let provider = try ReplayProvider(config: replayConfig([try replayFixture("trades_nosymbol_TSLA.csv")], loop: true))
        let recorder = try await play(provider, until: 6)
        let times = recorder.trades.prefix(6).map(\.time)
        // Rows at .125 and .500: a pass lasts 375 ms plus one step of 375 ms.
        let start: Int64 = 1_704_205_800_125_000_000
        #expect(times == (0..<6).map { start + Int64($0) * 375_000_000 })
        #expect(recorder.trades.prefix(6).map(\.trade.price) == [248.42, 248.40, 248.42, 248.40, 248.42, 248.40])
        #expect((recorder.counts["replay_passes"] ?? 0) >= 2)
        #expect(recorder.connected == 1)
    }

    @Test("loop with bars moves start and end alike, paced across the seam like within a pass")
    func loopBars() async throws {
        let provider = try ReplayProvider(config: replayConfig([try replayFixture("intraday_1min_AAPL.csv")], speed: 0, loop: true))
        let bars = try await play(provider, until: 8).bars.prefix(8)
        let first = try #require(bars.first)
        // The pass spans 20:59 Friday to 13:32 Monday; the smallest step is a minute.
        let period = utc("2025-03-10T13:32:00Z") - utc("2025-03-07T20:59:00Z") + minute
        #expect(bars[4].startTimeNs == first.startTimeNs + period)
        #expect(bars[4].endTimeNs == first.endTimeNs + period)
        #expect(zip(bars, bars.dropFirst()).allSatisfy { $0.endTimeNs < $1.endTimeNs })
    }

    @Test("malformed rows are reported with file:line and skipped; no bogus event; blank lines are ignored")
    func malformedRows() async throws {
        let path = try replayFixture("malformed.csv")
        let recorder = try await play(try ReplayProvider(config: replayConfig([path])), until: 2)
        try await Task.sleep(for: .milliseconds(50))
        let bars = recorder.bars
        #expect(bars.map(\.startTimeNs) == [utc("2024-01-02T00:00:00Z"), utc("2024-01-05T00:00:00Z")])
        #expect(bars.map(\.close) == [185.64, 181.18])
        let issues = recorder.issues
        #expect(issues.count == 7)
        #expect(issues.allSatisfy { $0.kind == .malformedPayload && !$0.isFatal })
        for (issue, line) in zip(issues, [3, 4, 5, 6, 8, 9, 11]) {
            #expect(issue.message.contains("malformed.csv:\(line):"), "\(issue.message)")
        }
        #expect(issues[0].message.contains("low 'abc' is not a number"))
        #expect(issues[1].message.contains("has 5 fields; the header has 7"))
        #expect(issues[2].message.contains("is not a timestamp"))
        #expect(issues[3].message.contains("high 180.0 is below low 183.09"))
        #expect(issues[4].message.contains("not a valid symbol"))
        #expect(issues[6].message.contains("time goes backwards"))
        #expect(issues[0].symbol == "AAPL")
        #expect(recorder.counts["malformed_rows"] == 7)
    }

    @Test("a looped file's bad rows are reported on the first pass only, then counted")
    func malformedRowsWhileLooping() async throws {
        let path = try replayFixture("malformed.csv")
        let recorder = try await play(try ReplayProvider(config: replayConfig([path], loop: true)), until: 6)
        #expect(recorder.issues.count == 7)
        #expect((recorder.counts["malformed_rows"] ?? 0) >= 14)
    }

    @Test("beyond 20 bad rows in a file, one summary is reported and the rest are counted")
    func reportCap() async throws {
        let directory = try TemporaryDirectory()
        var text = "timestamp,symbol,price,size\n"
        for index in 0..<30 { text += "1704205800\(index),X,oops,1\n" }
        text += "1704205900,X,1,1\n"
        let path = try directory.write("bad.csv", text)
        let recorder = try await play(try ReplayProvider(config: replayConfig([path])), until: 1)
        #expect(recorder.issues.count == 21)
        #expect(recorder.issues.last?.message.contains("more than 20 rows skipped") == true)
        #expect(recorder.counts["malformed_rows"] == 30)
    }

    @Test("an over-long line is skipped and reported; the rows after it still play")
    func overlongLine() async throws {
        let directory = try TemporaryDirectory()
        let long = String(repeating: "9", count: 1_100_000)
        let path = try directory.write("long.csv", "timestamp,symbol,price,size\n1704205800,X,1,1\n\(long),X,1,1\n1704205801,X,2,1\n")
        let recorder = try await play(try ReplayProvider(config: replayConfig([path])), until: 2)
        #expect(recorder.trades.map(\.trade.price) == [1, 2])
        #expect(recorder.issues.count == 1)
        #expect(recorder.issues.first?.message.contains("long.csv:3: longer than") == true, "\(recorder.issues)")
    }

    @Test("a file that disappears after the config check ends the replay with a fatal issue")
    func vanishedFile() async throws {
        let directory = try TemporaryDirectory()
        let path = try tradesFile(in: directory, "gone.csv", count: 3, gapMilliseconds: 1)
        let provider = try ReplayProvider(config: replayConfig([path]))
        try FileManager.default.removeItem(atPath: path)
        let recorder = ReplayRecorder()
        await #expect {
            try await provider.run(symbols: [], sink: recorder.sink)
        } throws: { error in
            guard let issue = error as? ProviderIssue else { return false }
            return issue.isFatal && issue.kind == .invalidRequest && issue.message.contains("gone.csv")
        }
    }

    @Test("a file whose only symbol is not among the tickers is not read at all")
    func skippedFile() async throws {
        let files = [try replayFixture("nvda-1999-2014-daily.csv"), try replayFixture("intraday_1min_AAPL.csv")]
        let recorder = try await play(try ReplayProvider(config: replayConfig(files, tickers: ["AAPL"])), symbols: ["AAPL"], until: 4)
        #expect(Set(recorder.bars.map(\.symbol)) == ["AAPL"])
        #expect(recorder.counts["filtered_rows"] == nil)
    }
}
