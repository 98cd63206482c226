/// TA-Lib's MIDPOINT: `(highest + lowest) / 2` of the last `period` values, kept as
/// TA-Lib does (rescan only when an extreme leaves the window). Lookback `period - 1`.
public struct MidPoint: Sendable {
    public let period: Int
    private var window: LagWindow
    private var range: RollingRange
    public private(set) var value = Double.nan

    public init(period: Int) {
        precondition(period >= 1, "MIDPOINT period must be at least 1")
        self.period = period
        window = LagWindow(span: period)
        range = RollingRange(period: period)
    }

    public var isReady: Bool { range.isReady }
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
        let extremes = range.update(x, history: history)
        guard range.isReady else { return .nan }
        value = (extremes.highest + extremes.lowest) / 2.0
        return value
    }
}
