/// TA-Lib's `WILLR`: `(highest - close) / (highest - lowest) * -100` over `period` bars, clamped
/// to [-100, 0]; 0 when the range is negligible next to the extremes. Lookback `period - 1`.
public struct WilliamsR: Sendable {
    public let period: Int
    private var window: RollingHighLow

    public init(period: Int = 14) {
        precondition(period >= 2, "WILLR period must be at least 2")
        self.period = period
        window = RollingHighLow(period: period)
    }

    public var isReady: Bool { window.isReady }
    public var lookback: Int { period - 1 }

    public mutating func update(high: Double, low: Double, close: Double) -> Double {
        window.update(high: high, low: low)
        guard window.isReady else { return .nan }
        let top = window.highest, bottom = window.lowest
        let range = top - bottom
        if OscillatorMath.isNegligible(range, top, bottom) { return 0.0 }
        let r = ((top - close) / range) * -100.0
        return r > 0 ? 0.0 : max(-100.0, r)
    }
}
