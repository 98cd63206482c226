/// TA-Lib's BBANDS with an SMA middle band and equal up/down multipliers, as TA-Lib 0.6
/// computes it: the middle is the running-sum SMA; the deviation comes from running sums of
/// `x - shift` and `(x - shift)^2`, re-centred on the window mean (and rebuilt from the window)
/// every `32 * period` bars or when cancellation threatens. Lookback `period - 1`.
public struct BollingerBands: Sendable {
    public let period: Int
    public let deviations: Double
    private var window: LagWindow
    private let inversePeriod: Double
    private let resyncInterval: Int
    private var countdown: Int
    private var shift = 0.0
    private var sum = 0.0               // plain running sum: the SMA
    private var shiftedSum = 0.0        // sum of x - shift
    private var shiftedSquares = 0.0    // sum of (x - shift)^2
    private var seen = 0
    public private(set) var upper = Double.nan
    public private(set) var middle = Double.nan
    public private(set) var lower = Double.nan

    public init(period: Int, deviations: Double) {
        precondition(period >= 2, "BBANDS period must be at least 2")
        self.period = period
        self.deviations = deviations
        window = LagWindow(span: period)
        inversePeriod = 1.0 / Double(period)
        resyncInterval = 32 * period
        countdown = 32 * period
    }

    public var isReady: Bool { seen >= period }
    public var lookback: Int { period - 1 }

    @discardableResult
    public mutating func update(_ x: Double) -> (upper: Double, middle: Double, lower: Double) {
        window.push(x)
        return update(x, history: window)
    }

    /// Feeds `x`, reading past values from `history`: a window whose newest value is `x`,
    /// holding every value fed here, with `span >= period - 1`.
    @discardableResult
    public mutating func update(_ x: Double, history: borrowing LagWindow) -> (upper: Double, middle: Double, lower: Double) {
        seen += 1
        if seen == 1 { shift = x }
        sum = x + sum
        let d = x - shift
        shiftedSum = d + shiftedSum
        shiftedSquares = d * d + shiftedSquares
        guard seen >= period else { return (.nan, .nan, .nan) }

        let meanShift = shiftedSum * inversePeriod
        var variance = shiftedSquares * inversePeriod - meanShift * meanShift
        middle = sum / Double(period)

        let trailing = history[period - 1]
        sum -= trailing
        var trailingShifted = trailing - shift
        let trailingSquare = trailingShifted * trailingShifted
        shiftedSquares -= trailingSquare

        var deviation: Double
        var rebuild = shiftedSquares * inversePeriod * 1e-6 > variance || trailingSquare > shiftedSquares * 1e6
        if !rebuild {
            countdown -= 1
            rebuild = countdown == 0
        }
        if rebuild {
            // Rebuild around the window's mean.
            var total = 0.0
            for age in stride(from: period - 1, through: 0, by: -1) { total += history[age] }
            shift = total * inversePeriod
            shiftedSum = 0
            shiftedSquares = 0
            for age in stride(from: period - 1, through: 0, by: -1) {
                let e = history[age] - shift
                shiftedSum += e
                shiftedSquares += e * e
            }
            let mean = shiftedSum * inversePeriod
            let meanSquare = shiftedSquares * inversePeriod
            variance = meanSquare - mean * mean
            let negligible = meanSquare * 1e-12 > variance
            trailingShifted = trailing - shift
            shiftedSum -= trailingShifted
            shiftedSquares -= trailingShifted * trailingShifted
            countdown = resyncInterval
            deviation = negligible || variance == 0 ? 0 : variance.squareRoot()
        } else {
            shiftedSum -= trailingShifted
            deviation = variance == 0 ? 0 : variance.squareRoot()
        }
        deviation *= deviations
        upper = middle + deviation
        lower = middle - deviation
        return (upper, middle, lower)
    }
}
