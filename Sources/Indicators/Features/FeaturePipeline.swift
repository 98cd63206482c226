import FeatureContract
import Foundation

/// Bars in, indicators and the `default` feature vector out: the one code path the live
/// processor, `processor features` and training all use, so there is no training/serving skew.
///
/// Every feature is scale-free (a return, a ratio, an oscillator scaled to about ±1, or a
/// z-score), so a model trained on one stock makes sense on another. `features` is NaN-free
/// once `isReady`; before that, features that are not defined yet are NaN.
public struct FeaturePipeline: Sendable {
    /// The `default` feature set this pipeline computes, in its order: the contract
    /// (``FeatureSchema/default`` in FeatureContract) that models and the signal generator read.
    public static let schema = FeatureSchema.default

    public private(set) var indicators: IndicatorSet
    /// The latest feature values, in `schema.names` order.
    public private(set) var features: [Double]
    /// True once every feature is defined (after about 50 bars).
    public private(set) var isReady = false
    public private(set) var lastBar: OHLCV?

    private var closes = RingBuffer(capacity: 21)
    private var volumes = RingBuffer(capacity: 20)
    private var obvs = RingBuffer(capacity: 11)
    private let column: Columns

    public init(timeZone: TimeZone = TimeZone(identifier: "America/New_York") ?? .gmt) {
        indicators = IndicatorSet(timeZone: timeZone)
        features = Array(repeating: .nan, count: Self.schema.names.count)
        column = Columns()
    }

    public var barCount: Int { indicators.barCount }

    /// Feeds one bar (oldest first); returns `isReady`.
    @discardableResult
    public mutating func update(_ bar: OHLCV) -> Bool {
        indicators.update(bar)
        closes.push(bar.close)
        volumes.push(bar.volume)
        lastBar = bar
        let v = indicators.values
        let c = column
        let close = bar.close
        obvs.push(v[c.obv])

        var isReady = true
        // Written through a local, uniquely referenced array: no copy, no allocation.
        var out = features
        features = []
        do {
            var k = 0
            func put(_ value: Double) {
                out[k] = value
                if !value.isFinite { isReady = false }
                k += 1
            }
            func ratio(_ a: Double, _ b: Double) -> Double { b != 0 ? a / b - 1 : (b.isNaN ? .nan : 0) }
            func logReturn(_ age: Int) -> Double {
                guard closes.count > age else { return .nan }
                let then = closes[age]
                return then > 0 && close > 0 ? log(close / then) : 0
            }
            func scaled(_ value: Double, _ divisor: Double) -> Double { value / divisor }

            put(logReturn(1))
            put(logReturn(5))
            put(logReturn(20))
            put(v[c.realizedVol])
            put(ratio(close, v[c.sma5]))
            put(ratio(close, v[c.sma20]))
            put(ratio(close, v[c.sma50]))
            put(ratio(v[c.ema5], v[c.ema20]))
            put(ratio(v[c.ema20], v[c.ema50]))
            put(ratio(close, v[c.kama30]))
            put(ratio(close, v[c.t3]))
            put(ratio(close, v[c.midpoint]))
            put(ratio(close, v[c.sessionVWAP]))
            let upper = v[c.bbUpper], middle = v[c.bbMiddle], lower = v[c.bbLower]
            let width = upper - lower
            put(width > 0 ? (close - lower) / width : (width.isNaN ? .nan : 0.5))
            put(middle != 0 ? width / middle : (middle.isNaN ? .nan : 0))
            let deviation = (upper - middle) / 2  // BBANDS uses 2 standard deviations
            put(deviation > 0 ? (close - middle) / deviation : (deviation.isNaN ? .nan : 0))
            put(close != 0 ? (close - v[c.sar]) / close : 0)
            put(scaled(v[c.rsi], 100))
            put(scaled(v[c.macd], close))
            put(scaled(v[c.macdSignal], close))
            put(scaled(v[c.macdHist], close))
            put(scaled(v[c.stochSlowK], 100))
            put(scaled(v[c.stochSlowD], 100))
            put(scaled(v[c.stochFastK], 100))
            put(scaled(v[c.stochRSIK], 100))
            put(scaled(v[c.stochRSID], 100))
            put(scaled(v[c.willr], 100))
            put(scaled(v[c.cci], 100))
            put(scaled(v[c.mfi], 100))
            put(scaled(v[c.cmo], 100))
            put(v[c.bop])
            put(scaled(v[c.ultosc], 100))
            put(scaled(v[c.adx], 100))
            put(scaled(v[c.adxr], 100))
            put(scaled(v[c.dx], 100))
            put(scaled(v[c.plusDI], 100))
            put(scaled(v[c.minusDI], 100))
            put(scaled(v[c.mom], close))
            put(v[c.rocp])
            put(scaled(v[c.ppo], 100))
            put(scaled(v[c.apo], close))
            put(scaled(v[c.aroonUp], 100))
            put(scaled(v[c.aroonDown], 100))
            put(scaled(v[c.aroonOsc], 100))
            put(scaled(v[c.natr], 100))
            put(scaled(v[c.trange], close))
            // Volume: z-score of this bar's volume over the last 20, OBV's 10-bar change per
            // unit of volume traded, and ADOSC per unit of average volume.
            if volumes.isFull {
                var sum = 0.0, squares = 0.0
                for age in 0..<volumes.count { let x = volumes[age]; sum += x; squares += x * x }
                let n = Double(volumes.count)
                let mean = sum / n
                let sd = max(squares / n - mean * mean, 0).squareRoot()
                put(sd > 0 ? (bar.volume - mean) / sd : 0)
                var recent = 0.0
                for age in 0..<10 { recent += volumes[age] }
                put(obvs.isFull ? (recent > 0 ? (obvs.newest - obvs.oldest) / recent : 0) : .nan)
                put(mean > 0 ? v[c.adosc] / mean : 0)
            } else {
                put(.nan); put(.nan); put(.nan)
            }
        }
        features = out
        self.isReady = isReady
        return isReady
    }

