/// TA-Lib's MOM, ROC, ROCP and ROCR over one lag: `x - p`, `(x / p - 1) * 100`, `(x - p) / p`
/// and `x / p` with `p` the value `period` bars ago (the ratios are 0 when `p` is 0).
/// Lookback `period`.
public struct Momentum: Sendable {
    public let period: Int
    private var window: LagWindow
    private var seen = 0
    public private(set) var momentum = Double.nan
    public private(set) var rateOfChange = Double.nan
    public private(set) var rateOfChangePercentage = Double.nan
    public private(set) var rateOfChangeRatio = Double.nan

    public init(period: Int) {
        precondition(period >= 1, "MOM/ROC period must be at least 1")
        self.period = period
        window = LagWindow(span: period)
    }

    public var isReady: Bool { seen > period }
    public var lookback: Int { period }

    /// Returns (MOM, ROC, ROCP, ROCR).
    @discardableResult
    public mutating func update(_ x: Double)
        -> (momentum: Double, rateOfChange: Double, rateOfChangePercentage: Double, rateOfChangeRatio: Double)
    {
        window.push(x)
        return update(x, history: window)
    }

    /// Feeds `x`, reading the value `period` bars ago from `history`: a window whose newest
    /// value is `x`, holding every value fed here, with `span >= period`.
    @discardableResult
    public mutating func update(_ x: Double, history: borrowing LagWindow)
        -> (momentum: Double, rateOfChange: Double, rateOfChangePercentage: Double, rateOfChangeRatio: Double)
    {
        seen += 1
        guard seen > period else { return (.nan, .nan, .nan, .nan) }
        let past = history[period]
        momentum = x - past
        if past != 0 {
            rateOfChange = ((x / past) - 1.0) * 100.0
            rateOfChangePercentage = (x - past) / past
            rateOfChangeRatio = x / past
        } else {
            rateOfChange = 0
            rateOfChangePercentage = 0
            rateOfChangeRatio = 0
        }
        return (momentum, rateOfChange, rateOfChangePercentage, rateOfChangeRatio)
    }
}
