/// TA-Lib's KAMA (fast 2, slow 30): seeded with the previous close as the prior KAMA; the
/// efficiency ratio's sum of 1-bar moves is a running sum, except that after `period` exactly
/// flat bars TA-Lib 0.6 resets it to 0 and uses a ratio of 1; FMA-built like TA-Lib's wheel.
/// Lookback `period` (0 when `period` is 1).
public struct KAMA: Sendable {
    public let period: Int
    private var window: LagWindow           // the last period + 2 values
    private let slowest = 2.0 / (30.0 + 1.0)
    private let spread = 2.0 / (2.0 + 1.0) - 2.0 / (30.0 + 1.0)
    private var moves = 0.0                 // sum of |x[i] - x[i-1]| over the last `period` moves
    private var flatRun = 0                 // consecutive exactly-zero moves, capped at period
    private var previous = 0.0
    private var seen = 0
    public private(set) var value = Double.nan

    public init(period: Int) {
        precondition(period >= 1, "KAMA period must be at least 1")
        self.period = period
        window = LagWindow(span: period + 1)
    }

    public var isReady: Bool { seen > lookback }
    /// TA-Lib's: `period`, but 0 for KAMA(1), which is its input.
    public var lookback: Int { period == 1 ? 0 : period }

    @discardableResult
    public mutating func update(_ x: Double) -> Double {
        window.push(x)
        return update(x, history: window)
    }

    /// Feeds `x`, reading past values from `history`: a window whose newest value is `x`,
    /// holding every value fed here, with `span >= period + 1`.
    @discardableResult
    public mutating func update(_ x: Double, history: borrowing LagWindow) -> Double {
        seen += 1
        if period == 1 {
            value = x  // TA-Lib's KAMA(1) is its input
            return x
        }
        defer { previous = x }
        if seen == 1 { return .nan }
        let move = x - previous
        let ratio: Double
        if seen <= period + 1 {
            moves += abs(move)
            flatRun = move == 0 ? flatRun + 1 : 0
            guard seen == period + 1 else { return .nan }
            ratio = Self.efficiency(change: x - history[period], moves: moves)
            value = previous
        } else {
            if move == 0 { flatRun += 1 } else { flatRun = 0 }
            if flatRun >= period {
                flatRun = period
                moves = 0
                ratio = 1.0
            } else {
                let start = history[period]
                moves = abs(move) + (moves - abs(history[period + 1] - start))
                ratio = Self.efficiency(change: x - start, moves: moves)
            }
        }
        var smoothing = slowest.addingProduct(ratio, spread)
        smoothing *= smoothing
        value = value.addingProduct(smoothing, x - value)
        return value
    }

    @inline(__always)
    private static func efficiency(change: Double, moves: Double) -> Double {
        if moves <= 0 || change >= moves { return 1.0 }
        let ratio = abs(change / moves)
        return 1.0 < ratio ? 1.0 : ratio
    }
}
