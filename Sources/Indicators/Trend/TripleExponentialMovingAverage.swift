/// TA-Lib's TEMA: `(3 * ema1 - 3 * ema2) + ema3`, a chain of TA-Lib's SMA-seeded, FMA-built
/// EMAs. Lookback `3 * (period - 1)`.
public struct TripleExponentialMovingAverage: Sendable {
    public let period: Int
    private var ema1: FusedExponentialMovingAverage
    private var ema2: FusedExponentialMovingAverage
    private var ema3: FusedExponentialMovingAverage
    public private(set) var value = Double.nan

    /// The first EMA (TA-Lib's EMA of the input), NaN until ready.
    public var firstEMA: Double { ema1.isReady ? ema1.value : .nan }
    /// TA-Lib's DEMA of the input, from the same first two EMAs; NaN until ready.
    public var doubleEMA: Double { ema2.isReady ? 2.0 * ema1.value - ema2.value : .nan }

    public init(period: Int) {
        precondition(period >= 1, "TEMA period must be at least 1")
        self.period = period
        ema1 = FusedExponentialMovingAverage(period: period)
        ema2 = FusedExponentialMovingAverage(period: period)
        ema3 = FusedExponentialMovingAverage(period: period)
    }

    public var isReady: Bool { ema3.isReady }
    public var lookback: Int { 3 * (period - 1) }

    @discardableResult
    public mutating func update(_ x: Double) -> Double {
        let e1 = ema1.update(x)
        guard ema1.isReady else { return .nan }
        let e2 = ema2.update(e1)
        guard ema2.isReady else { return .nan }
        let e3 = ema3.update(e2)
        guard ema3.isReady else { return .nan }
        value = (3.0 * e1 - 3.0 * e2) + e3
        return value
    }
}
