/// TA-Lib's DEMA: `2 * ema1 - ema2`, where ema2 is the EMA of ema1 and each EMA is TA-Lib's
/// SMA-seeded, FMA-built one. Lookback `2 * (period - 1)`.
public struct DoubleExponentialMovingAverage: Sendable {
    public let period: Int
    private var ema1: FusedExponentialMovingAverage
    private var ema2: FusedExponentialMovingAverage
    public private(set) var value = Double.nan

    public init(period: Int) {
        precondition(period >= 1, "DEMA period must be at least 1")
        self.period = period
        ema1 = FusedExponentialMovingAverage(period: period)
        ema2 = FusedExponentialMovingAverage(period: period)
    }

    public var isReady: Bool { ema2.isReady }
    public var lookback: Int { 2 * (period - 1) }

    @discardableResult
    public mutating func update(_ x: Double) -> Double {
        let e1 = ema1.update(x)
        guard ema1.isReady else { return .nan }
        let e2 = ema2.update(e1)
        guard ema2.isReady else { return .nan }
        value = 2.0 * e1 - e2
        return value
    }
}
