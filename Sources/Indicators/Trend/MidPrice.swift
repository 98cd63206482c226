/// TA-Lib's MIDPRICE: `(highest high + lowest low) / 2` over the last `period` bars, kept
/// with monotonic queues. Lookback `period - 1`.
public struct MidPrice: Sendable {
    public let period: Int
    private var highest: RollingExtreme
    private var lowest: RollingExtreme
    public private(set) var value = Double.nan

    public init(period: Int) {
        precondition(period >= 1, "MIDPRICE period must be at least 1")
        self.period = period
        highest = RollingExtreme(period: period, kind: .highest)
        lowest = RollingExtreme(period: period, kind: .lowest)
    }

    public var isReady: Bool { highest.isReady }
    public var lookback: Int { period - 1 }

    @discardableResult
    public mutating func update(high: Double, low: Double) -> Double {
        let top = highest.update(high)
        let bottom = lowest.update(low)
        guard highest.isReady else { return .nan }
        value = (top + bottom) / 2.0
        return value
    }
}
