/// TA-Lib's `RSI`: Wilder's average gain and loss, seeded by their plain mean over the first
/// `period` changes, then `avg = (avg * (period - 1) + x) * (1 / period)` (TA-Lib multiplies
/// by the reciprocal); `100 * gain / (gain + loss)`, 0 when that sum is not positive.
/// Lookback `period`.
public struct RelativeStrengthIndex: Sendable {
    public let period: Int
    private let keep: Double        // period - 1
    private let reciprocal: Double  // 1 / period
    private var previous = Double.nan
    private var changes = 0
    private var gain = 0.0
    private var loss = 0.0
    public private(set) var value = Double.nan

    public init(period: Int = 14) {
        precondition(period >= 2, "RSI period must be at least 2")
        self.period = period
        keep = Double(period - 1)
        reciprocal = 1.0 / Double(period)
    }

    public var isReady: Bool { changes >= period }
    public var lookback: Int { period }

    @discardableResult
    public mutating func update(_ x: Double) -> Double {
        let last = previous
        previous = x
        if last.isNaN { return .nan }  // first bar: no change yet
        let change = x - last
        let up = 0.0 < change ? change : 0.0
        let down = up - change
        if changes >= period {
            gain = (gain * keep + up) * reciprocal
            loss = (down + loss * keep) * reciprocal
        } else {
            changes += 1
            gain += up
            loss += down
            guard changes == period else { return .nan }
            gain *= reciprocal
            loss *= reciprocal
        }
        let total = loss + gain
        value = total > 0 ? (gain / total) * 100.0 : 0.0
        return value
    }
}
