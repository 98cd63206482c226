/// TA-Lib's WMA (weights 1...period, newest heaviest): running weighted and plain sums in
/// TA-Lib's order, rebuilt from the window every `8 * period` outputs as TA-Lib 0.6 does to
/// stop drift. Lookback `period - 1`.
public struct WeightedMovingAverage: Sendable {
    public let period: Int
    private var window: LagWindow
    private let divider: Double
    private let resyncInterval: Int
    private var countdown: Int
    private var weightedSum = 0.0
    private var plainSum = 0.0
    private var trailing = 0.0
    private var seen = 0
    public private(set) var value = Double.nan

    public init(period: Int) {
        precondition(period >= 1, "WMA period must be at least 1")
        self.period = period
        window = LagWindow(span: period)
        divider = Double(period) * Double(period + 1) * 0.5
        resyncInterval = 8 * period
        countdown = 8 * period
    }

    public var isReady: Bool { seen >= period }
    public var lookback: Int { period - 1 }

    @discardableResult
    public mutating func update(_ x: Double) -> Double {
        window.push(x)
        return update(x, history: window)
    }

    /// Feeds `x`, reading past values from `history`: a window whose newest value is `x`,
    /// holding every value fed here, with `span >= period - 1`.
    @discardableResult
    public mutating func update(_ x: Double, history: borrowing LagWindow) -> Double {
        seen += 1
        if period == 1 {
            value = x
            return x
        }
        if seen < period {
            plainSum += x
            weightedSum += x * Double(seen)
            return .nan
        }
        countdown -= 1
        if countdown == 0 {
            countdown = resyncInterval
            var sum = 0.0
            var sub = 0.0
            for age in stride(from: period - 1, through: 0, by: -1) {
                let y = history[age]
                sub += y
                sum += y * Double(period - age)
            }
            plainSum = sub
            weightedSum = sum
        } else {
            plainSum += x
            plainSum -= trailing
            weightedSum += x * Double(period)
        }
        trailing = history[period - 1]
        value = weightedSum / divider
        weightedSum -= plainSum
        return value
    }
}
