/// TA-Lib's TRIX: the 1-period ROC (`(e3 / e3prev - 1) * 100`, 0 when e3prev is 0) of a triple
/// chain of TA-Lib's SMA-seeded, FMA-built EMAs. Lookback `3 * (period - 1) + 1`.
public struct TRIX: Sendable {
    public let period: Int
    private var ema1: FusedExponentialMovingAverage
    private var ema2: FusedExponentialMovingAverage
    private var ema3: FusedExponentialMovingAverage
    private var previous = 0.0
    private var hasPrevious = false
    public private(set) var value = Double.nan

    public init(period: Int) {
        precondition(period >= 1, "TRIX period must be at least 1")
        self.period = period
        ema1 = FusedExponentialMovingAverage(period: period)
        ema2 = FusedExponentialMovingAverage(period: period)
        ema3 = FusedExponentialMovingAverage(period: period)
    }

    /// True once TRIX has a value: the bar after the third EMA's first.
    public var isReady: Bool { hasPrevious && !value.isNaN }
    public var lookback: Int { 3 * (period - 1) + 1 }

    @discardableResult
    public mutating func update(_ x: Double) -> Double {
        let e1 = ema1.update(x)
        guard ema1.isReady else { return .nan }
        let e2 = ema2.update(e1)
        guard ema2.isReady else { return .nan }
        let e3 = ema3.update(e2)
        guard ema3.isReady else { return .nan }
        defer {
            previous = e3
            hasPrevious = true
        }
        guard hasPrevious else { return .nan }
        value = previous != 0 ? ((e3 / previous) - 1.0) * 100.0 : 0.0
        return value
    }
}
