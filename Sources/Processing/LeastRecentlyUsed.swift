/// A map with at most `capacity` entries: inserting into a full map evicts the entry used
/// least recently (read or written through ``withValue(for:insert:_:)``), and counts it.
/// Every operation is O(1); storage never exceeds `capacity` entries.
struct LeastRecentlyUsed<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Node: Sendable {
        var key: Key
        var value: Value
        var older: Int
        var newer: Int
    }

    let capacity: Int
    /// Entries evicted to make room so far.
    private(set) var evictions: UInt64 = 0
    private var index: [Key: Int] = [:]
    private var nodes: [Node] = []
    private var oldest = -1
    private var newest = -1

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { nodes.count }

    /// The value for `key` without marking it used.
    func peek(_ key: Key) -> Value? { index[key].map { nodes[$0].value } }

    /// Runs `body` on the value for `key`, inserting `insert()` first when absent (evicting
    /// the least recently used entry when full), and marks it the most recently used.
    mutating func withValue<Result>(
        for key: Key, insert: () -> Value, _ body: (inout Value) -> Result
    ) -> Result {
        let slot: Int
        if let found = index[key] {
            slot = found
            unlink(slot)
        } else if nodes.count < capacity {
            slot = nodes.count
            nodes.append(Node(key: key, value: insert(), older: -1, newer: -1))
            index[key] = slot
        } else {
            slot = oldest
            unlink(slot)
            index[nodes[slot].key] = nil
            nodes[slot].key = key
            nodes[slot].value = insert()
            index[key] = slot
            evictions &+= 1
        }
        link(slot)
        return body(&nodes[slot].value)
    }

    /// Runs `body` on every entry, in no particular order, without marking any used.
    mutating func forEach(_ body: (Key, inout Value) -> Void) {
        for slot in nodes.indices { body(nodes[slot].key, &nodes[slot].value) }
    }

    private mutating func unlink(_ slot: Int) {
        let older = nodes[slot].older, newer = nodes[slot].newer
        if older >= 0 { nodes[older].newer = newer } else { oldest = newer }
        if newer >= 0 { nodes[newer].older = older } else { newest = older }
    }

    private mutating func link(_ slot: Int) {
        nodes[slot].older = newest
        nodes[slot].newer = -1
        if newest >= 0 { nodes[newest].newer = slot } else { oldest = slot }
        newest = slot
    }
}
