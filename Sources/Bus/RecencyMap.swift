/// A dictionary with a capacity: inserting a new key into a full map evicts the entry used
/// least recently, and counts it.
///
/// For state keyed by data from outside (producers, topics, symbols, dedupe keys), so a flood
/// of new keys costs a bounded amount of memory. Every operation is O(1): entries live in an
/// array threaded by a doubly linked recency list, and a dictionary finds their slots.
public struct RecencyMap<Key: Hashable, Value> {
    fileprivate struct Node {
        var key: Key
        var value: Value
        var older: Int
        var newer: Int
    }

    private var slots: [Key: Int] = [:]
    private var nodes: [Node] = []
    private var oldest = -1
    private var newest = -1
    /// The most entries held.
    public let capacity: Int
    /// Entries dropped to make room, since creation.
    public private(set) var evictions: UInt64 = 0

    /// A map holding at most `capacity` entries (at least 1).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public var count: Int { nodes.count }
    public var isEmpty: Bool { nodes.isEmpty }

    /// The value for `key`, marking it as used.
    public mutating func value(for key: Key) -> Value? {
        guard let slot = slots[key] else { return nil }
        touch(slot)
        return nodes[slot].value
    }

    /// The value for `key` without marking it as used.
    public func peek(_ key: Key) -> Value? { slots[key].map { nodes[$0].value } }

    /// Sets `value` for `key` and marks it as used.
    public mutating func set(_ value: Value, for key: Key) {
        update(key, default: value) { $0 = value }
    }

    /// Runs `body` on the value for `key`, inserting `defaultValue` first when absent (which
    /// evicts the least recently used entry when full), and marks it as used.
    public mutating func update<Result>(
        _ key: Key, default defaultValue: @autoclosure () -> Value, _ body: (inout Value) -> Result
    ) -> Result {
        let slot: Int
        if let found = slots[key] {
            slot = found
            unlink(slot)
        } else if nodes.count < capacity {
            slot = nodes.count
            nodes.append(Node(key: key, value: defaultValue(), older: -1, newer: -1))
            slots[key] = slot
        } else {
            slot = oldest
            unlink(slot)
            slots[nodes[slot].key] = nil
            nodes[slot].key = key
            nodes[slot].value = defaultValue()
            slots[key] = slot
            evictions &+= 1
        }
        link(slot)
        return body(&nodes[slot].value)
    }

    /// Runs `body` on the value for `key` if there is one, without marking it as used.
    public mutating func modify(_ key: Key, _ body: (inout Value) -> Void) {
        guard let slot = slots[key] else { return }
        body(&nodes[slot].value)
    }

    /// Removes `key`; returns its value.
    @discardableResult
    public mutating func remove(_ key: Key) -> Value? {
        guard let slot = slots.removeValue(forKey: key) else { return nil }
        unlink(slot)
        let value = nodes[slot].value
        let last = nodes.count - 1
        if slot != last {
            // Move the last node into the hole and repoint its neighbours.
            unlink(last)
            nodes[slot] = nodes[last]
            slots[nodes[slot].key] = slot
            relink(slot, after: nodes[slot].older, before: nodes[slot].newer)
        }
        nodes.removeLast()
        return value
    }

    /// Removes every entry whose key matches `predicate`.
    public mutating func removeAll(where predicate: (Key) -> Bool) {
        for key in nodes.map(\.key) where predicate(key) { remove(key) }
    }

    /// Runs `body` on every entry, in no particular order, without marking any as used.
    public mutating func forEach(_ body: (Key, inout Value) -> Void) {
        for slot in nodes.indices { body(nodes[slot].key, &nodes[slot].value) }
    }

    /// Every entry, least recently used first.
    public var all: [(key: Key, value: Value)] {
        var entries: [(key: Key, value: Value)] = []
        entries.reserveCapacity(nodes.count)
        var slot = oldest
        while slot >= 0 {
            entries.append((nodes[slot].key, nodes[slot].value))
            slot = nodes[slot].newer
        }
        return entries
    }

    private mutating func touch(_ slot: Int) {
        guard slot != newest else { return }
        unlink(slot)
        link(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let older = nodes[slot].older
        let newer = nodes[slot].newer
        if older >= 0 { nodes[older].newer = newer } else { oldest = newer }
        if newer >= 0 { nodes[newer].older = older } else { newest = older }
    }

    /// Makes `slot` the most recently used.
    private mutating func link(_ slot: Int) {
        nodes[slot].older = newest
        nodes[slot].newer = -1
        if newest >= 0 { nodes[newest].newer = slot } else { oldest = slot }
        newest = slot
    }

    /// Puts `slot` back between `older` and `newer` (the moved node's old neighbours, which
    /// ``unlink(_:)`` joined to each other).
    private mutating func relink(_ slot: Int, after older: Int, before newer: Int) {
        nodes[slot].older = older
        nodes[slot].newer = newer
        if older >= 0 { nodes[older].newer = slot } else { oldest = slot }
        if newer >= 0 { nodes[newer].older = slot } else { newest = slot }
    }
}

extension RecencyMap.Node: Sendable where Key: Sendable, Value: Sendable {}
extension RecencyMap: Sendable where Key: Sendable, Value: Sendable {}
