/// A fixed-capacity window of the most recent values, oldest overwritten first.
///
/// Storage is allocated once, at `init`; `push` never allocates.
public struct RingBuffer: Sendable {
    private var storage: ContiguousArray<Double>
    private var head = 0          // index of the next write
    public private(set) var count = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "RingBuffer capacity must be positive")
        storage = ContiguousArray(repeating: 0, count: capacity)
    }

    public var capacity: Int { storage.count }
    public var isFull: Bool { count == storage.count }

    /// Appends `value`; when full, the oldest value is dropped.
    public mutating func push(_ value: Double) {
        pushReturningEvicted(value)
    }

    /// Appends `value` and returns the value it evicted (nil while not yet full).
    @discardableResult
    public mutating func pushReturningEvicted(_ value: Double) -> Double? {
        let evicted: Double? = count == storage.count ? storage[head] : nil
        storage[head] = value
        head += 1
        if head == storage.count { head = 0 }
        if count < storage.count { count += 1 }
        return evicted
    }

    /// The value `age` pushes ago: `self[0]` is the newest, `self[count - 1]` the oldest.
    public subscript(age: Int) -> Double {
        precondition(age >= 0 && age < count, "RingBuffer age \(age) out of 0..<\(count)")
        var index = head - 1 - age
        if index < 0 { index += storage.count }
        return storage[index]
    }

    /// The newest value. Only valid when `count > 0`.
    public var newest: Double { self[0] }
    /// The oldest value kept. Only valid when `count > 0`.
    public var oldest: Double { self[count - 1] }
}
