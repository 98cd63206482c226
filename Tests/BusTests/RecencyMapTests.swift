import Bus
import Testing

@Suite("RecencyMap and SequenceTracker stay bounded under a flood of new keys")
struct RecencyMapTests {
    @Test("a full map evicts the least recently used entries and counts them")
    func evictsLeastRecentlyUsed() {
        var map = RecencyMap<Int, String>(capacity: 8)
        for key in 0..<8 { map.set("v\(key)", for: key) }
        // Touch 0 and 1 so they are the most recent.
        #expect(map.value(for: 0) == "v0")
        map.update(1, default: "") { $0 += "!" }
        map.set("v8", for: 8)
        #expect(map.count == 8)
        #expect(map.evictions == 1)
        #expect(map.peek(2) == nil)  // the oldest untouched key went
        #expect(map.peek(0) == "v0")
        #expect(map.peek(1) == "v1!")
        #expect(map.peek(8) == "v8")
    }

    @Test("evicts the least recently used, never holds more than its capacity; forEach marks nothing used")
    func exactOrder() {
        var map = RecencyMap<String, Int>(capacity: 3)
        for (index, key) in ["a", "b", "c"].enumerated() { map.update(key, default: index) { _ in } }
        map.update("a", default: -1) { $0 += 10 }  // a is the newest now
        map.update("d", default: 3) { _ in }  // evicts b
        #expect(map.peek("b") == nil && map.peek("a") == 10 && map.peek("c") == 2 && map.peek("d") == 3)
        #expect(map.evictions == 1 && map.count == 3)
        for index in 0..<10_000 { map.update("k\(index)", default: index) { _ in } }
        #expect(map.count == 3 && map.evictions == 10_001)
        #expect(map.peek("k9999") == 9_999 && map.peek("k9996") == nil)
        var seen = 0
        map.forEach { _, value in value += 1; seen += 1 }
        #expect(seen == 3 && map.peek("k9999") == 10_000)
        #expect(map.all.map(\.key) == ["k9997", "k9998", "k9999"])
    }

    @Test("removing from any position keeps the recency order of the rest")
    func removal() {
        for removed in 0..<5 {
            var map = RecencyMap<Int, Int>(capacity: 5)
            for key in 0..<5 { map.set(key * 10, for: key) }
            #expect(map.remove(removed) == removed * 10)
            #expect(map.remove(removed) == nil)
            #expect(map.all.map(\.key) == (0..<5).filter { $0 != removed }, "removed \(removed)")
            map.set(99, for: 7)
            map.set(98, for: 8)  // full again: evicts the oldest survivor
            let survivors = (0..<5).filter { $0 != removed }
            #expect(map.all.map(\.key) == Array(survivors.dropFirst()) + [7, 8], "removed \(removed)")
            map.removeAll { $0 >= 7 }
            #expect(map.all.map(\.key) == Array(survivors.dropFirst()))
        }
    }

    @Test("agrees with a plain ordered model over 20,000 random sets, uses and removals")
    func againstModel() {
        var model: [Int] = []  // keys, least recently used first
        var map = RecencyMap<Int, Int>(capacity: 16)
        var state: UInt64 = 42
        for _ in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let key = Int(state >> 59)  // 0..<32
            switch state & 7 {
            case 0:
                #expect((map.remove(key) != nil) == model.contains(key))
                model.removeAll { $0 == key }
            case 1:
                #expect((map.value(for: key) != nil) == model.contains(key))
                if model.contains(key) {
                    model.removeAll { $0 == key }
                    model.append(key)
                }
            default:
                map.set(key, for: key)
                model.removeAll { $0 == key }
                model.append(key)
                if model.count > 16 { model.removeFirst() }
            }
        }
        #expect(map.all.map(\.key) == model)
    }

    @Test("a million distinct keys through a 1,000-entry map: never above capacity")
    func flood() {
        var map = RecencyMap<UInt64, UInt64>(capacity: 1_000)
        for key in 0..<UInt64(1_000_000) {
            map.update(key, default: 0) { $0 += 1 }
            if key % 100_003 == 0 { #expect(map.count <= 1_000) }
        }
        #expect(map.count <= 1_000)
        #expect(map.evictions >= 999_000)
        #expect(map.peek(999_999) == 1)
    }

    @Test("SequenceTracker: an evicted stream that comes back starts afresh; evictions are counted")
    func trackerEviction() {
        var tracker = SequenceTracker<String>(capacity: 4)
        #expect(tracker.record(1, for: "a") == .first)
        #expect(tracker.record(2, for: "a") == .inOrder)
        for stream in ["b", "c", "d", "e"] { #expect(tracker.record(1, for: stream) == .first) }
        #expect(tracker.streamCount <= 4)
        #expect(tracker.totals.evictions >= 1)
        // "a" was the least recently seen, so it went: its next number is a first again.
        #expect(tracker.record(9, for: "a") == .first)
        #expect(tracker.record(11, for: "a") == .gap(missing: 1))
        #expect(tracker.totals.gaps == 1)
    }
}
