/// TA-Lib's `CMO`: RSI's Wilder averages in TA-Lib's classic form
/// (`avg = (avg * (period - 1) + x) / period`, seeded by the mean of the first `period` changes),
/// then `100 * (gain - loss) / (gain + loss)`, 0 when the sum is within 1e-14 of zero.
/// Lookback `period`.
public struct ChandeMomentumOscillator: Sendable {
    public let period: Int
    private let keep: Double
    private let divisor: Double
    private var previous = Double.nan
    private var changes = 0
    private var gain = 0.0
    private var loss = 0.0
    public private(set) var value = Double.nan

    public init(period: Int = 14) {
        precondition(period >= 2, "CMO period must be at least 2")
        self.period = period
        keep = Double(period - 1)
        divisor = Double(period)
    }

    public var isReady: Bool { changes >= period }
    public var lookback: Int { period }

    @discardableResult
    public mutating func update(_ x: Double) -> Double {
        let last = previous
        previous = x
        if last.isNaN { return .nan }
        let change = x - last
        if changes >= period {
            loss *= keep
            gain *= keep
            if change < 0 { loss -= change } else { gain += change }
            loss /= divisor
            gain /= divisor
        } else {
            changes += 1
            if change < 0 { loss -= change } else { gain += change }
            guard changes == period else { return .nan }
            loss /= divisor
            gain /= divisor
        }
        let total = gain + loss
        value = OscillatorMath.isZero(total) ? 0.0 : 100.0 * ((gain - loss) / total)
        return value
    }
}
