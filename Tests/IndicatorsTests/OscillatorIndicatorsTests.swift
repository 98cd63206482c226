import Foundation
import Indicators
import Testing

/// The oscillator group against TA-Lib, more strictly than the shared suite: bit-identical
/// values (a relative difference of exactly 0), and one more fixture whose long flat runs,
/// zero-volume stretches, ties and sub-1e-14 relative moves reach TA-Lib's zero-residue resets
/// (MFI, ULTOSC) and relative flatness tests (STOCH, WILLR, CCI, MFI).
@Suite("Oscillator indicators")
struct OscillatorIndicatorsTests {
    static let files = TALibEquivalenceTests.files + ["oscillator-flat-runs.csv"]

    @Test("every oscillator column is bit-identical to TA-Lib", arguments: files)
    func bitIdentical(file: String) async throws {
        let ours = Set(OscillatorIndicators.columns)
        let comparisons = try await compareWithTALib(TALibReference.fixture(file)).filter { ours.contains($0.column) }
        #expect(comparisons.count == OscillatorIndicators.columns.count)
        for comparison in comparisons {
            #expect(comparison.readinessMismatch == nil, "\(file): \(comparison)")
            #expect(comparison.worstRelativeError == 0, "\(file): \(comparison)")
            #expect(comparison.comparedValues > 0, "\(file): \(comparison.column) never ready")
        }
    }

    /// Bars with some movement, so every indicator becomes ready at its lookback.
    static let bars: [OHLCV] = (0..<80).map { i in
        let x = Double(i)
        let close = 100 + 5 * sin(x / 3) + x / 10
        return OHLCV(open: close - 0.5 * cos(x), high: close + 1 + sin(x) * 0.5, low: close - 1 - cos(x) * 0.3,
                     close: close, volume: 1000 + 100 * x)
    }

    /// Index of the first bar for which `value` is not NaN.
    static func firstReady(_ value: (OHLCV) -> Double) -> Int? {
        bars.firstIndex { !value($0).isNaN }
    }

    @Test("each indicator's first value is at its TA-Lib lookback, when isReady turns true")
    func lookbacks() {
        var rsi = RelativeStrengthIndex(period: 14)
        #expect(rsi.lookback == 14)
        #expect(Self.firstReady { rsi.update($0.close) } == 14 && rsi.isReady)

        var cmo = ChandeMomentumOscillator(period: 14)
        #expect(Self.firstReady { cmo.update($0.close) } == cmo.lookback && cmo.lookback == 14 && cmo.isReady)

        var stoch = Stochastic(fastKPeriod: 5, slowKPeriod: 3, slowDPeriod: 3)
        #expect(stoch.lookback == 8)
        #expect(Self.firstReady { stoch.update(high: $0.high, low: $0.low, close: $0.close).slowD } == 8)

        var stochf = FastStochastic(fastKPeriod: 5, fastDPeriod: 3)
        #expect(stochf.lookback == 6)
        #expect(Self.firstReady { stochf.update(high: $0.high, low: $0.low, close: $0.close).fastK } == 6)

        var stochrsi = StochasticRSI(period: 14, fastKPeriod: 5, fastDPeriod: 3)
        #expect(stochrsi.lookback == 20)
        #expect(Self.firstReady { stochrsi.update($0.close).fastK } == 20 && stochrsi.isReady)

        var willr = WilliamsR(period: 14)
        #expect(Self.firstReady { willr.update(high: $0.high, low: $0.low, close: $0.close) } == 13)
        #expect(willr.lookback == 13)

        var cci = CommodityChannelIndex(period: 14)
        #expect(Self.firstReady { cci.update(high: $0.high, low: $0.low, close: $0.close) } == 13)
        #expect(cci.lookback == 13)

        var mfi = MoneyFlowIndex(period: 14)
        #expect(Self.firstReady { mfi.update(high: $0.high, low: $0.low, close: $0.close, volume: $0.volume) } == 14)
        #expect(mfi.lookback == 14)

        var ultosc = UltimateOscillator(period1: 14, period2: 28, period3: 7)  // any order
        #expect(ultosc.lookback == 28 && ultosc.periods == (7, 14, 28))
        #expect(Self.firstReady { ultosc.update(high: $0.high, low: $0.low, close: $0.close) } == 28)

        var dm = DirectionalMovement(period: 14)
        var firstDI: Int?, firstDX: Int?, firstADX: Int?, firstADXR: Int?
        for (i, bar) in Self.bars.enumerated() {
            let v = dm.update(high: bar.high, low: bar.low, close: bar.close)
            if firstDI == nil, !v.plusDI.isNaN, !v.minusDI.isNaN { firstDI = i }
            if firstDX == nil, !v.dx.isNaN { firstDX = i }
            if firstADX == nil, !v.adx.isNaN { firstADX = i }
            if firstADXR == nil, !v.adxr.isNaN { firstADXR = i }
        }
        #expect(firstDI == 14 && firstDX == 14 && firstADX == 27 && firstADXR == 40 && dm.lookback == 40)

        var aroon = Aroon(period: 14)
        #expect(Self.firstReady { aroon.update(high: $0.high, low: $0.low).oscillator } == 14)
        #expect(aroon.lookback == 14)

        var atr = AverageTrueRange(period: 14)
        #expect(Self.firstReady { atr.update(high: $0.high, low: $0.low, close: $0.close) } == 14)
        var natr = NormalizedAverageTrueRange(period: 14)
        #expect(Self.firstReady { natr.update(high: $0.high, low: $0.low, close: $0.close) } == 14)
        var trange = TrueRange()
        #expect(Self.firstReady { trange.update(high: $0.high, low: $0.low, close: $0.close) } == 1)
        #expect(atr.lookback == 14 && natr.lookback == 14 && trange.lookback == 1)

        var obv = OnBalanceVolume()
        #expect(Self.firstReady { obv.update(close: $0.close, volume: $0.volume) } == 0)
        var ad = AccumulationDistribution()
        #expect(Self.firstReady { ad.update(high: $0.high, low: $0.low, close: $0.close, volume: $0.volume) } == 0)
        var adosc = ChaikinOscillator(fastPeriod: 3, slowPeriod: 10)
        #expect(Self.firstReady { adosc.update(high: $0.high, low: $0.low, close: $0.close, volume: $0.volume) } == 9)
        #expect(adosc.lookback == 9 && adosc.isReady)
        #expect(BalanceOfPower().lookback == 0)
    }

    @Test("the group writes one value per column, NaN until each column's lookback")
    func groupReadiness() {
        var group = OscillatorIndicators()
        var out = [Double](repeating: 0, count: OscillatorIndicators.columns.count)
        var first = [Int?](repeating: nil, count: out.count)
        for (i, bar) in Self.bars.enumerated() {
            out.withUnsafeMutableBufferPointer { group.update(bar, into: $0) }
            for k in out.indices where first[k] == nil && !out[k].isNaN { first[k] = i }
        }
        let expected = [14, 8, 8, 6, 6, 20, 20, 13, 13, 14, 14, 0, 28, 27, 40, 14, 14, 14, 14, 14, 14, 14, 14, 1, 0, 0, 9]
        #expect(first == expected.map { Optional($0) })
    }
}
