/// TA-Lib's TRIMA: weights 1, 2, ..., up to the middle and back down to 1 (for an even period
/// the two middle weights are equal), kept in O(1) with TA-Lib's three running sums (whole
/// numerator, older half, newer half) updated in TA-Lib's order, which differs between odd
/// and even periods. Lookback `period - 1`.
public struct TriangularMovingAverage: Sendable {
    public let period: Int
    private var window: LagWindow
    private let factor: Double
    private let half: Int            // period / 2, also the age of the value moving between halves
    private let olderHalfCount: Int  // values in the older half at the first output
    private var numerator = 0.0
    private var olderSum = 0.0       // TA-Lib's numeratorSub
    private var newerSum = 0.0       // TA-Lib's numeratorAdd
    private var seen = 0
    public private(set) var value = Double.nan

    public init(period: Int) {
        precondition(period >= 1, "TRIMA period must be at least 1")
        self.period = period
        window = LagWindow(span: period)
        half = period >> 1
        if period % 2 == 0 {
            factor = 1.0 / (Double(half) * Double(half + 1))
            olderHalfCount = half
        } else {
            factor = 1.0 / (Double(half + 1) * Double(half + 1))
            olderHalfCount = half + 1
        }
    }

    public var isReady: Bool { seen >= period }
    public var lookback: Int { period - 1 }

    @discardableResult
    public mutating func update(_ x: Double) -> Double {
        window.push(x)
        return update(x, history: window)
    }

    /// Feeds `x`, reading past values from `history`: a window whose newest value is `x`,
    /// holding every value fed here, with `span >= period`.
    @discardableResult
    public mutating func update(_ x: Double, history: borrowing LagWindow) -> Double {
        seen += 1
        if period == 1 {
            value = x  // TA-Lib's TRIMA(1) is its input
            return x
        }
        if seen < period { return .nan }
        if seen > period {
            let trailing = history[period]
            let middle = history[half]
            if period % 2 == 0 {
                numerator -= olderSum
                olderSum -= trailing
                olderSum += middle
                newerSum -= middle
                numerator += newerSum
                newerSum += x
                numerator += x
            } else {
                numerator -= olderSum
                olderSum -= trailing
                numerator += newerSum
                olderSum += middle
                newerSum -= middle
                numerator += x
                newerSum += x
            }
        } else {
            // First full window: build the sums from the middle outwards, as TA-Lib does.
            for age in (period - olderHalfCount)..<period {
                olderSum += history[age]
                numerator += olderSum
            }
            for age in stride(from: period - olderHalfCount - 1, through: 0, by: -1) {
                newerSum += history[age]
                numerator += newerSum
            }
        }
        value = numerator * factor
        return value
    }
}
