/// A dictionary with a cap for keys that come from outside (symbols, alert keys): when it
/// is full, inserting a new key evicts the least recently seen entries first (an eighth of
/// the capacity at a time, so eviction costs O(log n) per insert on average) and counts them.
struct RecentMap<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry: Sendable {
        var value: Value
        var lastSeen: UInt64
    }

    let capacity: Int
    private var entries: [Key: Entry] = [:]
    private var clock: UInt64 = 0
    /// Entries evicted to make room, ever.
    private(set) var evictions: UInt64 = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { entries.count }

    /// The value for `key`, marking it as just seen.
    mutating func value(for key: Key) -> Value? {
        guard var entry = entries[key] else { return nil }
        clock &+= 1
        entry.lastSeen = clock
        entries[key] = entry
        return entry.value
    }

    /// Sets the value for `key` (marking it as just seen); returns how many entries were
    /// evicted to make room.
    @discardableResult
    mutating func set(_ value: Value, for key: Key) -> Int {
        clock &+= 1
        var evicted = 0
        if entries[key] == nil && entries.count >= capacity {
            evicted = evictOldest(max(1, capacity / 8))
        }
        entries[key] = Entry(value: value, lastSeen: clock)
        return evicted
    }

    private mutating func evictOldest(_ count: Int) -> Int {
        let oldest = entries.sorted { $0.value.lastSeen < $1.value.lastSeen }.prefix(count)
        for (key, _) in oldest { entries[key] = nil }
        evictions &+= UInt64(oldest.count)
        return oldest.count
    }
}
