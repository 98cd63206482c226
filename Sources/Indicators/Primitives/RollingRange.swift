/// The highest of the last `period` highs and the lowest of the last `period` lows, as TA-Lib
/// finds them: keep each extreme and its bar, rescan the window only when that bar leaves it.
/// Amortised O(1) on real prices (a rescan is `period` reads); storage allocated at `init`.
public struct RollingRange: Sendable {
    public let period: Int
    private var highs: LagWindow
    private var lows: LagWindow
    private var highestBar = -1
    private var lowestBar = -1
    private var bar = -1
    public private(set) var highest = -Double.infinity
    public private(set) var lowest = Double.infinity

    public init(period: Int) {
        precondition(period >= 1, "RollingRange period must be at least 1")
        self.period = period
        highs = LagWindow(span: period)
        lows = LagWindow(span: period)
    }

    /// True once `period` bars have arrived.
    public var isReady: Bool { bar >= period - 1 }

    /// Pushes one bar and returns the extremes of the last `period` bars (including it).
    @discardableResult
    public mutating func update(high: Double, low: Double) -> (highest: Double, lowest: Double) {
        highs.push(high)
        lows.push(low)
        bar += 1
        trackHighest(high, history: highs)
        trackLowest(low, history: lows)
        return (highest, lowest)
    }

    /// One series: the extremes of the last `period` values, read from `history`, a window whose
    /// newest value is `x`, holding every value fed here, with `span >= period - 1`.
    @discardableResult
    public mutating func update(_ x: Double, history: borrowing LagWindow) -> (highest: Double, lowest: Double) {
        bar += 1
        trackHighest(x, history: history)
        trackLowest(x, history: history)
        return (highest, lowest)
    }

    @inline(__always)
    private mutating func trackHighest(_ high: Double, history: borrowing LagWindow) {
        if highestBar <= bar - period {
            highestBar = bar
            highest = high
            for age in 1..<min(period, bar + 1) where history[age] > highest {
                highest = history[age]
                highestBar = bar - age
            }
        } else if high >= highest {
            highest = high
            highestBar = bar
        }
    }

    @inline(__always)
    private mutating func trackLowest(_ low: Double, history: borrowing LagWindow) {
        if lowestBar <= bar - period {
            lowestBar = bar
            lowest = low
            for age in 1..<min(period, bar + 1) where history[age] < lowest {
                lowest = history[age]
                lowestBar = bar - age
            }
        } else if low <= lowest {
            lowest = low
            lowestBar = bar
        }
    }
}
