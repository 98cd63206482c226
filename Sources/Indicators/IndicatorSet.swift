import Foundation

/// Every indicator column Tickwire computes, for one ticker, updated once per bar in O(1)
/// and without allocation.
///
/// `values` holds the latest value of each column, in `columns` order (NaN where the
/// indicator is not ready yet). The live processor and the offline `processor indicators`
/// command both use this type, so their results are the same by construction.
public struct IndicatorSet: Sendable {
    /// Column names in `values` order.
    public static let columns: [String] =
        TrendIndicators.columns + OscillatorIndicators.columns + SessionIndicators.columns

    /// Column names in the order of the issue/README table (used for CSV output).
    public static let displayColumns: [String] = {
        let order = displayOrder
        let rank = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        return columns.sorted { (rank[$0] ?? Int.max, $0) < (rank[$1] ?? Int.max, $1) }
    }()

    /// Where each column lives in `values`.
    public static let columnIndex: [String: Int] =
        Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })

    public private(set) var values: [Double]
    /// Bars fed so far.
    public private(set) var barCount = 0

    /// The exchange's time zone (session VWAP's day boundary).
    public let timeZone: TimeZone

    private var trend = TrendIndicators()
    private var oscillators = OscillatorIndicators()
    private var session: SessionIndicators

    /// - Parameter timeZone: the exchange's time zone; session VWAP resets at its midnight.
    public init(timeZone: TimeZone = TimeZone(identifier: "America/New_York") ?? .gmt) {
        values = Array(repeating: .nan, count: Self.columns.count)
        self.timeZone = timeZone
        session = SessionIndicators(sessionDay: SessionDay(timeZone: timeZone))
    }

    /// Feeds one bar (oldest first) and updates every column.
    public mutating func update(_ bar: OHLCV) {
        let trendCount = TrendIndicators.columns.count
        let oscillatorCount = OscillatorIndicators.columns.count
        let sessionCount = SessionIndicators.columns.count
        values.withUnsafeMutableBufferPointer { all in
            trend.update(bar, into: UnsafeMutableBufferPointer(rebasing: all[0..<trendCount]))
            oscillators.update(
                bar, into: UnsafeMutableBufferPointer(rebasing: all[trendCount..<trendCount + oscillatorCount]))
            session.update(
                bar,
                into: UnsafeMutableBufferPointer(
                    rebasing: all[trendCount + oscillatorCount..<trendCount + oscillatorCount + sessionCount]))
        }
        barCount += 1
    }

    /// The latest value of `column`, nil when no such column, NaN when not ready.
    public subscript(column: String) -> Double? {
        Self.columnIndex[column].map { values[$0] }
    }

    /// The column order of the issue that specified them.
    static let displayOrder: [String] = """
        sma_5 sma_10 sma_20 sma_50 sma_200 ema_5 ema_10 ema_20 ema_50 ema_200 \
        wma_20 dema_20 tema_20 trima_20 kama_30 t3_5 \
        bbands_upper_20_2 bbands_middle_20_2 bbands_lower_20_2 midpoint_14 midprice_14 sar \
        rsi_14 macd_12_26_9 macdsignal_12_26_9 macdhist_12_26_9 \
        stoch_slowk_5_3_3 stoch_slowd_5_3_3 stochf_fastk_5_3 stochf_fastd_5_3 \
        stochrsi_fastk_14_5_3 stochrsi_fastd_14_5_3 \
        willr_14 cci_14 mfi_14 cmo_14 bop ultosc_7_14_28 \
        adx_14 adxr_14 dx_14 plus_di_14 minus_di_14 \
        mom_10 roc_10 rocp_10 rocr_10 ppo_12_26 apo_12_26 trix_30 \
        aroon_down_14 aroon_up_14 aroonosc_14 \
        atr_14 natr_14 trange \
        obv ad adosc_3_10 \
        session_vwap realized_vol_20
        """.split(separator: " ").map(String.init)
}
