/// TA-Lib's `WILLR`: `(highest - close) / (highest - lowest) * -100` over `period` bars, clamped
/// to [-100, 0]; 0 when the range is negligible next to the extremes. Lookback `period - 1`.
public struct WilliamsR: Sendable {
    public let period: Int
    private var highest: RollingExtreme
    private var lowest: RollingExtreme

    public init(period: Int = 14) {
        precondition(period >= 2, "WILLR period must be at least 2")
        self.period = period
        highest = RollingExtreme(period: period, kind: .highest)
        lowest = RollingExtreme(period: period, kind: .lowest)
    }

    public var isReady: Bool { highest.isReady }
    public var lookback: Int { period - 1 }

    public mutating func update(high: Double, low: Double, close: Double) -> Double {
        let top = highest.update(high)
        let bottom = lowest.update(low)
        guard highest.isReady else { return .nan }
        let range = top - bottom
        if OscillatorMath.isNegligible(range, top, bottom) { return 0.0 }
        let r = ((top - close) / range) * -100.0
        return r > 0 ? 0.0 : max(-100.0, r)
    }
}
