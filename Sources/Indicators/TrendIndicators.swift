/// Moving averages, bands, price levels, MACD and momentum: TA-Lib's functions, streaming.
public struct TrendIndicators: IndicatorGroup {
    public static let columns: [String] = []
    public init() {}
    public mutating func update(_ bar: OHLCV, into out: UnsafeMutableBufferPointer<Double>) {}
}
