/// The last `capacity` keys seen, for dropping duplicates in O(1) with bounded memory.
public struct RecentSet<Key: Hashable & Sendable>: Sendable {
    private var members: Set<Key> = []
    private var order: [Key?]
    private var next = 0

    public init(capacity: Int) {
        order = Array(repeating: nil, count: max(1, capacity))
    }

    /// Adds `key`; returns false when it was already among the recent keys.
    public mutating func insert(_ key: Key) -> Bool {
        guard !members.contains(key) else { return false }
        if let evicted = order[next] { members.remove(evicted) }
        order[next] = key
        members.insert(key)
        next = (next + 1) % order.count
        return true
    }
}
