/// TA-Lib's `AROON` and `AROONOSC` over the last `period + 1` bars: up/down =
/// `(100 / period) * (period - bars since the highest high / lowest low)`, the most recent
/// extreme winning ties; oscillator = `(100 / period) * (index of high - index of low)`.
/// Lookback `period`.
public struct Aroon: Sendable {
    public let period: Int
    private let factor: Double
    private var window: RollingHighLow

    public init(period: Int = 14) {
        precondition(period >= 2, "Aroon period must be at least 2")
        self.period = period
        factor = 100.0 / Double(period)
        window = RollingHighLow(period: period + 1)
    }

    public var isReady: Bool { window.isReady }
    public var lookback: Int { period }

    public mutating func update(high: Double, low: Double) -> (down: Double, up: Double, oscillator: Double) {
        window.update(high: high, low: low)
        guard window.isReady else { return (.nan, .nan, .nan) }
        let highAge = window.highAge
        let lowAge = window.lowAge
        return (factor * Double(period - lowAge), factor * Double(period - highAge),
                factor * Double(lowAge - highAge))
    }
}
