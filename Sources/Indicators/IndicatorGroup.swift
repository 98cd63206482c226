/// A block of indicator columns updated together, one bar at a time.
///
/// Groups are plain structs held by `IndicatorSet`, so updates are statically dispatched.
/// Every column is TA-Lib's function of the same name and parameters (or documented where
/// TA-Lib has none); a column is NaN until its indicator is ready.
public protocol IndicatorGroup: Sendable {
    /// Column names, in the order `update` writes them.
    static var columns: [String] { get }
    /// Feeds one bar and writes one value per column into `out` (`out.count == columns.count`).
    /// Must not allocate.
    mutating func update(_ bar: OHLCV, into out: UnsafeMutableBufferPointer<Double>)
}
