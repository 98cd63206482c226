/// RSI, stochastics, oscillators, directional movement, Aroon, volatility and volume:
/// TA-Lib's functions, streaming.
///
/// Work is shared where it leaves every value unchanged: one true range feeds ATR, NATR, the
/// directional movement and ULTOSC; one raw %K feeds STOCH and STOCHF; one RSI feeds STOCHRSI;
/// one typical price feeds CCI and MFI; one A/D line feeds AD and ADOSC.
public struct OscillatorIndicators: IndicatorGroup {
    public static let columns: [String] = [
        "rsi_14", "stoch_slowk_5_3_3", "stoch_slowd_5_3_3", "stochf_fastk_5_3", "stochf_fastd_5_3",
        "stochrsi_fastk_14_5_3", "stochrsi_fastd_14_5_3", "willr_14", "cci_14", "mfi_14", "cmo_14", "bop",
        "ultosc_7_14_28", "adx_14", "adxr_14", "dx_14", "plus_di_14", "minus_di_14",
        "aroon_down_14", "aroon_up_14", "aroonosc_14", "atr_14", "natr_14", "trange", "obv", "ad", "adosc_3_10",
    ]

    private var previousClose = Double.nan
    private var rsi = RelativeStrengthIndex(period: 14)
    private var stochasticK = StochasticK(period: 5)
    private var stochastic = Stochastic(fastKPeriod: 5, slowKPeriod: 3, slowDPeriod: 3)
    private var fastStochastic = FastStochastic(fastKPeriod: 5, fastDPeriod: 3)
    private var stochasticRSI = StochasticRSI(period: 14, fastKPeriod: 5, fastDPeriod: 3)
    private var williamsR = WilliamsR(period: 14)
    private var cci = CommodityChannelIndex(period: 14)
    private var mfi = MoneyFlowIndex(period: 14)
    private var cmo = ChandeMomentumOscillator(period: 14)
    private var ultimate = UltimateOscillator(period1: 7, period2: 14, period3: 28)
    private var directional = DirectionalMovement(period: 14)
    private var aroon = Aroon(period: 14)
    private var atr = AverageTrueRange(period: 14)
    private var obv = OnBalanceVolume()
    private var ad = AccumulationDistribution()
    private var adosc = ChaikinOscillator(fastPeriod: 3, slowPeriod: 10)

    public init() {}

    public mutating func update(_ bar: OHLCV, into out: UnsafeMutableBufferPointer<Double>) {
        precondition(out.count == Self.columns.count)
        let high = bar.high, low = bar.low, close = bar.close, volume = bar.volume
        let previous = previousClose
        previousClose = close
        let trueRange = previous.isNaN
            ? Double.nan : TrueRange.value(high: high, low: low, previousClose: previous)
        let typicalPrice = (high + low + close) / 3

        let rsiValue = rsi.update(close)
        out[0] = rsiValue
        let k = stochasticK.update(high: high, low: low, close: close)
        (out[1], out[2]) = stochastic.smooth(fastK: k)
        (out[3], out[4]) = fastStochastic.smooth(fastK: k)
        (out[5], out[6]) = stochasticRSI.update(rsi: rsiValue)
        out[7] = williamsR.update(high: high, low: low, close: close)
        out[8] = cci.update(typicalPrice: typicalPrice)
        out[9] = mfi.update(typicalPrice: typicalPrice, volume: volume)
        out[10] = cmo.update(close)
        out[11] = BalanceOfPower().update(open: bar.open, high: high, low: low, close: close)
        out[12] = previous.isNaN
            ? .nan : ultimate.update(low: low, close: close, previousClose: previous, trueRange: trueRange)
        let dm = directional.update(high: high, low: low, trueRange: trueRange)
        out[13] = dm.adx
        out[14] = dm.adxr
        out[15] = dm.dx
        out[16] = dm.plusDI
        out[17] = dm.minusDI
        (out[18], out[19], out[20]) = aroon.update(high: high, low: low)
        let atrValue = atr.update(trueRange: trueRange)
        out[21] = atrValue
        out[22] = NormalizedAverageTrueRange.normalize(atr: atrValue, close: close)
        out[23] = trueRange
        out[24] = obv.update(close: close, volume: volume)
        let line = ad.update(high: high, low: low, close: close, volume: volume)
        out[25] = line
        out[26] = adosc.update(ad: line)
    }
}
