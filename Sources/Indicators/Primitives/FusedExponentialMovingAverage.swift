/// TA-Lib's EMA as its FMA build computes it: seeded with the SMA of the first `period` values
/// (one running sum, divided once), then `ema = fma(x - ema, k, ema)` with `k = 2 / (period + 1)`.
///
/// The `ta-lib` wheel compiles EMA-family functions twice and picks the FMA clone on any CPU
/// with FMA (every x86-64 since 2013, every arm64), where the compiler fuses
/// `(x - ema) * k + ema`. This type reproduces that build bit for bit; `ExponentialMovingAverage`
/// reproduces the unfused one. Lookback `period - 1`.
public struct FusedExponentialMovingAverage: Sendable {
    public let period: Int
    public let k: Double
    private var seen = 0
    private var seedSum = 0.0
    public private(set) var value = Double.nan

    /// - Parameter k: the smoothing factor; TA-Lib's `2 / (period + 1)` unless given.
    public init(period: Int, k: Double? = nil) {
        precondition(period >= 1, "EMA period must be at least 1")
        self.period = period
        self.k = k ?? 2.0 / Double(period + 1)
    }

    public var isReady: Bool { seen >= period }
    public var lookback: Int { period - 1 }

    /// Feeds one value; returns the average, or NaN until `period` values have arrived.
    @discardableResult
    public mutating func update(_ x: Double) -> Double {
        if seen >= period {
            value = value.addingProduct(x - value, k)
            return value
        }
        seen += 1
        seedSum += x
        guard seen == period else { return .nan }
        value = seedSum / Double(period)
        return value
    }
}
