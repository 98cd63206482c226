/// Strictly time-ordered walk-forward validation: the rows are cut into `folds + 1` blocks in
/// time order; fold k trains on everything before block k (less a purge gap of `horizon`
/// rows, whose labels would look into the test block) and tests on block k. No shuffling, no
/// look-ahead; each model (and its scaler) is fitted on the training part only.
public struct WalkForward: Sendable {
    public let folds: Int
    public let purge: Int

    /// The most folds ``init(folds:purge:)`` keeps.
    public static let maxFolds = 1_000

    /// `folds` is clamped to 1...``maxFolds`` and `purge` to at least 0 (``TrainingRun`` refuses
    /// values outside those ranges before it gets here).
    public init(folds: Int, purge: Int) {
        self.folds = min(max(folds, 1), Self.maxFolds)
        self.purge = max(0, purge)
    }

    public struct Split: Sendable, Equatable {
        public var fold: Int
        public var train: Range<Int>
        public var test: Range<Int>
    }

    /// The splits for `count` rows; empty when there are too few rows for one.
    public func splits(count: Int) -> [Split] {
        let block = max(count, 0) / (folds + 1)
        guard block > 10, block - 10 > purge else { return [] }
        return (1...folds).map { k in
            let testStart = k * block
            let testEnd = k == folds ? count : (k + 1) * block
            return Split(fold: k, train: 0..<(testStart - purge), test: testStart..<testEnd)
        }
    }
}
