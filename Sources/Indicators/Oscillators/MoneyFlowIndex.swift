/// TA-Lib's `MFI`: money flow `volume * tp` (`tp = (high + low + close) / 3`) counted positive or
/// negative by the sign of the change in `tp`, none when the change is negligible
/// (`(|tp| + |previous tp|) * 1e-14 >= |change|`); `period` running sums that drop the oldest
/// flow before adding the new one and are reset to exactly 0 once `period` bars in a row had no
/// flow; `100 * positive / (positive + negative)`, 0 when the total is not positive.
/// Lookback `period`.
public struct MoneyFlowIndex: Sendable {
    public let period: Int
    private var positiveFlows: RingBuffer
    private var negativeFlows: RingBuffer
    private var previousTypical = Double.nan
    private var positiveSum = 0.0
    private var negativeSum = 0.0
    private var flatRun = 0

    public init(period: Int = 14) {
        precondition(period >= 2, "MFI period must be at least 2")
        self.period = period
        positiveFlows = RingBuffer(capacity: period)
        negativeFlows = RingBuffer(capacity: period)
    }

    public var isReady: Bool { positiveFlows.isFull }
    public var lookback: Int { period }

    public mutating func update(high: Double, low: Double, close: Double, volume: Double) -> Double {
        update(typicalPrice: (high + low + close) / 3, volume: volume)
    }

    /// Feeds `(high + low + close) / 3` computed elsewhere.
    mutating func update(typicalPrice tp: Double, volume: Double) -> Double {
        let previous = previousTypical
        previousTypical = tp
        if previous.isNaN { return .nan }
        if positiveFlows.isFull {
            positiveSum -= positiveFlows.oldest
            negativeSum -= negativeFlows.oldest
        }
        let change = tp - previous
        var positive = 0.0
        var negative = 0.0
        var flow = 0.0
        if !OscillatorMath.isNegligible(change, tp, previous) {
            flow = volume * tp
            if change < 0 { negative = flow } else { positive = flow }
        }
        positiveFlows.push(positive)
        negativeFlows.push(negative)
        positiveSum += positive
        negativeSum += negative
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
        guard positiveFlows.isFull else { return .nan }
        let total = positiveSum + negativeSum
        guard total > 0 else { return 0.0 }
        let share = 0 > positiveSum ? 0.0 : min(total, positiveSum)
        return (share / total) * 100.0
    }
}
