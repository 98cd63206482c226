import Foundation

/// Drift of the ensemble's predictions against the training distribution, as a population
/// stability index (PSI) over the three classes (down, flat, up): the live share of each
/// predicted class over the last ``window`` decisions against the class balance of the rows
/// the models were trained on (`report.json`'s `class_balance`, written by `tickwire train`).
///
/// PSI = Σ (live − training) × ln(live / training), each share at least ``floor``. Below 0.1
/// is stable; above 0.25 is a shift worth a look (``alertThreshold``).
public struct PredictionDrift: Sendable {
    /// The training share of down, flat and up.
    public let reference: [Double]
    public let window: Int
    /// Decisions before a PSI is given.
    public let minimum: Int
    private var recent: [UInt8]
    private var next = 0
    private var filled = 0
    private var counts = [0, 0, 0]

    /// The PSI above which `model.drift` is raised, and below which it is re-armed.
    public static let alertThreshold = 0.25
    public static let rearmThreshold = 0.1
    /// The least share counted, so that an empty class does not make the index infinite.
    static let floor = 1e-4

    /// Nil unless `balance` has three non-negative finite counts with a positive sum.
    public init?(balance: [Double], window: Int = 500, minimum: Int = 100) {
        guard balance.count == 3, balance.allSatisfy({ $0.isFinite && $0 >= 0 }) else { return nil }
        let total = balance.reduce(0, +)
        guard total > 0, total.isFinite else { return nil }
        reference = balance.map { max($0 / total, Self.floor) }
        self.window = max(1, window)
        self.minimum = max(1, min(minimum, self.window))
        recent = Array(repeating: 0, count: self.window)
    }

    /// Records one decision: the index (0 down, 1 flat, 2 up) of the ensemble's largest
    /// probability; anything else is ignored.
    public mutating func record(predictedClass: Int) {
        guard (0..<3).contains(predictedClass) else { return }
        if filled == window {
            counts[Int(recent[next])] -= 1
        } else {
            filled += 1
        }
        recent[next] = UInt8(predictedClass)
        counts[predictedClass] += 1
        next = (next + 1) % window
    }

    /// The PSI of the last decisions, or nil before ``minimum`` of them.
    public var index: Double? {
        guard filled >= minimum else { return nil }
        var psi = 0.0
        for (count, expected) in zip(counts, reference) {
            let actual = max(Double(count) / Double(filled), Self.floor)
            psi += (actual - expected) * log(actual / expected)
        }
        return psi
    }

    /// The live share of down, flat and up.
    public var shares: [Double] { counts.map { filled == 0 ? 0 : Double($0) / Double(filled) } }

    /// The class balance in `directory/report.json`, or nil when there is none or it is not
    /// three usable counts (the drift index is then off; nothing else depends on it).
    public static func trainingBalance(directory: String) -> [Double]? {
        let path = (directory as NSString).appendingPathComponent("report.json")
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attributes[.size] as? Int, size <= 16 << 20,
            let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let balance = object["class_balance"] as? [String: Any]
        else { return nil }
        let values = ["down", "flat", "up"].map { (balance[$0] as? NSNumber)?.doubleValue ?? -1 }
        return values.allSatisfy { $0 >= 0 && $0.isFinite } ? values : nil
    }
}
