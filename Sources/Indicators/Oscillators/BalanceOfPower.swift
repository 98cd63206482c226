/// TA-Lib's `BOP`: `(close - open) / (high - low)`, 0 when the range is not positive. Lookback 0.
public struct BalanceOfPower: Sendable {
    public init() {}
    public var isReady: Bool { true }
    public var lookback: Int { 0 }

    @inline(__always)
    public func update(open: Double, high: Double, low: Double, close: Double) -> Double {
        let range = high - low
        return 0 >= range ? 0.0 : (close - open) / range
    }
}
