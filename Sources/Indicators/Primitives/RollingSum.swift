/// The sum of the last `period` values kept as TA-Lib's running sums keep it: the new value is
/// added, the total is read, and only then the value leaving the window is subtracted. So
/// `update(x) / period` is TA-Lib's SMA bit for bit, and the sum starts wherever the caller
/// starts feeding (TA-Lib starts an SMA's sum at the first bar of the range it computes).
/// Storage allocated at `init`; `update` never allocates.
public struct RollingSum: Sendable {
    public let period: Int
    private var window: LagWindow
    private var seen = 0
    private var running = 0.0
    /// The sum of the last `period` values, NaN until that many arrived.
    public private(set) var value = Double.nan

    public init(period: Int) {
        precondition(period >= 1, "RollingSum period must be at least 1")
        self.period = period
        window = LagWindow(span: period)
    }

    public var isReady: Bool { seen >= period }

    /// Adds `x`; returns the sum of the last `period` values, or NaN until `period` arrived.
    @discardableResult
    public mutating func update(_ x: Double) -> Double {
        window.push(x)
        return update(x, history: window)
    }

    /// Adds `x`, reading the value leaving from `history`: a window whose newest value is `x`,
    /// holding every value fed here, with `span >= period - 1`.
    @inline(__always)
    @discardableResult
    public mutating func update(_ x: Double, history: borrowing LagWindow) -> Double {
        seen += 1
        running += x
        guard seen >= period else { return .nan }
        value = running
        running -= history[period - 1]
        return value
    }
}
