/// TA-Lib's `ULTOSC`: buying pressure `close - min(low, previous close)` and true range summed
/// over three windows (each sum started where TA-Lib primes it, `lookback - period + 1`, adding
/// before and dropping after the output), a window's sums reset to exactly 0 once that many bars
/// in a row had both terms 0; `100 * (4 a1/b1 + 2 a2/b2 + a3/b3) / 7`, a term left out when its
/// range sum is not positive. The shortest period weighs 4. Lookback `max(periods)`.
public struct UltimateOscillator: Sendable {
    public let periods: (Int, Int, Int)  // shortest first
    private var terms: ContiguousArray<Double>  // pressures in [0, p3), true ranges in [p3, 2 p3)
    private var slot = -1                        // slot of the newest terms
    private var previousClose = Double.nan
    private var bar = 0                  // bars with a previous close seen, 1-based
    private var a1 = 0.0, a2 = 0.0, a3 = 0.0
    private var b1 = 0.0, b2 = 0.0, b3 = 0.0
    private var flatRun = 0

    public init(period1: Int = 7, period2: Int = 14, period3: Int = 28) {
        let sorted = [period1, period2, period3].sorted()
        precondition(sorted[0] >= 1, "ULTOSC periods must be at least 1")
        periods = (sorted[0], sorted[1], sorted[2])
        terms = ContiguousArray(repeating: 0, count: 2 * sorted[2])
    }

    public var isReady: Bool { bar >= periods.2 }
    public var lookback: Int { periods.2 }

    public mutating func update(high: Double, low: Double, close: Double) -> Double {
        let previous = previousClose
        previousClose = close
        if previous.isNaN { return .nan }
        return update(low: low, close: close, previousClose: previous,
                      trueRange: TrueRange.value(high: high, low: low, previousClose: previous))
    }

    /// Feeds a bar after the first with its true range computed elsewhere.
    @inline(__always)
    mutating func update(low: Double, close: Double, previousClose: Double, trueRange: Double) -> Double {
        let pressure = close - (low < previousClose ? low : previousClose)
        let (p1, p2, p3) = periods
        var slot = self.slot + 1
        if slot == p3 { slot = 0 }
        self.slot = slot
        terms.withUnsafeMutableBufferPointer { buffer in
            buffer[slot] = pressure
            buffer[p3 + slot] = trueRange
        }
        bar += 1
        if bar > p3 - p1 { a1 += pressure; b1 += trueRange }
        if bar > p3 - p2 { a2 += pressure; b2 += trueRange }
        a3 += pressure
        b3 += trueRange
        if pressure == 0 && trueRange == 0 {
            if flatRun < p3 { flatRun += 1 }
        } else {
            flatRun = 0
        }
        guard bar >= p3 else { return .nan }
        if flatRun >= p1 {
            a1 = 0; b1 = 0
            if flatRun >= p2 {
                a2 = 0; b2 = 0
                if flatRun >= p3 { a3 = 0; b3 = 0 }
            }
        }
        var sum = 0.0
        if b1 > 0 { sum += (a1 / b1) * 4.0 }
        if b2 > 0 { sum += 2.0 * (a2 / b2) }
        if b3 > 0 { sum += a3 / b3 }
        // Drop the terms of the bars leaving each window (ages p1 - 1, p2 - 1, p3 - 1).
        var t1 = slot - (p1 - 1), t2 = slot - (p2 - 1), t3 = slot - (p3 - 1)
        if t1 < 0 { t1 += p3 }
        if t2 < 0 { t2 += p3 }
        if t3 < 0 { t3 += p3 }
        var a1 = self.a1, a2 = self.a2, a3 = self.a3, b1 = self.b1, b2 = self.b2, b3 = self.b3
        terms.withUnsafeBufferPointer { buffer in
            a1 -= buffer[t1]; b1 -= buffer[p3 + t1]
            a2 -= buffer[t2]; b2 -= buffer[p3 + t2]
            a3 -= buffer[t3]; b3 -= buffer[p3 + t3]
        }
        self.a1 = a1; self.a2 = a2; self.a3 = a3
        self.b1 = b1; self.b2 = b2; self.b3 = b3
        return (sum / 7.0) * 100.0
    }
}
