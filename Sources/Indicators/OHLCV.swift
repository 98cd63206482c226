/// One bar's prices and volume: the input of every indicator.
///
/// `time` is the bar's end instant in UTC nanoseconds since the Unix epoch; only the
/// session-aware indicators (session VWAP) look at it, through the indicator set's
/// session key.
public struct OHLCV: Sendable, Equatable {
    public var time: Int64
    public var open: Double
    public var high: Double
    public var low: Double
    public var close: Double
    public var volume: Double

    public init(time: Int64 = 0, open: Double, high: Double, low: Double, close: Double, volume: Double) {
        self.time = time
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
    }
}
