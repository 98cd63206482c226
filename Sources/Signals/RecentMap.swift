/// A dictionary of at most `capacity` entries that forgets the least recently used one when a
/// new key arrives while full, and counts what it forgot. For per-key state whose keys come
/// from outside (symbols on the bus): memory stays bounded whatever arrives.
struct RecentMap<Key: Hashable, Value> {
    private var entries: [Key: (value: Value, used: UInt64)] = [:]
    private var clock: UInt64 = 0
    let capacity: Int
    /// Entries forgotten to make room.
    private(set) var evictions: UInt64 = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { entries.count }

    /// The value for `key`, marking it as just used.
    mutating func use(_ key: Key) -> Value? {
        guard let entry = entries[key] else { return nil }
        clock &+= 1
        entries[key] = (entry.value, clock)
        return entry.value
    }

    /// Stores `value` for `key`; returns true when another key was forgotten to make room.
    @discardableResult
    mutating func set(_ value: Value, for key: Key) -> Bool {
        clock &+= 1
        var evicted = false
        if entries[key] == nil && entries.count >= capacity,
           let oldest = entries.min(by: { $0.value.used < $1.value.used })?.key {
            entries[oldest] = nil
            evictions &+= 1
            evicted = true
        }
        entries[key] = (value, clock)
        return evicted
    }
}
