/// TA-Lib's `STOCHRSI` with an SMA %D: `STOCHF` (`FastStochastic`) run on the RSI, the RSI
/// standing in for high, low and close. Lookback `rsiPeriod + fastKPeriod - 1 + fastDPeriod - 1`.
public struct StochasticRSI: Sendable {
    private var rsi: RelativeStrengthIndex
    private var k: StochasticK
    private var stochastic: FastStochastic

    public init(period: Int = 14, fastKPeriod: Int = 5, fastDPeriod: Int = 3) {
        rsi = RelativeStrengthIndex(period: period)
        k = StochasticK(period: fastKPeriod)
        stochastic = FastStochastic(fastKPeriod: fastKPeriod, fastDPeriod: fastDPeriod)
    }

    public var isReady: Bool { stochastic.isReady }
    public var lookback: Int { rsi.lookback + stochastic.lookback }

    public mutating func update(_ x: Double) -> (fastK: Double, fastD: Double) {
        update(rsi: rsi.update(x))
    }

    /// Feeds an RSI value computed elsewhere with the same period (NaN while not ready).
    @inline(__always)
    mutating func update(rsi value: Double) -> (fastK: Double, fastD: Double) {
        if value.isNaN { return (.nan, .nan) }
        return stochastic.smooth(fastK: k.update(high: value, low: value, close: value))
    }
}
