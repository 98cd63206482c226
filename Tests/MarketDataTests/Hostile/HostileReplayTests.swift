import Contracts
import Foundation
import ServiceKit
import TestSupport
import Testing

@testable import MarketData

/// Replay files with values no market has: each bad row is skipped with a `file:line` issue
/// and counted by reason; nothing traps.
@Suite("Hostile replay files", .timeLimit(.minutes(1)))
struct HostileReplayTests {
    /// Plays `paths` at full speed until `count` events came, then waits a little for the rest.
    func playAll(_ paths: [String], count: Int, loop: Bool = false) async throws -> ReplayRecorder {
        let recorder = try await play(try ReplayProvider(config: replayConfig(paths, loop: loop)), until: count)
        return recorder
    }

    func issueLines(_ recorder: ReplayRecorder) -> [String] { recorder.issues.map(\.message) }

    @Test("bars with dates before 1900 or after 2200, the end of the nanosecond range, nan, inf and 1e20")
    func bars() async throws {
        let directory = try TemporaryDirectory()
        var garbage = Data("2024-01-02T14:33:00Z,\u{0}".utf8)
        garbage += Data([0xFF, 0xFE, 0x00, 0x80, 0x2C, 0xC3])
        let lines = [
            "timestamp,symbol,open,high,low,close,volume",
            "2024-01-02T14:30:00Z,AAPL,1,2,1,2,100",
            "1600-01-01T00:00:00Z,AAPL,1,2,1,2,100",
            "2300-01-01T00:00:00Z,AAPL,1,2,1,2,100",
            "2262-04-11T23:50:00Z,AAPL,1,2,1,2,100",
            "9223372036.9,AAPL,1,2,1,2,100",
            "2024-01-02T14:31:00Z,AAPL,nan,2,1,2,100",
            "2024-01-02T14:32:00Z,AAPL,1,inf,1,2,100",
            "2024-01-02T14:33:00Z,AAPL,1,2,1,2,1e20",
            "2024-01-02T14:34:00Z,AAPL,1,2,1,1e10,100",
            "@GARBAGE@",
            "2024-01-02T14:35:00Z,AAPL,1,2,1,2,100",
            "2199-12-31T23:59:30Z,AAPL,1,2,1,2,100",
        ]
        var contents = Data((lines.joined(separator: "\n") + "\n").utf8)
        let marker = Data("@GARBAGE@".utf8)
        if let range = contents.range(of: marker) { contents.replaceSubrange(range, with: garbage) }
        let path = directory.file("bars.csv")
        try contents.write(to: URL(fileURLWithPath: path))

        let recorder = try await playAll([path], count: 2)
        #expect(recorder.bars.map(\.startTimeNs) == [utc("2024-01-02T14:30:00Z"), utc("2024-01-02T14:35:00Z")])
        let expected = [
            "\(path):3: time '1600-01-01T00:00:00Z' is out of range (1900 to 2200); row skipped",
            "\(path):4: time '2300-01-01T00:00:00Z' is out of range (1900 to 2200); row skipped",
            "\(path):5: time '2262-04-11T23:50:00Z' is out of range (1900 to 2200); row skipped",
            "\(path):6: time '9223372036.9' is out of range (1900 to 2200); row skipped",
            "\(path):7: open 'nan' is not a number; row skipped",
            "\(path):8: high 'inf' is not a number; row skipped",
            "\(path):9: volume 1e+20, vwap 0.0 or trade count 0.0 is out of range (volume and trade count 0 to 1e12, "
                + "the count a whole number; vwap 0 or a price); row skipped",
            "\(path):10: close 10000000000.0 is not a price (above 0, at most 1e9); row skipped",
            "\(path):11: has 3 fields; the header has 7; row skipped",
            "\(path):13: the bar's end is out of range (1900 to 2200); row skipped",
        ]
        #expect(issueLines(recorder) == expected.map { "replay: \($0)" })
        #expect(
            recorder.rejected == [.timeRange: 5, .priceRange: 3, .sizeRange: 1, .malformed: 1], "\(recorder.rejected)")
        #expect(recorder.counts["malformed_rows"] == 10)
    }

    @Test("trades with epoch times beyond the range, 20-digit numbers, inf prices and absurd sizes")
    func trades() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write(
            "trades.csv",
            [
                "timestamp,symbol,price,size,id",
                "1710430920.5,AAPL,189.5,100,1",
                "9223372036854775807,AAPL,189.5,100,2",
                "99999999999999999999,AAPL,189.5,100,3",
                "1710430921,AAPL,inf,100,4",
                "1710430922,AAPL,189.5,-1,5",
                "1710430923,AAPL,189.5,1e13,6",
                "1710430924,AAPL,189.5,100," + String(repeating: "9", count: 100),
                "1710430925,AAPL,189.6,200,8",
            ].joined(separator: "\n") + "\n")
        let recorder = try await playAll([path], count: 2)
        #expect(recorder.trades.map(\.trade.tradeID) == ["1", "8"])
        #expect(recorder.trades.map(\.time) == [1_710_430_920_500_000_000, 1_710_430_925_000_000_000])
        let expected = [
            "\(path):3: time '9223372036854775807' is out of range (1900 to 2200); row skipped",
            "\(path):4: time '99999999999999999999' is not a timestamp; row skipped",
            "\(path):5: price 'inf' is not a number; row skipped",
            "\(path):6: size -1.0 is out of range (0 to 1e12); row skipped",
            "\(path):7: size 10000000000000.0 is out of range (0 to 1e12); row skipped",
            "\(path):8: exchange or trade id is longer than 64 bytes; row skipped",
        ]
        #expect(issueLines(recorder) == expected.map { "replay: \($0)" })
        #expect(
            recorder.rejected == [.timeRange: 1, .malformed: 1, .priceRange: 1, .sizeRange: 2, .fieldLength: 1],
            "\(recorder.rejected)")
    }

    @Test("a looped file near the year 2200 stops looping instead of leaving the range")
    func loopStopsAtTheRange() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write(
            "late.csv",
            "timestamp,symbol,price,size\n2199-12-31T23:00:00Z,AAPL,1,1\n2199-12-31T23:30:00Z,AAPL,2,1\n")
        let provider = try ReplayProvider(config: replayConfig([path], loop: true))
        let recorder = ReplayRecorder()
        let sink = recorder.sink
        let task = Task { try await provider.run(symbols: ["AAPL"], sink: sink) }
        try await waitUntil(seconds: 10, "the first pass") { recorder.counts["replay_passes"] == 1 }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        _ = await task.result
        #expect(recorder.counts["replay_passes"] == 1)
        #expect(recorder.trades.count == 2)
        #expect(recorder.trades.allSatisfy { MarketLimits.isPlausible(time: $0.time) })
    }

    @Test("an #interval of 0, a negative or a huge one is a config error naming the entry")
    func intervals() throws {
        let path = try replayFixture("nvda-1999-2014-daily.csv")
        for option in ["#interval=0min", "#interval=-5min", "#interval=999999d", "#interval=367d", "#interval=1e9s"] {
            #expect {
                _ = try ReplayProvider(config: replayConfig([path + option]))
            } throws: { error in
                guard let error = error as? ConfigError else { return false }
                return error.path == "replay.files[0]" && error.message.contains("at most 366d")
            }
        }
        #expect(ReplayFile.interval(from: "366d") == 366 * day)
    }

    @Test("a binary file is refused at start with its entry, not played")
    func binaryFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("random.csv")
        var generator = SeededGenerator(seed: 7)
        let bytes = (0..<65_536).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try ReplayProvider(config: replayConfig([path]))
        } throws: { ($0 as? ConfigError)?.path == "replay.files[0]" }
    }

    @Test("timestamps parse to seconds and nanoseconds without overflow for any four-digit year")
    func timestampParsing() {
        var resolver = ReplayTimeResolver(zone: .utc)
        let texts = ["0001-01-01", "9999-12-31T23:59:59.999999999Z", "9999-12-31 23:59:59", "9223372036.9"]
            + ["1677-09-21"]
        for text in texts {
            guard let timestamp = ReplayTimeParser.parse(Substring(text)) else {
                Issue.record("\(text) does not parse")
                continue
            }
            #expect(resolver.resolve(timestamp) == nil, "\(text)")
        }
        let ok = ReplayTimeParser.parse("1900-01-01T00:00:00Z").flatMap { resolver.resolve($0) }
        #expect(ok?.time == MarketLimits.earliestTime)
    }
}
