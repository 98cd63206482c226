/// A dictionary with a capacity: when full, inserting a new key evicts the entries seen least
/// recently, and counts them.
///
/// For state keyed by data from outside (producers, topics, symbols, dedupe keys), so a
/// flood of new keys costs a bounded amount of memory. Reads and updates are O(1); each entry
/// carries the tick of its last use, and a full map drops its oldest eighth at once (a sort,
/// amortised to O(log n) per insert), so the order is exact where it matters and cheap where
/// it does not.
public struct RecencyMap<Key: Hashable, Value> {
    fileprivate struct Entry {
        var value: Value
        var lastUse: UInt64
    }

    private var entries: [Key: Entry] = [:]
    private var tick: UInt64 = 0
    /// The most entries held.
    public let capacity: Int
    /// Entries dropped to make room, since creation.
    public private(set) var evictions: UInt64 = 0

    /// A map holding at most `capacity` entries (at least 1).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// The value for `key`, marking it as used.
    public mutating func value(for key: Key) -> Value? {
        guard var entry = entries[key] else { return nil }
        tick &+= 1
        entry.lastUse = tick
        entries[key] = entry
        return entry.value
    }

    /// The value for `key` without marking it as used.
    public func peek(_ key: Key) -> Value? { entries[key]?.value }

    /// Sets `value` for `key`, marking it as used; evicts the least recently used entries
    /// first when `key` is new and the map is full.
    public mutating func set(_ value: Value, for key: Key) {
        tick &+= 1
        if entries[key] == nil && entries.count >= capacity { evictOldest() }
        entries[key] = Entry(value: value, lastUse: tick)
    }

    /// Updates the value for `key` in place (inserting `defaultValue` first if absent) and
    /// returns what `body` returns. Marks the key as used.
    public mutating func update<Result>(
        _ key: Key, default defaultValue: @autoclosure () -> Value, _ body: (inout Value) -> Result
    ) -> Result {
        tick &+= 1
        let now = tick
        if entries[key] == nil && entries.count >= capacity { evictOldest() }
        return Self.touch(&entries[key, default: Entry(value: defaultValue(), lastUse: now)], at: now, body)
    }

    private static func touch<Result>(_ entry: inout Entry, at tick: UInt64, _ body: (inout Value) -> Result) -> Result {
        entry.lastUse = tick
        return body(&entry.value)
    }

    /// Removes `key`; returns its value.
    @discardableResult
    public mutating func remove(_ key: Key) -> Value? { entries.removeValue(forKey: key)?.value }

    /// Removes every entry whose key matches `predicate`.
    public mutating func removeAll(where predicate: (Key) -> Bool) {
        for key in entries.keys where predicate(key) { entries[key] = nil }
    }

    /// Every entry, in no particular order.
    public var all: [(key: Key, value: Value)] { entries.map { ($0.key, $0.value.value) } }

    private mutating func evictOldest() {
        let drop = max(1, entries.count / 8)
        let oldest = entries.sorted { $0.value.lastUse < $1.value.lastUse }.prefix(drop)
        for (key, _) in oldest { entries[key] = nil }
        evictions &+= UInt64(oldest.count)
    }
}

extension RecencyMap: Sendable where Key: Sendable, Value: Sendable {}

extension RecencyMap.Entry: Sendable where Key: Sendable, Value: Sendable {}
