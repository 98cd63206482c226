import Indicators
import Testing

/// Each trend indicator's `lookback` is TA-Lib's, and `isReady` turns true on exactly the bar
/// of its first value.
@Suite("Trend indicators' lookback and readiness")
struct TrendReadinessTests {
    /// A deterministic, wiggly series long enough for every lookback below.
    static let closes: [Double] = (0..<400).map { i in
        let t = Double(i)
        return 100 + 10 * ((t * 0.37).truncatingRemainder(dividingBy: 1) - 0.5) + 0.05 * t
    }

    /// Feeds `closes` through `update` and checks that values, readiness and `lookback` agree.
    static func check(
        _ name: String, lookback expected: Int, lookback actual: Int,
        _ step: (Double) -> (value: Double, isReady: Bool)
    ) {
        #expect(actual == expected, "\(name): lookback \(actual), TA-Lib's \(expected)")
        for (i, x) in closes.enumerated() {
            let (value, ready) = step(x)
            #expect(ready == (i >= expected), "\(name): isReady \(ready) at bar \(i)")
            #expect(value.isNaN == (i < expected), "\(name): value \(value) at bar \(i)")
            if ready != (i >= expected) || value.isNaN != (i < expected) { return }
        }
    }

    @Test func movingAverages() {
        var sma = SimpleMovingAverage(period: 20)
        Self.check("SMA", lookback: 19, lookback: sma.lookback) { (sma.update($0), sma.isReady) }
        var ema = FusedExponentialMovingAverage(period: 20)
        Self.check("EMA", lookback: 19, lookback: ema.lookback) { (ema.update($0), ema.isReady) }
        var wma = WeightedMovingAverage(period: 20)
        Self.check("WMA", lookback: 19, lookback: wma.lookback) { (wma.update($0), wma.isReady) }
        var dema = DoubleExponentialMovingAverage(period: 20)
        Self.check("DEMA", lookback: 38, lookback: dema.lookback) { (dema.update($0), dema.isReady) }
        var tema = TripleExponentialMovingAverage(period: 20)
        Self.check("TEMA", lookback: 57, lookback: tema.lookback) { (tema.update($0), tema.isReady) }
        for period in [1, 2, 3, 19, 20] {
            var trima = TriangularMovingAverage(period: period)
            Self.check("TRIMA(\(period))", lookback: period - 1, lookback: trima.lookback) {
                (trima.update($0), trima.isReady)
            }
        }
        for (period, lookback) in [(1, 0), (2, 2), (30, 30)] {
            var kama = KAMA(period: period)
            Self.check("KAMA(\(period))", lookback: lookback, lookback: kama.lookback) { (kama.update($0), kama.isReady) }
        }
        var wma1 = WeightedMovingAverage(period: 1)
        Self.check("WMA(1)", lookback: 0, lookback: wma1.lookback) { (wma1.update($0), wma1.isReady) }
        var t3 = T3(period: 5, volumeFactor: 0.7)
        Self.check("T3", lookback: 24, lookback: t3.lookback) { (t3.update($0), t3.isReady) }
        var trix = TRIX(period: 30)
        Self.check("TRIX", lookback: 88, lookback: trix.lookback) { (trix.update($0), trix.isReady) }
    }

    @Test func bandsLevelsAndOscillators() {
        var bbands = BollingerBands(period: 20, deviations: 2)
        Self.check("BBANDS", lookback: 19, lookback: bbands.lookback) { (bbands.update($0).upper, bbands.isReady) }
        var midpoint = MidPoint(period: 14)
        Self.check("MIDPOINT", lookback: 13, lookback: midpoint.lookback) { (midpoint.update($0), midpoint.isReady) }
        var midprice = MidPrice(period: 14)
        Self.check("MIDPRICE", lookback: 13, lookback: midprice.lookback) {
            (midprice.update(high: $0 + 1, low: $0 - 1), midprice.isReady)
        }
        var sar = ParabolicSAR(acceleration: 0.02, maximum: 0.2)
        Self.check("SAR", lookback: 1, lookback: sar.lookback) {
            (sar.update(high: $0 + 1, low: $0 - 1), sar.isReady)
        }
        var macd = MACD(fast: 12, slow: 26, signal: 9)
        Self.check("MACD", lookback: 33, lookback: macd.lookback) { (macd.update($0).histogram, macd.isReady) }
        var momentum = Momentum(period: 10)
        Self.check("MOM", lookback: 10, lookback: momentum.lookback) { (momentum.update($0).rateOfChange, momentum.isReady) }
        var oscillator = PriceOscillator(fast: 12, slow: 26)
        Self.check("PPO", lookback: 25, lookback: oscillator.lookback) {
            (oscillator.update($0).percentage, oscillator.isReady)
        }
    }

    @Test func groupWritesEveryColumn() {
        var group = TrendIndicators()
        var out = [Double](repeating: -1, count: TrendIndicators.columns.count)
        for x in Self.closes {
            out.withUnsafeMutableBufferPointer { group.update(OHLCV(open: x, high: x + 1, low: x - 1, close: x, volume: 1), into: $0) }
        }
        #expect(out.allSatisfy { !$0.isNaN && $0 != -1 })
        #expect(Set(TrendIndicators.columns).count == 32)
    }
}
