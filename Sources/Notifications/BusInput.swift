import Contracts

/// The notifier's own checks of what it takes from the bus, in depth behind the envelope
/// validation: a value no real producer sends is refused (and counted as
/// `rejected.<reason>`), never rendered or used in arithmetic.
enum BusInput {
    /// Prices and stops above this are not prices.
    static let maximumPrice = 1e12
    static let maximumShares = 1e15

    /// Why `signal` cannot be a real signal, or nil when it is plausible: the reason names the
    /// counter (`signal_symbol`, `signal_value`).
    static func rejection(_ signal: Signal) -> String? {
        do {
            try Topic.validate(key: signal.symbol)
        } catch {
            return "signal_symbol"
        }
        let ranges: [(Double, ClosedRange<Double>)] = [
            (signal.confidence, 0...1), (signal.suggestedPositionSize, 0...1),
            (signal.price, 0...maximumPrice), (signal.stopLoss, 0...maximumPrice),
            (signal.shares, 0...maximumShares), (signal.riskAmount, 0...maximumPrice * maximumShares),
        ]
        // NaN is in no range.
        guard ranges.allSatisfy({ $0.1.contains($0.0) }) else { return "signal_value" }
        for vote in signal.votes.prefix(Render.votesShown) {
            guard (0...1).contains(vote.probability), vote.weight.isFinite else { return "signal_value" }
        }
        return nil
    }
}
