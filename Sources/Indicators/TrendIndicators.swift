/// Moving averages, bands, price levels, MACD and momentum: TA-Lib's functions, streaming.
public struct TrendIndicators: IndicatorGroup {
    public static let columns: [String] = [
        "sma_5", "sma_10", "sma_20", "sma_50", "sma_200",
        "ema_5", "ema_10", "ema_20", "ema_50", "ema_200",
        "wma_20", "dema_20", "tema_20", "trima_20", "kama_30", "t3_5",
        "bbands_upper_20_2", "bbands_middle_20_2", "bbands_lower_20_2",
        "midpoint_14", "midprice_14", "sar",
        "macd_12_26_9", "macdsignal_12_26_9", "macdhist_12_26_9",
        "mom_10", "roc_10", "rocp_10", "rocr_10", "ppo_12_26", "apo_12_26", "trix_30",
    ]

    /// Every close the window-based indicators read, pushed once per bar and shared.
    private var closes = LagWindow(span: 200)
    // SMAs as TA-Lib's running sums (sma_20 is BBANDS' middle band, the same sum).
    private var sum5 = RollingSum(period: 5)
    private var sum10 = RollingSum(period: 10)
    private var sum50 = RollingSum(period: 50)
    private var sum200 = RollingSum(period: 200)
    private var ema5 = FusedExponentialMovingAverage(period: 5)
    private var ema10 = FusedExponentialMovingAverage(period: 10)
    private var ema50 = FusedExponentialMovingAverage(period: 50)
    private var ema200 = FusedExponentialMovingAverage(period: 200)
    private var wma20 = WeightedMovingAverage(period: 20)
    // ema_20 and dema_20 are TEMA(20)'s first EMA and its DEMA: the same EMAs, computed once.
    private var tema20 = TripleExponentialMovingAverage(period: 20)
    private var trima20 = TriangularMovingAverage(period: 20)
    private var kama30 = KAMA(period: 30)
    private var t3 = T3(period: 5, volumeFactor: 0.7)
    private var bbands = BollingerBands(period: 20, deviations: 2)
    private var midpoint14 = MidPoint(period: 14)
    private var midprice14 = MidPrice(period: 14)
    private var sar = ParabolicSAR(acceleration: 0.02, maximum: 0.2)
    private var macd = MACD(fast: 12, slow: 26, signal: 9)
    private var momentum10 = Momentum(period: 10)
    private var priceOscillator = PriceOscillator(fast: 12, slow: 26)
    private var trix30 = TRIX(period: 30)

    public init() {}

    public mutating func update(_ bar: OHLCV, into out: UnsafeMutableBufferPointer<Double>) {
        precondition(out.count == Self.columns.count, "TrendIndicators writes \(Self.columns.count) columns")
        let close = bar.close
        closes.push(close)
        let bands = bbands.update(close, history: closes)
        out[0] = sum5.update(close, history: closes) / 5.0
        out[1] = sum10.update(close, history: closes) / 10.0
        out[2] = bands.middle
        out[3] = sum50.update(close, history: closes) / 50.0
        out[4] = sum200.update(close, history: closes) / 200.0
        out[5] = ema5.update(close)
        out[6] = ema10.update(close)
        out[8] = ema50.update(close)
        out[9] = ema200.update(close)
        out[10] = wma20.update(close, history: closes)
        out[12] = tema20.update(close)
        out[7] = tema20.firstEMA
        out[11] = tema20.doubleEMA
        out[13] = trima20.update(close, history: closes)
        out[14] = kama30.update(close, history: closes)
        out[15] = t3.update(close)
        out[16] = bands.upper
        out[17] = bands.middle
        out[18] = bands.lower
        out[19] = midpoint14.update(close)
        out[20] = midprice14.update(high: bar.high, low: bar.low)
        out[21] = sar.update(high: bar.high, low: bar.low)
        let lines = macd.update(close)
        out[22] = lines.macd
        out[23] = lines.signal
        out[24] = lines.histogram
        let change = momentum10.update(close, history: closes)
        out[25] = change.momentum
        out[26] = change.rateOfChange
        out[27] = change.rateOfChangePercentage
        out[28] = change.rateOfChangeRatio
        let oscillator = priceOscillator.update(close, history: closes)
        out[29] = oscillator.percentage
        out[30] = oscillator.absolute
        out[31] = trix30.update(close)
    }
}
