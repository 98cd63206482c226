/// TA-Lib's `PLUS_DI`, `MINUS_DI`, `DX`, `ADX` and `ADXR` from one pass: +DM, -DM and true range
/// summed over bars 1..<period, then Wilder-smoothed as `x - x / period + new`.
/// DI = `100 * DM / TR` (0 unless TR > 0, lookback `period`); DX = `100 * |-DI - +DI| / (sum)`,
/// repeating the previous DX (0 at first) when TR or the DI sum is within 1e-14 of zero
/// (lookback `period`); ADX = mean of the first `period` defined DX, then
/// `(adx * (period - 1) + dx) / period`, unchanged when DX is undefined (lookback
/// `2 * period - 1`); ADXR = `(adx + adx period - 1 bars earlier) / 2` (lookback `3 * period - 2`).
public struct DirectionalMovement: Sendable {
    public struct Values: Sendable {
        public var plusDI = Double.nan
        public var minusDI = Double.nan
        public var dx = Double.nan
        public var adx = Double.nan
        public var adxr = Double.nan
    }

    public let period: Int
    private let divisor: Double
    private let keep: Double
    private var previousHigh = Double.nan
    private var previousLow = Double.nan
    private var trueRange = TrueRange()
    private var bar = 0              // bars after the first
    private var plusDM = 0.0
    private var minusDM = 0.0
    private var range = 0.0
    private var dxSum = 0.0
    private var adxHistory: RingBuffer
    public private(set) var values = Values()

    public init(period: Int = 14) {
        precondition(period >= 2, "directional movement period must be at least 2")
        self.period = period
        divisor = Double(period)
        keep = Double(period - 1)
        adxHistory = RingBuffer(capacity: period)
    }

    public var isReady: Bool { !values.adxr.isNaN }
    /// ADXR's lookback, the longest; DI and DX need `period`, ADX `2 * period - 1`.
    public var lookback: Int { 3 * period - 2 }

    public mutating func update(high: Double, low: Double, close: Double) -> Values {
        update(high: high, low: low, trueRange: trueRange.update(high: high, low: low, close: close))
    }

    /// Feeds a bar with its true range computed elsewhere (NaN on the first bar).
    @inline(__always)
    mutating func update(high: Double, low: Double, trueRange tr: Double) -> Values {
        let up = high - previousHigh
        let down = previousLow - low
        previousHigh = high
        previousLow = low
        if tr.isNaN { return values }
        bar += 1
        let plus = up > 0 && up > down ? up : 0.0
        let minus = down > 0 && up < down ? down : 0.0
        if bar < period {
            plusDM += plus
            minusDM += minus
            range += tr
            return values
        }
        plusDM = plusDM - plusDM / divisor + plus
        minusDM = minusDM - minusDM / divisor + minus
        range = range - range / divisor + tr
        let positiveRange = range > 0
        values.plusDI = positiveRange ? (plusDM / range) * 100.0 : 0.0
        values.minusDI = positiveRange ? (minusDM / range) * 100.0 : 0.0

        var dx = Double.nan
        if !OscillatorMath.isZero(range) {
            let plusDI = 100.0 * (plusDM / range)
            let minusDI = 100.0 * (minusDM / range)
            let sum = minusDI + plusDI
            if !OscillatorMath.isZero(sum) { dx = 100.0 * (abs(minusDI - plusDI) / sum) }
        }
        let adxStart = 2 * period - 1
        if dx.isNaN {
            values.dx = bar == period ? 0.0 : values.dx
        } else {
            values.dx = dx
            if bar <= adxStart {
                dxSum += dx
            } else {
                values.adx = ((values.adx * keep) + dx) / divisor
            }
        }
        if bar >= adxStart {
            if bar == adxStart { values.adx = dxSum / divisor }
            adxHistory.push(values.adx)
            if adxHistory.isFull { values.adxr = (values.adx + adxHistory.oldest) / 2.0 }
        }
        return values
    }
}
