import Foundation
import Indicators
import Testing

@Suite("Bars from trades")
struct BarBuilderTests {
    static let newYork = TimeZone(identifier: "America/New_York")!
    static let second: Int64 = 1_000_000_000
    /// 2024-03-14 13:30:00 UTC = 09:30 in New York (EDT).
    static let open: Int64 = 1_710_423_000 * second

    func builder(interval: Int64 = 60, tolerance: Int64 = 2) -> BarBuilder {
        BarBuilder(intervalNs: interval * Self.second, lateToleranceNs: tolerance * Self.second, timeZone: Self.newYork)
    }

    func closeAll(_ builder: inout BarBuilder, at time: Int64) -> [BuiltBar] {
        var bars: [BuiltBar] = []
        builder.close(asOf: time) { bars.append($0) }
        return bars
    }

    @Test("OHLCV, VWAP and the trade count of one bar")
    func oneBar() {
        var b = builder()
        for (offset, price, size) in [(1, 10.0, 100.0), (20, 12.0, 50.0), (30, 9.0, 10.0), (59, 11.0, 40.0)] {
            #expect(b.add(time: Self.open + Int64(offset) * Self.second, price: price, size: size) == .accepted)
        }
        let bars = closeAll(&b, at: Self.open + 62 * Self.second)
        #expect(bars.count == 1)
        let bar = bars[0]
        #expect(bar.start == Self.open && bar.end == Self.open + 60 * Self.second)
        #expect((bar.open, bar.high, bar.low, bar.close) == (10, 12, 9, 11))
        #expect(bar.volume == 200 && bar.tradeCount == 4)
        #expect(abs(bar.vwap - (10 * 100 + 12 * 50 + 9 * 10 + 11 * 40) / 200.0) < 1e-12)
    }

    @Test("a bar closes only after its end plus the tolerance")
    func closesOnTime() {
        var b = builder()
        _ = b.add(time: Self.open + 5 * Self.second, price: 10, size: 1)
        #expect(closeAll(&b, at: Self.open + 61 * Self.second).isEmpty)
        #expect(closeAll(&b, at: Self.open + 62 * Self.second).count == 1)
    }

    @Test("late trades within the tolerance land in their bar; open and close follow trade time")
    func lateWithinTolerance() {
        var b = builder()
        _ = b.add(time: Self.open + 10 * Self.second, price: 10, size: 1)
        _ = b.add(time: Self.open + 61 * Self.second, price: 20, size: 1)  // next bar
        // Arrives after the next bar's trade, but belongs to the first bar and is its earliest.
        #expect(b.add(time: Self.open + 1 * Self.second, price: 9, size: 1) == .accepted)
        #expect(b.add(time: Self.open + 59 * Self.second, price: 11, size: 1) == .accepted)
        let bars = closeAll(&b, at: Self.open + 62 * Self.second)
        #expect(bars.count == 1)
        #expect((bars[0].open, bars[0].close, bars[0].tradeCount) == (9, 11, 3))
    }

    @Test("trades for a closed bar are late and dropped")
    func lateBeyondTolerance() {
        var b = builder()
        _ = b.add(time: Self.open + 10 * Self.second, price: 10, size: 1)
        #expect(closeAll(&b, at: Self.open + 62 * Self.second).count == 1)
        #expect(b.add(time: Self.open + 30 * Self.second, price: 50, size: 1) == .late)
        #expect(b.add(time: Self.open + 70 * Self.second, price: 10, size: 1) == .accepted)
    }

    @Test("bad prices and sizes are refused")
    func invalid() {
        var b = builder()
        #expect(b.add(time: Self.open, price: 0, size: 1) == .invalid)
        #expect(b.add(time: Self.open, price: .nan, size: 1) == .invalid)
        #expect(b.add(time: Self.open, price: 10, size: -1) == .invalid)
        #expect(b.openBarCount == 0)
    }

