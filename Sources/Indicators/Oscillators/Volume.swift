/// TA-Lib's `OBV`: starts at the first bar's volume, then adds the volume when the close rises
/// and subtracts it when the close falls. Lookback 0.
public struct OnBalanceVolume: Sendable {
    private var previousClose = Double.nan
    public private(set) var value = Double.nan

    public init() {}
    public var isReady: Bool { !value.isNaN }
    public var lookback: Int { 0 }

    @discardableResult
    public mutating func update(close: Double, volume: Double) -> Double {
        if previousClose.isNaN {
            value = volume
        } else if close > previousClose {
            value += volume
        } else if close < previousClose {
            value -= volume
        }
        previousClose = close
        return value
    }
}

/// TA-Lib's `AD`: the running sum of `((close - low) - (high - close)) / (high - low) * volume`,
/// bars with `high - low <= 0` adding nothing. Lookback 0.
public struct AccumulationDistribution: Sendable {
    public private(set) var value = 0.0

    public init() {}
    public var isReady: Bool { true }
    public var lookback: Int { 0 }

    @discardableResult @inline(__always)
    public mutating func update(high: Double, low: Double, close: Double, volume: Double) -> Double {
        let range = high - low
        if range > 0 { value += (((close - low) - (high - close)) / range) * volume }
        return value
    }
}

/// TA-Lib's `ADOSC`: fast EMA minus slow EMA of the A/D line, both seeded with the first A/D
/// value (not an SMA) and updated as `fma(ema, 1 - k, k * ad)`, `k = 2 / (period + 1)`, the form
/// of TA-Lib's FMA build. Lookback `max(fastPeriod, slowPeriod) - 1`.
public struct ChaikinOscillator: Sendable {
    public let fastPeriod: Int
    public let slowPeriod: Int
    private let fastK: Double, fastKeep: Double
    private let slowK: Double, slowKeep: Double
    private var ad = AccumulationDistribution()
    private var fast = 0.0
    private var slow = 0.0
    private var bars = 0

    public init(fastPeriod: Int = 3, slowPeriod: Int = 10) {
        precondition(fastPeriod >= 2 && slowPeriod >= 2, "ADOSC periods must be at least 2")
        self.fastPeriod = fastPeriod
        self.slowPeriod = slowPeriod
        fastK = 2.0 / (Double(fastPeriod) + 1.0)
        fastKeep = 1.0 - fastK
        slowK = 2.0 / (Double(slowPeriod) + 1.0)
        slowKeep = 1.0 - slowK
    }

    public var isReady: Bool { bars > lookback }
    public var lookback: Int { max(fastPeriod, slowPeriod) - 1 }

    public mutating func update(high: Double, low: Double, close: Double, volume: Double) -> Double {
        update(ad: ad.update(high: high, low: low, close: close, volume: volume))
    }

    /// Feeds the A/D line computed elsewhere (from the same first bar).
    @inline(__always)
    mutating func update(ad line: Double) -> Double {
        if bars == 0 {
            fast = line
            slow = line
        } else {
            fast = (fastK * line).addingProduct(fast, fastKeep)
            slow = (slowK * line).addingProduct(slow, slowKeep)
        }
        bars += 1
        return bars > lookback ? fast - slow : .nan
    }
}
