/// A map that holds at most `capacity` entries: adding one more evicts the least recently
/// used (read or written through ``update(_:default:_:)``), and ``evictions`` counts them.
/// Every operation is O(1); memory stays at `capacity` entries whatever keys arrive.
public struct LRUMap<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Node: Sendable {
        var key: Key
        var value: Value
        /// Neighbours in recency order, as indices into `nodes`; -1 at either end.
        var newer = -1
        var older = -1
    }

    public let capacity: Int
    /// Entries evicted to make room, since creation.
    public private(set) var evictions: UInt64 = 0
    private var index: [Key: Int] = [:]
    private var nodes: [Node] = []
    private var newest = -1
    private var oldest = -1

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public var count: Int { nodes.count }

    /// The value for `key`, without making it recent.
    public subscript(key: Key) -> Value? { index[key].map { nodes[$0].value } }

    /// Every entry, most recently used first.
    public var entries: [(key: Key, value: Value)] {
        var result: [(key: Key, value: Value)] = []
        result.reserveCapacity(nodes.count)
        var position = newest
        while position >= 0 {
            result.append((nodes[position].key, nodes[position].value))
            position = nodes[position].older
        }
        return result
    }

    /// Changes the value for `key` (inserting `initial()` first when absent, evicting the
    /// least recently used entry when full) and makes it the most recent.
    public mutating func update(
        _ key: Key, default initial: @autoclosure () -> Value, _ change: (inout Value) -> Void
    ) {
        if let position = index[key] {
            unlink(position)
            change(&nodes[position].value)
            pushNewest(position)
            return
        }
        var value = initial()
        change(&value)
        let position: Int
        if nodes.count < capacity {
            nodes.append(Node(key: key, value: value))
            position = nodes.count - 1
        } else {
            // Reuse the oldest entry's slot.
            position = oldest
            unlink(position)
            index[nodes[position].key] = nil
            nodes[position] = Node(key: key, value: value)
            evictions &+= 1
        }
        index[key] = position
        pushNewest(position)
    }

    /// Changes every value in place, leaving the recency order alone.
    public mutating func updateAll(_ change: (inout Value) -> Void) {
        for position in nodes.indices { change(&nodes[position].value) }
    }

    private mutating func unlink(_ position: Int) {
        let node = nodes[position]
        if node.newer >= 0 { nodes[node.newer].older = node.older } else { newest = node.older }
        if node.older >= 0 { nodes[node.older].newer = node.newer } else { oldest = node.newer }
        nodes[position].newer = -1
        nodes[position].older = -1
    }

    private mutating func pushNewest(_ position: Int) {
        nodes[position].older = newest
        nodes[position].newer = -1
        if newest >= 0 { nodes[newest].newer = position }
        newest = position
        if oldest < 0 { oldest = position }
    }
}
