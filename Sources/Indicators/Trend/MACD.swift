/// TA-Lib's MACD: fast and slow FMA-built, SMA-seeded EMAs that start together, the fast one
/// seeded on the `fast` bars just before the slow one's first value (not on the first bars);
/// the signal is the same EMA of MACD, histogram `macd - signal`.
/// Lookback `(slow - 1) + (signal - 1)`.
public struct MACD: Sendable {
    public let fastPeriod: Int
    public let slowPeriod: Int
    public let signalPeriod: Int
    private var fast: FusedExponentialMovingAverage
    private var slow: FusedExponentialMovingAverage
    private var signalEMA: FusedExponentialMovingAverage
    private var seen = 0
    public private(set) var macd = Double.nan
    public private(set) var signal = Double.nan
    public private(set) var histogram = Double.nan

    public init(fast: Int = 12, slow: Int = 26, signal: Int = 9) {
        precondition(fast >= 2 && slow >= 2 && signal >= 1, "MACD periods must be at least 2, 2 and 1")
        // TA-Lib swaps the periods when the slow one is the shorter.
        fastPeriod = min(fast, slow)
        slowPeriod = max(fast, slow)
        signalPeriod = signal
        self.fast = FusedExponentialMovingAverage(period: fastPeriod)
        self.slow = FusedExponentialMovingAverage(period: slowPeriod)
        signalEMA = FusedExponentialMovingAverage(period: signal)
    }

    public var isReady: Bool { signalEMA.isReady }
    public var lookback: Int { (slowPeriod - 1) + (signalPeriod - 1) }

    @discardableResult
    public mutating func update(_ x: Double) -> (macd: Double, signal: Double, histogram: Double) {
        seen += 1
        let slowValue = slow.update(x)
        guard seen > slowPeriod - fastPeriod else { return (.nan, .nan, .nan) }
        let fastValue = fast.update(x)
        guard slow.isReady else { return (.nan, .nan, .nan) }
        let line = fastValue - slowValue
        let signalValue = signalEMA.update(line)
        guard signalEMA.isReady else { return (.nan, .nan, .nan) }
        macd = line
        signal = signalValue
        histogram = line - signalValue
        return (macd, signal, histogram)
    }
}
