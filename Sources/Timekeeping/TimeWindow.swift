/// Which instants count as plausible, relative to a reference clock (normally the receiver's
/// wall clock; a replay or backtest passes its own): at most `maxPast` before it and at most
/// `maxFuture` after it. `nil` leaves that side open.
public struct TimeWindow: Sendable, Equatable {
    /// Nanoseconds an instant may lie before the reference; `nil` is unlimited.
    public var maxPast: Int64?
    /// Nanoseconds an instant may lie after the reference; `nil` is unlimited.
    public var maxFuture: Int64?

    public init(maxPast: Int64?, maxFuture: Int64?) {
        self.maxPast = maxPast.map { max(0, $0) }
        self.maxFuture = maxFuture.map { max(0, $0) }
    }

    /// Accepts every instant.
    public static let unlimited = TimeWindow(maxPast: nil, maxFuture: nil)

    /// Whether `instant` lies in the window around `reference`. Never traps.
    public func contains(_ instant: Int64, reference: Int64) -> Bool {
        if let maxPast, instant < Nanoseconds.subtracting(reference, maxPast) { return false }
        if let maxFuture, instant > Nanoseconds.adding(reference, maxFuture) { return false }
        return true
    }
}
