/// TA-Lib's MIDPOINT: `(highest + lowest) / 2` of the last `period` values, kept as
/// TA-Lib does (rescan only when an extreme leaves the window). Lookback `period - 1`.
public struct MidPoint: Sendable {
    public let period: Int
    private var range: RollingHighLow
    public private(set) var value = Double.nan

    public init(period: Int) {
        precondition(period >= 1, "MIDPOINT period must be at least 1")
        self.period = period
        range = RollingHighLow(period: period)
    }

    public var isReady: Bool { range.isReady }
    public var lookback: Int { period - 1 }

    @discardableResult
    public mutating func update(_ x: Double) -> Double {
        range.update(high: x, low: x)
        guard range.isReady else { return .nan }
        value = (range.highest + range.lowest) / 2.0
        return value
    }
}
