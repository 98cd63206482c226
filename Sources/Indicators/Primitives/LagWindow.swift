/// The most recent values of a series, read by age, for indicators that need the value leaving
/// their window: `push` then `self[age]` (0 = newest). Storage is a power of two allocated at
/// `init`, so a push is one masked store and never allocates; ages up to `span` stay readable
/// (one more than a window of `span` values, so the value that just left it is still there).
///
/// Indicators that read past values also take one as `history` (`update(_:history:)`), so a
/// group can push each bar's close once into one window and share it: every push into a
/// separate window costs a uniqueness check, about as much as a moving average's arithmetic.
public struct LagWindow: Sendable {
    private var storage: ContiguousArray<Double>
    private let mask: Int
    /// Values pushed so far.
    public private(set) var count = 0

    /// Keeps at least `span + 1` values: `self[span]` is valid once `span + 1` values arrived.
    public init(span: Int) {
        precondition(span >= 0, "LagWindow span must not be negative")
        var capacity = 1
        while capacity < span + 1 { capacity <<= 1 }
        storage = ContiguousArray(repeating: 0, count: capacity)
        mask = capacity - 1
    }

    /// The largest readable age (at least the `span` asked for).
    public var span: Int { mask }

    @inline(__always)
    public mutating func push(_ x: Double) {
        storage[count & mask] = x
        count &+= 1
    }

    /// The value pushed `age` pushes ago (0 = the newest). Unspecified (not checked) beyond
    /// `span` or before that many values arrived.
    @inline(__always)
    public subscript(age: Int) -> Double {
        storage[(count &- 1 &- age) & mask]
    }
}
