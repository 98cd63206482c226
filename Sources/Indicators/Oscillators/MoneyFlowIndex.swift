/// TA-Lib's `MFI`: money flow `volume * tp` (`tp = (high + low + close) / 3`) counted positive or
/// negative by the sign of the change in `tp`, none when the change is negligible
/// (`(|tp| + |previous tp|) * 1e-14 >= |change|`); `period` running sums that drop the oldest
/// flow before adding the new one and are reset to exactly 0 once `period` bars in a row had no
/// flow; `100 * positive / (positive + negative)`, 0 when the total is not positive.
/// Lookback `period`.
public struct MoneyFlowIndex: Sendable {
    public let period: Int
    private var flows: ContiguousArray<Double>  // positive in [0, period), negative in [period, 2 period)
    private var slot = 0                        // next write; once full, the oldest flow
    private var filled = 0                      // flows stored, up to period
    private var previousTypical = Double.nan
    private var positiveSum = 0.0
    private var negativeSum = 0.0
    private var flatRun = 0

    public init(period: Int = 14) {
        precondition(period >= 2, "MFI period must be at least 2")
        self.period = period
        flows = ContiguousArray(repeating: 0, count: 2 * period)
    }

    public var isReady: Bool { filled == period }
    public var lookback: Int { period }

    public mutating func update(high: Double, low: Double, close: Double, volume: Double) -> Double {
        update(typicalPrice: (high + low + close) / 3, volume: volume)
    }

    /// Feeds `(high + low + close) / 3` computed elsewhere.
    mutating func update(typicalPrice tp: Double, volume: Double) -> Double {
        let previous = previousTypical
        previousTypical = tp
        if previous.isNaN { return .nan }
        let period = self.period, slot = self.slot, full = filled == period
        let change = tp - previous
        var positive = 0.0
        var negative = 0.0
        var flow = 0.0
        if !OscillatorMath.isNegligible(change, tp, previous) {
            flow = volume * tp
            if change < 0 { negative = flow } else { positive = flow }
        }
        var positiveSum = self.positiveSum, negativeSum = self.negativeSum
        flows.withUnsafeMutableBufferPointer { buffer in
            if full {
                positiveSum -= buffer[slot]
                negativeSum -= buffer[period + slot]
            }
            buffer[slot] = positive
            buffer[period + slot] = negative
        }
        positiveSum += positive
        negativeSum += negative
        self.slot = slot + 1 == period ? 0 : slot + 1
        if !full { filled += 1 }
        if flow == 0 {
            flatRun += 1
            if flatRun >= period {
                flatRun = period
                positiveSum = 0
                negativeSum = 0
            }
        } else {
            flatRun = 0
        }
        self.positiveSum = positiveSum
        self.negativeSum = negativeSum
        guard filled == period else { return .nan }
        let total = positiveSum + negativeSum
        guard total > 0 else { return 0.0 }
        let share = 0 > positiveSum ? 0.0 : min(total, positiveSum)
        return (share / total) * 100.0
    }
}
