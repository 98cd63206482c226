/// The raw stochastic %K TA-Lib's `STOCH`, `STOCHF` and `STOCHRSI` share:
/// `(close - lowest) / (highest - lowest) * 100` over the last `period` bars, 0 when the range
/// is negligible next to the extremes (`(|highest| + |lowest|) * 1e-14 >= range`).
/// Lookback `period - 1`.
public struct StochasticK: Sendable {
    public let period: Int
    private var window: RollingHighLow

    public init(period: Int) {
        precondition(period >= 1, "stochastic %K period must be at least 1")
        self.period = period
        window = RollingHighLow(period: period)
    }

    public var isReady: Bool { window.isReady }
    public var lookback: Int { period - 1 }

    @discardableResult
    public mutating func update(high: Double, low: Double, close: Double) -> Double {
        window.update(high: high, low: low)
        guard window.isReady else { return .nan }
        let top = window.highest, bottom = window.lowest
        let range = top - bottom
        if OscillatorMath.isNegligible(range, top, bottom) { return 0.0 }
        return ((close - bottom) / range) * 100.0
    }
}

/// TA-Lib's `STOCHF` with an SMA %D: fast %K (`StochasticK`) and its `fastDPeriod` SMA. Both
/// outputs are NaN until %D is ready, as in TA-Lib. Lookback `fastKPeriod - 1 + fastDPeriod - 1`.
public struct FastStochastic: Sendable {
    private var k: StochasticK
    private var d: SimpleMovingAverage

    public init(fastKPeriod: Int = 5, fastDPeriod: Int = 3) {
        k = StochasticK(period: fastKPeriod)
        d = SimpleMovingAverage(period: fastDPeriod)
    }

    public var isReady: Bool { d.isReady }
    public var lookback: Int { k.lookback + d.lookback }

    public mutating func update(high: Double, low: Double, close: Double) -> (fastK: Double, fastD: Double) {
        smooth(fastK: k.update(high: high, low: low, close: close))
    }

    /// Feeds a %K computed elsewhere (NaN while %K is not ready).
    @inline(__always)
    mutating func smooth(fastK: Double) -> (fastK: Double, fastD: Double) {
        if fastK.isNaN { return (.nan, .nan) }
        let fastD = d.update(fastK)
        return fastD.isNaN ? (.nan, .nan) : (fastK, fastD)
    }
}

/// TA-Lib's `STOCH` with SMA smoothing: slow %K is the `slowKPeriod` SMA of fast %K
/// (`StochasticK`), slow %D the `slowDPeriod` SMA of slow %K. Both are NaN until slow %D is
/// ready. Lookback `fastKPeriod - 1 + slowKPeriod - 1 + slowDPeriod - 1`.
public struct Stochastic: Sendable {
    private var k: StochasticK
    private var slowK: SimpleMovingAverage
    private var slowD: SimpleMovingAverage

    public init(fastKPeriod: Int = 5, slowKPeriod: Int = 3, slowDPeriod: Int = 3) {
        k = StochasticK(period: fastKPeriod)
        slowK = SimpleMovingAverage(period: slowKPeriod)
        slowD = SimpleMovingAverage(period: slowDPeriod)
    }

    public var isReady: Bool { slowD.isReady }
    public var lookback: Int { k.lookback + slowK.lookback + slowD.lookback }

    public mutating func update(high: Double, low: Double, close: Double) -> (slowK: Double, slowD: Double) {
        smooth(fastK: k.update(high: high, low: low, close: close))
    }

    /// Feeds a fast %K computed elsewhere (NaN while %K is not ready).
    @inline(__always)
    mutating func smooth(fastK: Double) -> (slowK: Double, slowD: Double) {
        if fastK.isNaN { return (.nan, .nan) }
        let k = slowK.update(fastK)
        if k.isNaN { return (.nan, .nan) }
        let d = slowD.update(k)
        return d.isNaN ? (.nan, .nan) : (k, d)
    }
}
