/// TA-Lib's `TRANGE`: the greatest of `high - low`, `|previous close - high|` and
/// `|previous close - low|`. NaN on the first bar. Lookback 1.
public struct TrueRange: Sendable {
    private var previousClose = Double.nan

    public init() {}
    public var isReady: Bool { !previousClose.isNaN }
    public var lookback: Int { 1 }

    /// The true range of a bar given the previous close.
    @inline(__always)
    public static func value(high: Double, low: Double, previousClose: Double) -> Double {
        var greatest = high - low
        let up = abs(previousClose - high)
        if up > greatest { greatest = up }
        let down = abs(previousClose - low)
        if down > greatest { greatest = down }
        return greatest
    }

    @inline(__always)
    public mutating func update(high: Double, low: Double, close: Double) -> Double {
        let previous = previousClose
        previousClose = close
        return previous.isNaN ? .nan : Self.value(high: high, low: low, previousClose: previous)
    }
}

/// TA-Lib's `ATR`: seeded with the mean of the first `period` true ranges (bars 1...period),
/// then `atr = fma(atr, (period - 1) / period, tr * (1 - (period - 1) / period))`, the fused
/// form TA-Lib's FMA build computes. Lookback `period`.
public struct AverageTrueRange: Sendable {
    public let period: Int
    private let decay: Double
    private let weight: Double
    private var trueRange = TrueRange()
    private var seen = 0
    private var sum = 0.0
    public private(set) var value = Double.nan

    public init(period: Int = 14) {
        precondition(period >= 2, "ATR period must be at least 2")
        self.period = period
        decay = Double(period - 1) / Double(period)
        weight = 1.0 - decay
    }

    public var isReady: Bool { seen >= period }
    public var lookback: Int { period }

    @discardableResult
    public mutating func update(high: Double, low: Double, close: Double) -> Double {
        update(trueRange: trueRange.update(high: high, low: low, close: close))
    }

    /// Feeds a true range computed elsewhere (NaN on the first bar).
    @discardableResult @inline(__always)
    mutating func update(trueRange tr: Double) -> Double {
        if seen >= period {
            value = (tr * weight).addingProduct(value, decay)
            return value
        }
        if tr.isNaN { return .nan }
        seen += 1
        sum += tr
        guard seen == period else { return .nan }
        value = sum / Double(period)
        return value
    }
}

/// TA-Lib's `NATR`: `ATR / close * 100` (see `AverageTrueRange`), 0 when the close is 0.
/// Lookback `period`.
public struct NormalizedAverageTrueRange: Sendable {
    private var atr: AverageTrueRange

    public init(period: Int = 14) { atr = AverageTrueRange(period: period) }
    public var isReady: Bool { atr.isReady }
    public var lookback: Int { atr.lookback }

    public mutating func update(high: Double, low: Double, close: Double) -> Double {
        Self.normalize(atr: atr.update(high: high, low: low, close: close), close: close)
    }

    @inline(__always)
    static func normalize(atr: Double, close: Double) -> Double {
        if atr.isNaN { return .nan }
        return close == 0 ? 0.0 : (atr / close) * 100.0
    }
}
