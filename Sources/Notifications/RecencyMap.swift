/// A dictionary of at most `capacity` entries for keys that come from outside (service
/// names, throttle keys): when a new key would exceed it, the entry used least recently is
/// evicted and counted. Setting a value counts as use; reading does not.
///
/// Amortised O(1): uses are appended to a log that is compacted when it grows past a few
/// times the capacity; stale log entries (keys used again since) are skipped on eviction.
struct RecencyMap<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry: Sendable {
        var value: Value
        var stamp: UInt64
    }

    let capacity: Int
    /// Entries evicted because the map was full.
    private(set) var evictions: UInt64 = 0
    private var entries: [Key: Entry] = [:]
    private var log: [(key: Key, stamp: UInt64)] = []
    private var head = 0
    private var clock: UInt64 = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    /// The value for `key`, without counting as use.
    subscript(key: Key) -> Value? { entries[key]?.value }

    /// Every entry, in no particular order.
    var elements: [(key: Key, value: Value)] { entries.map { ($0.key, $0.value.value) } }

    /// Sets `key` to `value` and marks it used; evicts the least recently used entry when a
    /// new key makes the map exceed its capacity. Returns the evicted key, if any.
    @discardableResult
    mutating func set(_ key: Key, _ value: Value) -> Key? {
        clock &+= 1
        entries[key] = Entry(value: value, stamp: clock)
        log.append((key, clock))
        var evicted: Key?
        while entries.count > capacity, head < log.count {
            let oldest = log[head]
            head += 1
            if entries[oldest.key]?.stamp == oldest.stamp {
                entries[oldest.key] = nil
                evictions &+= 1
                evicted = oldest.key
            }
        }
        if log.count - head > 2 * capacity + 16 { compact() }
        return evicted
    }

    /// Changes the value of `key` in place, if present, without counting as use.
    mutating func update(_ key: Key, _ body: (inout Value) -> Void) {
        guard var entry = entries[key] else { return }
        body(&entry.value)
        entries[key] = entry
    }

    @discardableResult
    mutating func removeValue(forKey key: Key) -> Value? {
        entries.removeValue(forKey: key)?.value
    }

    /// Rebuilds the log from the live entries, oldest use first.
    private mutating func compact() {
        log = entries.map { ($0.key, $0.value.stamp) }.sorted { $0.stamp < $1.stamp }
        head = 0
    }
}
