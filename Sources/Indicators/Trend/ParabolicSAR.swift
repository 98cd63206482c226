/// TA-Lib's SAR: the first bar only seeds; on the second, the trend starts short if that
/// bar's -DM(1) is positive (the low fell more than the high rose), long otherwise, with the
/// first bar's low (long) or high (short) as the SAR; `sar += af * (ep - sar)` is FMA-built
/// like TA-Lib's wheel. Lookback 1.
public struct ParabolicSAR: Sendable {
    public let acceleration: Double
    public let maximum: Double
    private var af: Double
    private var isLong = true
    private var sar = 0.0
    private var extreme = 0.0
    private var newHigh = 0.0
    private var newLow = 0.0
    private var seen = 0
    public private(set) var value = Double.nan

    public init(acceleration: Double = 0.02, maximum: Double = 0.2) {
        let start = acceleration > maximum ? maximum : acceleration
        self.acceleration = start
        self.maximum = maximum
        af = start
    }

    public var isReady: Bool { seen >= 2 }
    public var lookback: Int { 1 }

    @discardableResult
    public mutating func update(high: Double, low: Double) -> Double {
        seen += 1
        if seen == 1 {
            newHigh = high
            newLow = low
            return .nan
        }
        if seen == 2 {
            let up = high - newHigh
            let down = newLow - low
            isLong = !(down > 0 && up < down)
            if isLong {
                extreme = high
                sar = newLow
            } else {
                extreme = low
                sar = newHigh
            }
            newHigh = high  // the first step sees this bar as its own previous bar
            newLow = low
        }
        let prevHigh = newHigh
        let prevLow = newLow
        newHigh = high
        newLow = low
        if isLong {
            if newLow <= sar {
                isLong = false
                sar = extreme
                if sar < prevHigh { sar = prevHigh }
                if sar < newHigh { sar = newHigh }
                value = sar
                af = acceleration
                extreme = newLow
                sar = sar.addingProduct(af, extreme - sar)
                if sar < prevHigh { sar = prevHigh }
                if sar < newHigh { sar = newHigh }
            } else {
                value = sar
                if newHigh > extreme {
                    extreme = newHigh
                    af += acceleration
                    if af > maximum { af = maximum }
                }
                sar = sar.addingProduct(af, extreme - sar)
                if sar > prevLow { sar = prevLow }
                if sar > newLow { sar = newLow }
            }
        } else {
            if newHigh >= sar {
                isLong = true
                sar = extreme
                if sar > prevLow { sar = prevLow }
                if sar > newLow { sar = newLow }
                value = sar
                af = acceleration
                extreme = newHigh
                sar = sar.addingProduct(af, extreme - sar)
                if sar > prevLow { sar = prevLow }
                if sar > newLow { sar = newLow }
            } else {
                value = sar
                if newLow < extreme {
                    extreme = newLow
                    af += acceleration
                    if af > maximum { af = maximum }
                }
                sar = sar.addingProduct(af, extreme - sar)
                if sar < prevHigh { sar = prevHigh }
                if sar < newHigh { sar = newHigh }
            }
        }
        return value
    }
}
