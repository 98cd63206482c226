/// The highest or lowest of the last `period` values, with its age, in amortised O(1).
///
/// A monotonic queue of (value, index) pairs in fixed storage. On ties the most recent
/// value wins, as in TA-Lib's scans (`>=` / `<=`), which matters for Aroon's index.
public struct RollingExtreme: Sendable {
    public enum Kind: Sendable { case highest, lowest }

    public let period: Int
    public let kind: Kind
    private var values: ContiguousArray<Double>
    private var indices: ContiguousArray<Int>
    private var front = 0       // physical slot of the queue's front
    private var size = 0
    private var index = -1      // index of the last value pushed

    public init(period: Int, kind: Kind) {
        precondition(period >= 1, "RollingExtreme period must be at least 1")
        self.period = period
        self.kind = kind
        values = ContiguousArray(repeating: 0, count: period)
        indices = ContiguousArray(repeating: 0, count: period)
    }

    /// True once `period` values have been pushed.
    public var isReady: Bool { index >= period - 1 }

    /// Pushes `x` and returns the extreme of the last `period` values (including `x`).
    @discardableResult
    public mutating func update(_ x: Double) -> Double {
        index += 1
        let capacity = period
        // Drop the front if it has left the window.
        if size > 0 && indices[front] <= index - period {
            front += 1
            if front == capacity { front = 0 }
            size -= 1
        }
        // Drop from the back everything the new value dominates (ties included).
        while size > 0 {
            var back = front + size - 1
            if back >= capacity { back -= capacity }
            let dominated = kind == .highest ? values[back] <= x : values[back] >= x
            guard dominated else { break }
            size -= 1
        }
        var slot = front + size
        if slot >= capacity { slot -= capacity }
        values[slot] = x
        indices[slot] = index
        size += 1
        return values[front]
    }

    /// The current extreme. Valid after at least one `update`.
    public var value: Double { values[front] }
    /// How many updates ago the current extreme arrived (0 = the newest value).
    public var age: Int { index - indices[front] }
}
