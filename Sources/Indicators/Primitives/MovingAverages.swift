/// TA-Lib's SMA, streaming: a running sum that adds the new value, divides, then drops the
/// value leaving the window, in that order, so results equal TA-Lib's bit for bit.
/// Lookback `period - 1`.
public struct SimpleMovingAverage: Sendable {
    public let period: Int
    private var window: RingBuffer
    private var total = 0.0
    public private(set) var value = Double.nan

    public init(period: Int) {
        precondition(period >= 1, "SMA period must be at least 1")
        self.period = period
        window = RingBuffer(capacity: period)
    }

    public var isReady: Bool { window.isFull }
    public var lookback: Int { period - 1 }

    /// Feeds one value; returns the average, or NaN until `period` values have arrived.
    @discardableResult
    public mutating func update(_ x: Double) -> Double {
        total += x
        window.push(x)
        guard window.isFull else { return .nan }
        value = total / Double(period)
        total -= window.oldest
        return value
    }
}

/// TA-Lib's EMA, streaming: `k = 2 / (period + 1)`, seeded with the SMA of the first `period`
/// values (TA-Lib's default compatibility), then `ema += (x - ema) * k`.
/// Lookback `period - 1`.
public struct ExponentialMovingAverage: Sendable {
    public let period: Int
    public let k: Double
    private var seen = 0
    private var seedSum = 0.0
    public private(set) var value = Double.nan

    /// - Parameter k: the smoothing factor; TA-Lib's `2 / (period + 1)` unless given.
    public init(period: Int, k: Double? = nil) {
        precondition(period >= 1, "EMA period must be at least 1")
        self.period = period
        self.k = k ?? 2.0 / Double(period + 1)
    }

    public var isReady: Bool { seen >= period }
    public var lookback: Int { period - 1 }

    @discardableResult
    public mutating func update(_ x: Double) -> Double {
        if seen >= period {
            value = ((x - value) * k) + value
            return value
        }
        seen += 1
        seedSum += x
        guard seen == period else { return .nan }
        value = seedSum / Double(period)
        return value
    }
}
