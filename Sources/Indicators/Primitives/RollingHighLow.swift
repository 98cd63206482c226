/// The highest of one series and the lowest of another (typically highs and lows) over the
/// last `period` values, with their ages, tracked the way TA-Lib's scans do: the extreme is kept
/// until it leaves the window, then the window is rescanned oldest to newest; on ties the most
/// recent value wins (`>=` / `<=`). Amortised O(1), O(period) worst case; one array, allocated
/// at `init`.
public struct RollingHighLow: Sendable {
    public let period: Int
    private var storage: ContiguousArray<Double>  // highs in [0, period), lows in [period, 2 period)
    private var slot = -1            // slot of the newest value
    private var index = -1           // index of the newest value
    private var highIndex = Int.min  // index of the current highest
    private var lowIndex = Int.min
    public private(set) var highest = Double.nan
    public private(set) var lowest = Double.nan

    public init(period: Int) {
        precondition(period >= 1, "RollingHighLow period must be at least 1")
        self.period = period
        storage = ContiguousArray(repeating: 0, count: 2 * period)
    }

    /// True once `period` values have been pushed.
    public var isReady: Bool { index >= period - 1 }
    /// How many updates ago the highest arrived (0 = the newest value). Valid after an update.
    public var highAge: Int { index - highIndex }
    /// How many updates ago the lowest arrived (0 = the newest value). Valid after an update.
    public var lowAge: Int { index - lowIndex }

    /// Pushes one high and one low; `highest` and `lowest` then cover the last `period` pushes.
    @inline(__always)
    public mutating func update(high: Double, low: Double) {
        let period = self.period
        index += 1
        slot += 1
        if slot == period { slot = 0 }
        let index = self.index, slot = self.slot
        let oldest = index - period + 1  // first index still in the window
        var highest = self.highest, highIndex = self.highIndex
        var lowest = self.lowest, lowIndex = self.lowIndex
        storage.withUnsafeMutableBufferPointer { buffer in
            buffer[slot] = high
            buffer[period + slot] = low
            if highIndex < oldest {
                (highest, highIndex) = Self.scan(buffer, base: 0, slot: slot, index: index, highest: true)
            } else if high >= highest {
                highest = high
                highIndex = index
            }
            if lowIndex < oldest {
                (lowest, lowIndex) = Self.scan(buffer, base: period, slot: slot, index: index, highest: false)
            } else if low <= lowest {
                lowest = low
                lowIndex = index
            }
        }
        self.highest = highest
        self.highIndex = highIndex
        self.lowest = lowest
        self.lowIndex = lowIndex
    }

    /// The extreme of the window ending at `slot` (the value of `index`), oldest to newest,
    /// later values winning ties.
    private static func scan(
        _ buffer: UnsafeMutableBufferPointer<Double>, base: Int, slot: Int, index: Int, highest: Bool
    ) -> (Double, Int) {
        let period = buffer.count / 2
        let count = min(index + 1, period)
        var s = slot - (count - 1)
        if s < 0 { s += period }
        var best = buffer[base + s]
        var bestIndex = index - (count - 1)
        var i = bestIndex
        while i < index {
            i += 1
            s += 1
            if s == period { s = 0 }
            let x = buffer[base + s]
            if highest ? x >= best : x <= best {
                best = x
                bestIndex = i
            }
        }
        return (best, bestIndex)
    }
}
