import Foundation

/// Temperature scaling: `p_k ∝ p_k^(1/T)`. T > 1 softens an over-confident model, T < 1
/// sharpens an under-confident one; the ranking of the classes never changes. T is fitted on
/// out-of-sample (walk-forward) predictions, so a probability of 0.7 means right about 70 % of
/// the time on data the model did not see.
public enum TemperatureScaling {
    public static func apply(_ p: [Double], temperature: Double) -> [Double] {
        guard temperature.isFinite, temperature > 0, temperature != 1 else { return p }
        let logs = p.map { log(max($0, 1e-12)) / temperature }
        let top = logs.max() ?? 0
        let weights = logs.map { exp($0 - top) }
        let total = weights.reduce(0, +)
        return weights.map { $0 / total }
    }

    /// The temperature in [0.25, 8] that minimises the log loss of `probabilities` against
    /// `labels` (golden-section search on log T; the loss is unimodal in it).
    public static func fit(probabilities: [[Double]], labels: [Int]) -> Double {
        guard !labels.isEmpty else { return 1 }
        func loss(_ logT: Double) -> Double {
            let t = exp(logT)
            var total = 0.0
            for (p, y) in zip(probabilities, labels) { total -= log(max(apply(p, temperature: t)[y], 1e-15)) }
            return total
        }
        var a = log(0.25), b = log(8.0)
        let ratio = (sqrt(5.0) - 1) / 2
        var c = b - ratio * (b - a), d = a + ratio * (b - a)
        var fc = loss(c), fd = loss(d)
        for _ in 0..<40 {
            if fc < fd {
                b = d; d = c; fd = fc
                c = b - ratio * (b - a); fc = loss(c)
            } else {
                a = c; c = d; fc = fd
                d = a + ratio * (b - a); fd = loss(d)
            }
        }
        return exp((a + b) / 2)
    }
}
