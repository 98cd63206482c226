import Foundation

/// The columns TA-Lib has no function for.
///
/// - `session_vwap`: the volume-weighted typical price `(high + low + close) / 3` since the
///   first bar of the current exchange-local day; when the day so far has no volume, the
///   plain average of typical prices.
/// - `realized_vol_20`: the square root of the sum of squared log returns of the close over
///   the last 20 bars (not annualised). Ready from the 21st bar.
public struct SessionIndicators: IndicatorGroup {
    public static let columns = ["session_vwap", "realized_vol_20"]
    public static let realizedVolatilityPeriod = 20

    private var sessionDay: SessionDay
    private var currentDay = Int.min
    private var priceVolume = 0.0
    private var volume = 0.0
    private var typicalSum = 0.0
    private var barsInSession = 0
    private var previousClose = Double.nan
    private var squaredReturns: RingBuffer

    public init(sessionDay: SessionDay) {
        self.sessionDay = sessionDay
        squaredReturns = RingBuffer(capacity: Self.realizedVolatilityPeriod)
    }

    public mutating func update(_ bar: OHLCV, into out: UnsafeMutableBufferPointer<Double>) {
        let day = sessionDay.key(for: bar.time)
        if day != currentDay {
            currentDay = day
            priceVolume = 0; volume = 0; typicalSum = 0; barsInSession = 0
        }
        let typical = (bar.high + bar.low + bar.close) / 3
        priceVolume += typical * bar.volume
        volume += bar.volume
        typicalSum += typical
        barsInSession += 1
        out[0] = volume > 0 ? priceVolume / volume : typicalSum / Double(barsInSession)

        if !previousClose.isNaN {
            // A non-positive price has no log return; it counts as no move.
            let r = previousClose > 0 && bar.close > 0 ? log(bar.close / previousClose) : 0
            squaredReturns.push(r * r)
        }
        previousClose = bar.close
        if squaredReturns.isFull {
            // Summed afresh (20 adds) rather than kept running, so no drift over long series.
            var sum = 0.0
            for age in 0..<squaredReturns.count { sum += squaredReturns[age] }
            out[1] = sum.squareRoot()
        } else {
            out[1] = .nan
        }
    }
}
