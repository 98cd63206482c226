import Foundation

/// One ticker's simulated account: cash, at most one position, and the fill rules of
/// ``BacktestSettings``. Fed bar by bar; pure (no I/O).
struct Account {
    /// An order waiting for the next bar's open.
    enum Order: Equatable {
        case enter(side: BacktestResult.Trade.Side, shares: Double, stop: Double, confidence: Double)
        case exit(BacktestResult.Trade.ExitReason)
    }

    struct Position {
        var side: BacktestResult.Trade.Side
        var shares: Double
        var entryTime: Date
        var entryPrice: Double
        var entryCommission: Double
        var stop: Double
        var target: Double
        var confidence: Double
        var bars = 0
    }

    let symbol: String
    let settings: BacktestSettings
    private(set) var cash: Double
    private(set) var position: Position?
    private(set) var trades: [BacktestResult.Trade] = []
    private var pending: [Order] = []
    /// Set when equity reached zero: no more trading.
    private(set) var ruined = false

    init(symbol: String, settings: BacktestSettings) {
        self.symbol = symbol
        self.settings = settings
        cash = settings.capital
    }

    /// Cash plus the position at `price`.
    func equity(at price: Double) -> Double {
        guard let position else { return cash }
        let signed = position.side == .long ? position.shares : -position.shares
        return cash + signed * price
    }

    var inMarket: Bool { position != nil }

    // MARK: A bar

    /// The start of a bar: pending next-open orders fill at its open, then the open
    /// position's stop and target are checked against its range (stop first when both).
    mutating func open(bar: BacktestResult.PricePoint) {
        let orders = pending
        pending = []
        for order in orders {
            switch order {
            case .exit(let reason): close(at: bar.open, time: bar.time, reason: reason)
            case .enter(let side, let shares, let stop, let confidence):
                enter(side: side, shares: shares, stop: stop, confidence: confidence, at: bar.open, time: bar.time)
            }
        }
        checkStops(bar: bar)
    }

    /// The end of a bar: the position ages; a time exit is ordered when it is due.
    mutating func close(bar: BacktestResult.PricePoint) {
        guard var position else { return }
        position.bars += 1
        self.position = position
        if settings.holdBars > 0, position.bars >= settings.holdBars {
            order(.exit(.time), bar: bar)
        }
        if equity(at: bar.close) <= 0 {
            close(at: bar.close, time: bar.time, reason: .end)
            ruined = true
        }
    }

    /// Acts on a signal made at `bar`'s close: `action` BUY, SELL or HOLD; `shares` and
    /// `stop` from the signal (0 shares: no position can be sized).
    mutating func signal(action: String, shares: Double, stop: Double, confidence: Double, bar: BacktestResult.PricePoint) {
        guard !ruined else { return }
        let wanted: BacktestResult.Trade.Side?
        switch action {
        case "BUY": wanted = .long
        case "SELL": wanted = settings.longOnly ? nil : .short
        default: return
        }
        // An opposite position (any position, for a long-only SELL) closes first; one in the
        // signal's direction stays as it is.
        if let position {
            if position.side == wanted { return }
            order(.exit(.signal), bar: bar)
        }
        guard let wanted, shares > 0, shares.isFinite else { return }
        let size = settings.wholeShares ? shares.rounded(.down) : shares
        guard size > 0 else { return }
        order(.enter(side: wanted, shares: size, stop: settings.useStops ? stop : 0, confidence: confidence), bar: bar)
    }

    /// Closes what is open at the last bar.
    mutating func finish(bar: BacktestResult.PricePoint) {
        pending = []
        close(at: bar.close, time: bar.time, reason: .end)
    }

    // MARK: Fills

    private mutating func order(_ order: Order, bar: BacktestResult.PricePoint) {
        switch settings.fill {
        case .nextOpen:
            // An exit replaces a time exit already queued; entries queue after exits.
            if case .exit = order, pending.contains(where: { if case .exit = $0 { true } else { false } }) { return }
            pending.append(order)
        case .close:
            switch order {
            case .exit(let reason): close(at: bar.close, time: bar.time, reason: reason)
            case .enter(let side, let shares, let stop, let confidence):
                enter(side: side, shares: shares, stop: stop, confidence: confidence, at: bar.close, time: bar.time)
            }
        }
    }

