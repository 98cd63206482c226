/// TA-Lib's `STOCHRSI` with an SMA %D: `STOCHF` run on the RSI, the RSI standing in for high,
/// low and close (`StochasticK` over the RSI, then its `fastDPeriod` SMA); both outputs NaN until
/// %D is ready. Lookback `period + fastKPeriod - 1 + fastDPeriod - 1`.
public struct StochasticRSI: Sendable {
    private var rsi: RelativeStrengthIndex
    private var k: StochasticK
    private var d: SimpleMovingAverage

    public init(period: Int = 14, fastKPeriod: Int = 5, fastDPeriod: Int = 3) {
        rsi = RelativeStrengthIndex(period: period)
        k = StochasticK(period: fastKPeriod)
        d = SimpleMovingAverage(period: fastDPeriod)
    }

    public var isReady: Bool { d.isReady }
    public var lookback: Int { rsi.lookback + k.lookback + d.lookback }

    public mutating func update(_ x: Double) -> (fastK: Double, fastD: Double) {
        update(rsi: rsi.update(x))
    }

    /// Feeds an RSI value computed elsewhere with the same period (NaN while not ready).
    @inline(__always)
    mutating func update(rsi value: Double) -> (fastK: Double, fastD: Double) {
        if value.isNaN { return (.nan, .nan) }
        let fastK = k.update(high: value, low: value, close: value)
        if fastK.isNaN { return (.nan, .nan) }
        let fastD = d.update(fastK)
        return fastD.isNaN ? (.nan, .nan) : (fastK, fastD)
    }
}