    @Test("hourly and daily bars align to New York time, across a DST change")
    func alignment() {
        var hourly = BarAlignment(intervalNs: 3600 * Self.second, timeZone: Self.newYork)
        // 09:45 EDT -> 09:00 EDT = 13:00 UTC.
        #expect(hourly.start(of: Self.open + 15 * 60 * Self.second) == Self.open - 30 * 60 * Self.second)
        var daily = BarAlignment(intervalNs: 86_400 * Self.second, timeZone: Self.newYork)
        // 2024-03-14 midnight in New York is 04:00 UTC (EDT).
        #expect(daily.start(of: Self.open) == 1_710_388_800 * Self.second)
        // 2024-01-10 12:00 EST -> midnight EST = 05:00 UTC.
        #expect(daily.start(of: 1_704_906_000 * Self.second) == 1_704_862_800 * Self.second)
        var seconds = BarAlignment(intervalNs: 5 * Self.second, timeZone: Self.newYork)
        #expect(seconds.start(of: Self.open + 7_300_000_000) == Self.open + 5 * Self.second)
    }
}

@Suite("Bar files")
struct BarsCSVTests {
    let zone = TimeZone(identifier: "America/New_York")!

    @Test("any column order and case, newest-first reversed, extra columns ignored")
    func flexible() throws {
        let text = """
            Volume,CLOSE,Low,High,Open,Adj Close,Timestamp
            300,11.5,10.5,12,11,9,2024-03-14 09:32:00
            200,11,10,11.5,10.5,9,2024-03-14 09:31:00
            """
        let rows = try BarsCSV.parse(text, timeZone: zone)
        #expect(rows.map(\.timestamp) == ["2024-03-14 09:31:00", "2024-03-14 09:32:00"])
        #expect(rows[0].bar == OHLCV(time: rows[0].bar.time, open: 10.5, high: 11.5, low: 10, close: 11, volume: 200))
        // 09:31 New York (EDT) is 13:31 UTC.
        #expect(rows[0].bar.time == 1_710_423_060 * 1_000_000_000)
    }

    @Test("a byte-order mark, separate date and time columns, slashes in dates")
    func otherShapes() throws {
        let text = "\u{FEFF}Date,Time,Open,High,Low,Close,Volume,OpenInterest\n2006/01/02,09:01:00,3602,3603,3597,3599,5699,0\n2006/01/02,09:02:00,3600,3601,3598,3599,894,0\n"
        let rows = try BarsCSV.parse(text, timeZone: zone)
        #expect(rows.map(\.timestamp) == ["2006/01/02 09:01:00", "2006/01/02 09:02:00"])
        #expect(rows[1].bar.time - rows[0].bar.time == 60_000_000_000)
        #expect(rows[0].bar.close == 3599 && rows[1].bar.volume == 894)
    }

    @Test("bad rows name their line", arguments: [
        ("timestamp,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,10\n2024-01-03,1,x,0.5,1.5,10\n", 3, "high 'x'"),
        ("timestamp,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5\n", 2, "expected 6 fields"),
        ("timestamp,open,high,low,close,volume\n2024-13-02,1,2,0.5,1.5,10\n", 2, "not a date"),
        ("timestamp,open,high,low,close,volume\n2024-01-02,1,2,3,1.5,10\n", 2, "below low"),
        ("timestamp,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,10\n2024-01-03,1,2,0.5,1.5,10\n2024-01-03,1,2,0.5,1.5,10\n", 4, "out of order"),
        ("date,open,high,low,close\n2024-01-02,1,2,0.5,1.5\n", 1, "no 'volume' column"),
    ])
    func badRows(text: String, line: Int, reason: String) {
        do {
            _ = try BarsCSV.parse(text, path: "bars.csv", timeZone: zone)
            Issue.record("accepted a bad file")
        } catch let error as BarsCSVError {
            #expect(error.line == line, "\(error)")
            #expect(error.description.contains(reason), "\(error)")
            #expect(error.description.hasPrefix("bars.csv:"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("timestamp forms", arguments: [
        ("2024-03-14", Int64(1_710_388_800)),
        ("2024-03-14 09:30", 1_710_423_000),
        ("2024-03-14T09:30:00", 1_710_423_000),
        ("2024-03-14T13:30:00Z", 1_710_423_000),
        ("2024-03-14T09:30:00-04:00", 1_710_423_000),
        ("1710423000", 1_710_423_000),
    ])
    func timestamps(text: String, seconds: Int64) {
        #expect(Timestamp.parse(text, timeZone: zone) == seconds * 1_000_000_000)
    }
}
