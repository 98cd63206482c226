import Contracts
import ServiceKit

/// The signal generator's model series: every model's votes by action, its live accuracy and
/// its weight in the ensemble, and the prediction drift index (models capped at 64 names).
struct ModelMetrics: Sendable {
    let buy, sell, hold: KeyedCounter
    let accuracy: KeyedGauge
    let weight: KeyedGauge
    let drift: KeyedGauge

    init(service: String, instance: String) {
        let labels = [("service", service), ("instance", instance)]
        func votes(_ action: String) -> KeyedCounter {
            KeyedCounter(
                metric: "model_votes", labels: labels + [("action", action)], keyLabel: "model",
                help: "Each model's votes, by the action it voted for.", capacity: 64)
        }
        buy = votes("buy")
        sell = votes("sell")
        hold = votes("hold")
        accuracy = KeyedGauge(
            metric: "model_accuracy", labels: labels, keyLabel: "model",
            help: "Each model's decayed accuracy on live outcomes (its validation accuracy until outcomes arrive).",
            capacity: 64)
        weight = KeyedGauge(
            metric: "model_weight", labels: labels, keyLabel: "model", help: "Each model's weight in the ensemble.",
            capacity: 64)
        drift = KeyedGauge(
            metric: "model_drift_psi", labels: labels, keyLabel: "of",
            help: "Population stability index of the ensemble's predicted classes (last 500) against the training class balance.",
            capacity: 4)
    }

    /// Counts the votes of one decision and sets each model's accuracy and weight.
    func record(_ votes: [ModelVote]) {
        for vote in votes {
            switch vote.action {
            case .buy: buy.increment(vote.model)
            case .sell: sell.increment(vote.model)
            default: hold.increment(vote.model)
            }
            if vote.liveAccuracy > 0 { accuracy.set(vote.model, vote.liveAccuracy) }
            weight.set(vote.model, vote.weight)
        }
    }
}
