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
        bar += 1
        highs.push(high)
        lows.push(low)
        let oldest = bar - period + 1
        if highestBar < oldest {
            highestBar = bar
            highest = high
            for age in 1..<min(period, bar + 1) where highs[age] > highest {
                highest = highs[age]
                highestBar = bar - age
            }
        } else if high >= highest {
            highest = high
            highestBar = bar
        }
        if lowestBar < oldest {
            lowestBar = bar
            lowest = low
            for age in 1..<min(period, bar + 1) where lows[age] < lowest {
                lowest = lows[age]
                lowestBar = bar - age
            }
        } else if low <= lowest {
            lowest = low
            lowestBar = bar
        }
        return (highest, lowest)
    }
}
