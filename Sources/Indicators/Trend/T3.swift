/// TA-Lib's T3 (Tillson): six chained EMAs, each seeded with the SMA of its first `period`
/// inputs and updated as `fma(e, 1 - k, k * x)` (TA-Lib's `k*x + (1-k)*e`, FMA-built), combined
/// with TA-Lib's c1...c4 of the volume factor. Lookback `6 * (period - 1)`.
public struct T3: Sendable {
    public let period: Int
    public let volumeFactor: Double
    private let k: Double
    private let oneMinusK: Double
    private let c1: Double, c2: Double, c3: Double, c4: Double
    private var e1 = 0.0, e2 = 0.0, e3 = 0.0, e4 = 0.0, e5 = 0.0, e6 = 0.0
    private var stage = 0        // EMAs seeded so far (0...6)
    private var seedCount = 0    // inputs summed for the EMA being seeded
    private var seedSum = 0.0
    public private(set) var value = Double.nan

    public init(period: Int, volumeFactor: Double = 0.7) {
        precondition(period >= 1, "T3 period must be at least 1")
        self.period = period
        self.volumeFactor = volumeFactor
        k = 2.0 / (Double(period) + 1.0)
        oneMinusK = 1.0 - k
        let v = volumeFactor
        let v2 = v * v
        c1 = 0.0 - v * v2
        c2 = (v2 - c1) * 3.0
        c3 = v2 * -6.0 - (v - c1) * 3.0
        c4 = (1.0.addingProduct(v, 3.0) - c1).addingProduct(3.0, v2)
    }

    public var isReady: Bool { stage == 6 }
    public var lookback: Int { 6 * (period - 1) }

    @discardableResult
    public mutating func update(_ x: Double) -> Double {
        if period == 1 {
            stage = 6
            value = x  // TA-Lib's T3(1) is its input
            return x
        }
        if stage == 6 {
            e1 = (k * x).addingProduct(e1, oneMinusK)
            e2 = (k * e1).addingProduct(e2, oneMinusK)
            e3 = (k * e2).addingProduct(e3, oneMinusK)
            e4 = (k * e3).addingProduct(e4, oneMinusK)
            e5 = (k * e4).addingProduct(e5, oneMinusK)
            e6 = (k * e5).addingProduct(e6, oneMinusK)
            value = combined
            return value
        }
        seedOrUpdate(x)
        return stage == 6 ? value : .nan
    }

    /// Warm-up: runs the seeded EMAs and adds the newest seeded one's output to the next seed.
    private mutating func seedOrUpdate(_ x: Double) {
        var input = x
        for level in 0..<6 {
            if level < stage {
                input = step(level, input)
                continue
            }
            seedSum += input
            seedCount += 1
            guard seedCount == period else { return }
            let seed = seedSum / Double(period)
            set(level, seed)
            stage += 1
            seedSum = 0
            seedCount = 0
            input = seed
        }
        value = combined
    }

    private var combined: Double {
        (c2 * e5).addingProduct(c1, e6).addingProduct(c3, e4).addingProduct(c4, e3)
    }

    private mutating func step(_ level: Int, _ x: Double) -> Double {
        switch level {
        case 0: e1 = (k * x).addingProduct(e1, oneMinusK); return e1
        case 1: e2 = (k * x).addingProduct(e2, oneMinusK); return e2
        case 2: e3 = (k * x).addingProduct(e3, oneMinusK); return e3
        case 3: e4 = (k * x).addingProduct(e4, oneMinusK); return e4
        case 4: e5 = (k * x).addingProduct(e5, oneMinusK); return e5
        default: e6 = (k * x).addingProduct(e6, oneMinusK); return e6
        }
    }

    private mutating func set(_ level: Int, _ seed: Double) {
        switch level {
        case 0: e1 = seed
        case 1: e2 = seed
        case 2: e3 = seed
        case 3: e4 = seed
        case 4: e5 = seed
        default: e6 = seed
        }
    }
}
