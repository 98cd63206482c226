/// TA-Lib's APO and PPO with SMA averages: `fast - slow` and `(fast - slow) / slow * 100`
/// (0 when |slow| < 1e-14); the fast SMA's running sum starts `slow - fast` bars in, as TA-Lib
/// computes both averages only over the output range. Lookback `slow - 1`.
public struct PriceOscillator: Sendable {
    public let fastPeriod: Int
    public let slowPeriod: Int
    private var fast: RollingSum
    private var slow: RollingSum
    private var window: LagWindow
    private var seen = 0
    public private(set) var absolute = Double.nan
    public private(set) var percentage = Double.nan

    public init(fast: Int = 12, slow: Int = 26) {
        precondition(fast >= 2 && slow >= 2, "APO/PPO periods must be at least 2")
        // TA-Lib swaps the periods when the slow one is the shorter.
        fastPeriod = min(fast, slow)
        slowPeriod = max(fast, slow)
        window = LagWindow(span: slowPeriod)
        self.fast = RollingSum(period: fastPeriod)
        self.slow = RollingSum(period: slowPeriod)
    }

    public var isReady: Bool { slow.isReady }
    public var lookback: Int { slowPeriod - 1 }

    /// Returns (APO, PPO).
    @discardableResult
    public mutating func update(_ x: Double) -> (absolute: Double, percentage: Double) {
        window.push(x)
        return update(x, history: window)
    }

    /// Feeds `x`, reading the values leaving the averages from `history`: a window whose newest
    /// value is `x`, holding every value fed here, with `span >= slowPeriod - 1`.
    @discardableResult
    public mutating func update(_ x: Double, history: borrowing LagWindow) -> (absolute: Double, percentage: Double) {
        seen += 1
        let slowValue = slow.update(x, history: history) / Double(slowPeriod)
        guard seen > slowPeriod - fastPeriod else { return (.nan, .nan) }
        let fastValue = fast.update(x, history: history) / Double(fastPeriod)
        guard slow.isReady else { return (.nan, .nan) }
        let difference = fastValue - slowValue
        absolute = difference
        percentage = (-1e-14 < slowValue && slowValue < 1e-14) ? 0.0 : (difference / slowValue) * 100.0
        return (absolute, percentage)
    }
}
