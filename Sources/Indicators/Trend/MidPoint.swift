/// TA-Lib's MIDPOINT: `(highest + lowest) / 2` of the last `period` values, kept with
/// monotonic queues. Lookback `period - 1`.
public struct MidPoint: Sendable {
    public let period: Int
    private var highest: RollingExtreme
    private var lowest: RollingExtreme
    public private(set) var value = Double.nan

    public init(period: Int) {
        precondition(period >= 1, "MIDPOINT period must be at least 1")
        self.period = period
        highest = RollingExtreme(period: period, kind: .highest)
        lowest = RollingExtreme(period: period, kind: .lowest)
    }

    public var isReady: Bool { highest.isReady }
    public var lookback: Int { period - 1 }

    @discardableResult
    public mutating func update(_ x: Double) -> Double {
        let high = highest.update(x)
        let low = lowest.update(x)
        guard highest.isReady else { return .nan }
        value = (high + low) / 2.0
        return value
    }
}
