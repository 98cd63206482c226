/// TA-Lib's `CCI`: typical price `(high + low + close) / 3`, its `period` mean and mean absolute
/// deviation (both summed in TA-Lib's circular-buffer slot order), then
/// `(tp - mean) / (0.015 * deviation)`; 0 when `tp - mean` or the deviation is within
/// `|mean| * 1e-14` of zero. O(period) per bar. Lookback `period - 1`.
public struct CommodityChannelIndex: Sendable {
    public let period: Int
    private let divisor: Double
    private var slots: ContiguousArray<Double>
    private var slot = 0
    private var filled = 0

    public init(period: Int = 14) {
        precondition(period >= 2, "CCI period must be at least 2")
        self.period = period
        divisor = Double(period)
        slots = ContiguousArray(repeating: 0, count: period)
    }

    public var isReady: Bool { filled >= period }
    public var lookback: Int { period - 1 }

    public mutating func update(high: Double, low: Double, close: Double) -> Double {
        update(typicalPrice: (high + low + close) / 3)
    }

    /// Feeds `(high + low + close) / 3` computed elsewhere.
    mutating func update(typicalPrice tp: Double) -> Double {
        let divisor = self.divisor
        return slots.withUnsafeMutableBufferPointer { buffer -> Double in
            buffer[slot] = tp
            slot += 1
            if slot == buffer.count { slot = 0 }
            if filled < buffer.count {
                filled += 1
                if filled < buffer.count { return .nan }
            }
            var mean = 0.0
            for x in buffer { mean += x }
            mean /= divisor
            var deviation = 0.0
            for x in buffer { deviation += abs(x - mean) }
            let distance = tp - mean
            let tolerance = abs(mean) * 1e-14
            if tolerance >= abs(distance) { return 0.0 }
            deviation /= divisor
            if tolerance >= abs(deviation) { return 0.0 }
            let scaled = deviation * 0.015
            return scaled == 0 ? 0.0 : distance / scaled
        }
    }
}
