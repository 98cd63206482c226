import Bus
import Testing

@Suite("SequenceTracker")
struct SequenceTrackerTests {
    @Test("first, in order, gap, duplicate and out-of-order outcomes with exact totals")
    func outcomes() {
        var tracker = SequenceTracker<String>()
        #expect(tracker.record(7, for: "a") == .first)  // joined late: not a gap
        #expect(tracker.record(8, for: "a") == .inOrder)
        #expect(tracker.record(11, for: "a") == .gap(missing: 2))
        #expect(tracker.record(11, for: "a") == .duplicate)
        #expect(tracker.record(9, for: "a") == .duplicate)  // older than the last: reordered
        #expect(tracker.record(12, for: "a") == .inOrder)
        #expect(tracker.record(112, for: "a") == .gap(missing: 99))

        var expected = SequenceTracker<String>.Totals()
        expected.messages = 7
        expected.gaps = 2
        expected.missing = 101
        expected.duplicates = 2
        #expect(tracker.totals == expected)
        #expect(tracker.streamCount == 1)
    }

    @Test("streams are tracked separately")
    func separateStreams() {
        var tracker = SequenceTracker<String>()
        #expect(tracker.record(1, for: "tick.AAPL") == .first)
        #expect(tracker.record(1, for: "tick.MSFT") == .first)
        #expect(tracker.record(2, for: "tick.AAPL") == .inOrder)
        #expect(tracker.record(3, for: "tick.MSFT") == .gap(missing: 1))
        #expect(tracker.record(3, for: "tick.AAPL") == .inOrder)
        #expect(tracker.streamCount == 2)
        #expect(tracker.totals.messages == 5)
        #expect(tracker.totals.gaps == 1)
        #expect(tracker.totals.missing == 1)
        #expect(tracker.totals.duplicates == 0)
    }

    @Test("reset forgets a stream, so its next number is a first again")
    func reset() {
        var tracker = SequenceTracker<String>()
        tracker.record(5, for: "a")
        tracker.record(5, for: "b")
        tracker.record(5, for: "c")
        tracker.reset("a")
        #expect(tracker.streamCount == 2)
        #expect(tracker.record(1, for: "a") == .first)  // a restarted producer
        tracker.reset { $0 != "a" }
        #expect(tracker.streamCount == 1)
        #expect(tracker.record(1, for: "b") == .first)
        #expect(tracker.record(1, for: "c") == .first)
        #expect(tracker.totals.duplicates == 0)
        #expect(tracker.totals.messages == 6)
    }

    @Test("a jump from 0 to UInt64.max does not overflow")
    func extremes() {
        var tracker = SequenceTracker<Int>()
        #expect(tracker.record(0, for: 1) == .first)
        #expect(tracker.record(UInt64.max, for: 1) == .gap(missing: UInt64.max - 1))
        #expect(tracker.record(UInt64.max, for: 1) == .duplicate)
        #expect(tracker.totals.missing == UInt64.max - 1)
    }
}
