import Contracts
import Foundation
import Models

/// Turns an ensemble distribution into an action, a confidence and a position.
public struct SignalPolicy: Sendable {
    public var threshold: Double
    public var capital: Double
    public var riskPerTrade: Double
    public var atrStopMultiple: Double
    public var maxPositionFraction: Double

    public init(threshold: Double, capital: Double, riskPerTrade: Double, atrStopMultiple: Double, maxPositionFraction: Double) {
        self.threshold = threshold
        self.capital = capital
        self.riskPerTrade = riskPerTrade
        self.atrStopMultiple = atrStopMultiple
        self.maxPositionFraction = maxPositionFraction
    }

    public struct Decision: Sendable, Equatable {
        public var action: Action
        /// The probability of the chosen direction (for HOLD: of not moving beyond the dead zone
        /// in the direction that was closest to the threshold).
        public var confidence: Double
        public var stopLoss: Double
        public var shares: Double
        public var positionFraction: Double
        public var riskAmount: Double
    }

    /// BUY when P(up) ≥ threshold, SELL when P(down) ≥ threshold, otherwise HOLD. The stop is
    /// `atr_stop_multiple` ATRs away; the size risks `risk_per_trade` of capital at the stop,
    /// capped at `max_position_fraction` of capital. Fractional shares, so any price works.
    ///
    /// Never traps and never sizes from bad numbers: a distribution that is not three finite
    /// probabilities is a HOLD, and a price or ATR that is not a finite positive number, or a
    /// size that would not be finite, gives no position (0 shares, no stop).
    public func decide(probabilities p: [Double], price: Double, atr: Double) -> Decision {
        guard p.count == Direction.count, p.allSatisfy(\.isFinite) else {
            return Decision(action: .hold, confidence: 0, stopLoss: 0, shares: 0, positionFraction: 0, riskAmount: 0)
        }
        let down = p[Direction.down.rawValue], up = p[Direction.up.rawValue]
        let action: Action
        let confidence: Double
        if up >= threshold && up >= down {
            action = .buy
            confidence = up
        } else if down >= threshold {
            action = .sell
            confidence = down
        } else {
            action = .hold
            confidence = 1 - max(up, down)
        }
        let noPosition = Decision(action: action, confidence: confidence, stopLoss: 0, shares: 0, positionFraction: 0, riskAmount: 0)
        guard action != .hold, price.isFinite, price > 0, atr.isFinite, atr > 0, capital > 0 else { return noPosition }
        let distance = atrStopMultiple * atr
        let stop = action == .buy ? max(price - distance, 0) : price + distance
        var shares = capital * riskPerTrade / distance
        shares = min(shares, capital * maxPositionFraction / price)
        let decision = Decision(
            action: action, confidence: confidence, stopLoss: stop, shares: shares,
            positionFraction: shares * price / capital, riskAmount: shares * distance)
        guard distance > 0, [stop, shares, decision.positionFraction, decision.riskAmount].allSatisfy(\.isFinite) else {
            return noPosition
        }
        return decision
    }
}