    /// Where each input column lives in `IndicatorSet.values`, looked up once.
    private struct Columns: Sendable {
        let sma5, sma20, sma50, ema5, ema20, ema50, kama30, t3, midpoint, sessionVWAP: Int
        let bbUpper, bbMiddle, bbLower, sar, rsi, macd, macdSignal, macdHist: Int
        let stochSlowK, stochSlowD, stochFastK, stochRSIK, stochRSID: Int
        let willr, cci, mfi, cmo, bop, ultosc, adx, adxr, dx, plusDI, minusDI: Int
        let mom, rocp, ppo, apo, aroonUp, aroonDown, aroonOsc, natr, trange, obv, adosc, realizedVol: Int

        init() {
            func at(_ name: String) -> Int {
                guard let index = IndicatorSet.columnIndex[name] else {
                    preconditionFailure("feature input column \(name) is not in IndicatorSet")
                }
                return index
            }
            sma5 = at("sma_5"); sma20 = at("sma_20"); sma50 = at("sma_50")
            ema5 = at("ema_5"); ema20 = at("ema_20"); ema50 = at("ema_50")
            kama30 = at("kama_30"); t3 = at("t3_5"); midpoint = at("midpoint_14"); sessionVWAP = at("session_vwap")
            bbUpper = at("bbands_upper_20_2"); bbMiddle = at("bbands_middle_20_2"); bbLower = at("bbands_lower_20_2")
            sar = at("sar"); rsi = at("rsi_14")
            macd = at("macd_12_26_9"); macdSignal = at("macdsignal_12_26_9"); macdHist = at("macdhist_12_26_9")
            stochSlowK = at("stoch_slowk_5_3_3"); stochSlowD = at("stoch_slowd_5_3_3"); stochFastK = at("stochf_fastk_5_3")
            stochRSIK = at("stochrsi_fastk_14_5_3"); stochRSID = at("stochrsi_fastd_14_5_3")
            willr = at("willr_14"); cci = at("cci_14"); mfi = at("mfi_14"); cmo = at("cmo_14"); bop = at("bop")
            ultosc = at("ultosc_7_14_28"); adx = at("adx_14"); adxr = at("adxr_14"); dx = at("dx_14")
            plusDI = at("plus_di_14"); minusDI = at("minus_di_14")
            mom = at("mom_10"); rocp = at("rocp_10"); ppo = at("ppo_12_26"); apo = at("apo_12_26")
            aroonUp = at("aroon_up_14"); aroonDown = at("aroon_down_14"); aroonOsc = at("aroonosc_14")
            natr = at("natr_14"); trange = at("trange"); obv = at("obv"); adosc = at("adosc_3_10")
            realizedVol = at("realized_vol_20")
        }
    }
}
