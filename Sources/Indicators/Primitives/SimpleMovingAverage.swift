/// TA-Lib's SMA, streaming, with its arithmetic (add the new value, divide, then drop the value
/// leaving the window), so results equal TA-Lib's bit for bit. One flat buffer with a slot
/// counter, so the per-value path is a handful of instructions. Lookback `period - 1`.
public struct SimpleMovingAverage: Sendable {
    public let period: Int
    private let divisor: Double
    private var window: ContiguousArray<Double>
    private var slot = 0      // where the next value goes; when full, also the oldest value
    private var count = 0
    private var total = 0.0

    public init(period: Int) {
        precondition(period >= 1, "SimpleMovingAverage period must be at least 1")
        self.period = period
        divisor = Double(period)
        window = ContiguousArray(repeating: 0, count: period)
    }

    public var isReady: Bool { count == period }
    public var lookback: Int { period - 1 }

    /// Feeds one value; returns the mean of the last `period`, or NaN until there are that many.
    @inline(__always)
    public mutating func update(_ x: Double) -> Double {
        let period = self.period, divisor = self.divisor
        var slot = self.slot
        var total = self.total + x
        var value = Double.nan
        let full = count == period || count == period - 1
        window.withUnsafeMutableBufferPointer { buffer in
            buffer[slot] = x
            slot += 1
            if slot == period { slot = 0 }
            if full {
                value = total / divisor
                total -= buffer[slot]  // the oldest value, next to be overwritten
            }
        }
        if count < period { count += 1 }
        self.slot = slot
        self.total = total
        return value
    }
}