    /// The price a market order gets: worse by the slippage.
    private func filled(_ price: Double, buying: Bool) -> Double {
        buying ? price * (1 + settings.slippage) : price * (1 - settings.slippage)
    }

    private mutating func enter(
        side: BacktestResult.Trade.Side, shares: Double, stop: Double, confidence: Double, at price: Double, time: Date
    ) {
        guard position == nil, price.isFinite, price > 0 else { return }
        let fill = filled(price, buying: side == .long)
        // Never more than the account can pay for (longs) or cover (shorts) at this price.
        let affordable = max(0, equity(at: price)) / (fill * (1 + settings.commission))
        // `positionFraction` sizes at the fill, commission included, as backtesting.py's
        // `size=<fraction>` does (the signal's own share count was made at its close).
        let wanted =
            settings.positionFraction > 0
            ? max(0, equity(at: price)) * settings.positionFraction / (fill * (1 + settings.commission)) : shares
        var size = min(wanted, affordable)
        if settings.wholeShares { size = size.rounded(.down) }
        guard size > 0, size.isFinite else { return }
        let commission = size * fill * settings.commission
        cash -= commission
        cash += side == .long ? -size * fill : size * fill
        // The stop keeps its distance from the signal's price when the fill is elsewhere;
        // a stop on the wrong side of the fill (a gap through it) triggers at once.
        var target = 0.0
        if stop > 0, settings.takeProfit > 0 {
            let distance = abs(price - stop)
            target = side == .long ? fill + settings.takeProfit * distance : max(0, fill - settings.takeProfit * distance)
        }
        position = Position(
            side: side, shares: size, entryTime: time, entryPrice: fill, entryCommission: commission, stop: stop,
            target: target, confidence: confidence)
    }

    private mutating func close(at price: Double, time: Date, reason: BacktestResult.Trade.ExitReason, slip: Bool = true) {
        guard let position, price.isFinite, price > 0 else { return }
        let fill = slip ? filled(price, buying: position.side == .short) : price
        let commission = position.shares * fill * settings.commission
        cash -= commission
        cash += position.side == .long ? position.shares * fill : -position.shares * fill
        let gross = position.side == .long ? (fill - position.entryPrice) : (position.entryPrice - fill)
        let profit = gross * position.shares - commission - position.entryCommission
        let value = position.shares * position.entryPrice
        trades.append(
            BacktestResult.Trade(
                symbol: symbol, side: position.side, entryTime: position.entryTime, entryPrice: position.entryPrice,
                exitTime: time, exitPrice: fill, shares: position.shares, commission: commission + position.entryCommission,
                profit: profit, returnFraction: value > 0 ? profit / value : 0, exitReason: reason,
                confidence: position.confidence, stop: position.stop, target: position.target))
        self.position = nil
    }

    /// Stop and target inside one bar. A stop fills at its trigger plus slippage, or at the
    /// open plus slippage when the bar opened beyond it; a target at its price, or at the open
    /// when it opened beyond. Both inside the bar: the stop.
    private mutating func checkStops(bar: BacktestResult.PricePoint) {
        guard let position else { return }
        let long = position.side == .long
        if position.stop > 0 {
            let hit = long ? bar.low <= position.stop : bar.high >= position.stop
            if hit {
                let gapped = long ? bar.open < position.stop : bar.open > position.stop
                close(at: gapped ? bar.open : position.stop, time: bar.time, reason: .stop)
                return
            }
        }
        if position.target > 0 {
            let hit = long ? bar.high >= position.target : bar.low <= position.target
            if hit {
                let gapped = long ? bar.open > position.target : bar.open < position.target
                close(at: gapped ? bar.open : position.target, time: bar.time, reason: .target, slip: false)
            }
        }
    }
}
