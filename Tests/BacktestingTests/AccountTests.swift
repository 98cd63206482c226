@testable import Backtesting
import Foundation
import Testing

private func bar(_ day: Int, open: Double, high: Double, low: Double, close: Double) -> BacktestResult.PricePoint {
    BacktestResult.PricePoint(time: Date(timeIntervalSince1970: Double(day) * 86_400), open: open, high: high, low: low, close: close)
}

private func settings(_ change: (inout BacktestSettings) -> Void = { _ in }) -> BacktestSettings {
    var settings = BacktestSettings()
    settings.capital = 10_000
    settings.commission = 0.001
    settings.slippage = 0.01
    change(&settings)
    return settings
}

/// Runs bars through an account as the backtest does: open, age, then the signal at the close.
private func run(_ account: inout Account, _ bars: [(BacktestResult.PricePoint, String?)], shares: Double = 10, stop: Double = 0) {
    for (point, action) in bars {
        account.open(bar: point)
        account.close(bar: point)
        if let action { account.signal(action: action, shares: shares, stop: stop, confidence: 0.8, bar: point) }
    }
}

@Suite("Backtest fills: every rule of BacktestSettings, by hand")
struct AccountTests {
    @Test("next_open: a BUY fills at the next open plus slippage, pays commission both ways; the SELL reverses to short")
    func nextOpen() throws {
        var account = Account(symbol: "X", settings: settings { $0.useStops = false })
        run(&account, [
            (bar(0, open: 100, high: 101, low: 99, close: 100), "BUY"),
            (bar(1, open: 102, high: 105, low: 101, close: 104), nil),
            (bar(2, open: 106, high: 107, low: 105, close: 106), "SELL"),
            (bar(3, open: 110, high: 111, low: 109, close: 110), nil),
        ])
        let trade = try #require(account.trades.first)
        #expect(trade.side == .long)
        #expect(trade.entryPrice == 102 * 1.01)
        #expect(trade.exitPrice == 110 * 0.99)
        #expect(trade.entryTime == bar(1, open: 0, high: 0, low: 0, close: 0).time)
        #expect(trade.exitReason == .signal)
        let commission = 10 * 102 * 1.01 * 0.001 + 10 * 110 * 0.99 * 0.001
        #expect(abs(trade.commission - commission) < 1e-9)
        #expect(abs(trade.profit - ((110 * 0.99 - 102 * 1.01) * 10 - commission)) < 1e-9)
        // The SELL opened a short at the same open.
        #expect(account.position?.side == .short)
        #expect(account.position?.entryPrice == 110 * 0.99)
        // Equity is cash plus the position at the price: the books balance.
        let cash = 10_000 + trade.profit - 10 * 110 * 0.99 * 0.001 + 10 * 110 * 0.99
        #expect(abs(account.equity(at: 110) - (cash - 10 * 110)) < 1e-9)
    }

    @Test("close: fills at the decision bar's close")
    func close() throws {
        var account = Account(symbol: "X", settings: settings { $0.fill = .close; $0.slippage = 0; $0.useStops = false })
        run(&account, [
            (bar(0, open: 100, high: 101, low: 99, close: 100), "BUY"),
            (bar(1, open: 102, high: 105, low: 101, close: 104), "SELL"),
        ])
        let trade = try #require(account.trades.first)
        #expect(trade.entryPrice == 100 && trade.exitPrice == 104)
    }

    @Test("a stop fills at its trigger minus slippage, not at the bar's low; on a gap, at the open")
    func stops() throws {
        var account = Account(symbol: "X", settings: settings())
        run(&account, [
            (bar(0, open: 100, high: 101, low: 99, close: 100), "BUY"),
            (bar(1, open: 100, high: 101, low: 90, close: 95), nil),
        ], stop: 97)
        let stopped = try #require(account.trades.first)
        #expect(stopped.exitReason == .stop)
        #expect(stopped.exitPrice == 97 * 0.99, "the trigger plus slippage, not the low of 90")
        #expect(stopped.exitTime == bar(1, open: 0, high: 0, low: 0, close: 0).time, "stopped in the bar it entered")

        var gapped = Account(symbol: "X", settings: settings())
        run(&gapped, [
            (bar(0, open: 100, high: 101, low: 99, close: 100), "BUY"),
            (bar(1, open: 100, high: 101, low: 99, close: 100), nil),
            (bar(2, open: 90, high: 92, low: 88, close: 91), nil),
        ], stop: 97)
        #expect(gapped.trades.first?.exitPrice == 90 * 0.99, "opened below the stop: the open plus slippage")
    }

    @Test("stop and target in one bar: the stop; a target fills at its price, or the open on a gap")
    func stopAndTarget() throws {
        var both = Account(symbol: "X", settings: settings { $0.takeProfit = 1; $0.slippage = 0 })
        run(&both, [
            (bar(0, open: 100, high: 100, low: 100, close: 100), "BUY"),
            (bar(1, open: 100, high: 100, low: 100, close: 100), nil),
            (bar(2, open: 100, high: 120, low: 80, close: 100), nil),
        ], stop: 95)
        #expect(both.trades.first?.exitReason == .stop)
        #expect(both.trades.first?.exitPrice == 95)

        var target = Account(symbol: "X", settings: settings { $0.takeProfit = 1; $0.slippage = 0 })
        run(&target, [
            (bar(0, open: 100, high: 100, low: 100, close: 100), "BUY"),
            (bar(1, open: 100, high: 100, low: 100, close: 100), nil),
            (bar(2, open: 101, high: 106, low: 100, close: 103), nil),
        ], stop: 95)
        #expect(target.trades.first?.exitReason == .target)
        #expect(target.trades.first?.exitPrice == 105, "entry 100 + 1 × the stop distance of 5")

        var gap = Account(symbol: "X", settings: settings { $0.takeProfit = 1; $0.slippage = 0 })
        run(&gap, [
            (bar(0, open: 100, high: 100, low: 100, close: 100), "BUY"),
            (bar(1, open: 100, high: 100, low: 100, close: 100), nil),
            (bar(2, open: 110, high: 112, low: 109, close: 111), nil),
        ], stop: 95)
        #expect(gap.trades.first?.exitPrice == 110, "opened above the target: filled at the open")
    }

    @Test("long only: SELL closes and never shorts; HOLD changes nothing; no pyramiding")
    func longOnly() throws {
        var account = Account(symbol: "X", settings: settings { $0.longOnly = true; $0.useStops = false })
        run(&account, [
            (bar(0, open: 100, high: 100, low: 100, close: 100), "BUY"),
            (bar(1, open: 100, high: 100, low: 100, close: 100), "BUY"),
            (bar(2, open: 100, high: 100, low: 100, close: 100), "HOLD"),
            (bar(3, open: 100, high: 100, low: 100, close: 100), "SELL"),
            (bar(4, open: 100, high: 100, low: 100, close: 100), "SELL"),
            (bar(5, open: 100, high: 100, low: 100, close: 100), nil),
        ])
        #expect(account.trades.count == 1)
        #expect(account.trades.first?.shares == 10)
        #expect(account.position == nil)
    }

    @Test("hold bars: a time exit after N bars; whole shares round down; never more than the account can pay")
    func timeExitAndSizing() throws {
        var account = Account(symbol: "X", settings: settings { $0.holdBars = 2; $0.wholeShares = true; $0.useStops = false; $0.slippage = 0 })
        run(&account, [
            (bar(0, open: 100, high: 100, low: 100, close: 100), "BUY"),
            (bar(1, open: 100, high: 100, low: 100, close: 100), nil),
            (bar(2, open: 100, high: 100, low: 100, close: 100), nil),
            (bar(3, open: 100, high: 100, low: 100, close: 100), nil),
        ], shares: 7.9)
        #expect(account.trades.first?.exitReason == .time)
        #expect(account.trades.first?.shares == 7)
        #expect(account.trades.first?.exitTime == bar(3, open: 0, high: 0, low: 0, close: 0).time)

        var rich = Account(symbol: "X", settings: settings { $0.useStops = false; $0.slippage = 0 })
        run(&rich, [
            (bar(0, open: 100, high: 100, low: 100, close: 100), "BUY"),
            (bar(1, open: 100, high: 100, low: 100, close: 100), nil),
        ], shares: 1_000_000)
        let size = try #require(rich.position?.shares)
        #expect(size * 100 * 1.001 <= 10_000 + 1e-6)
    }

    @Test("hostile prices and sizes never trap or trade")
    func hostile() {
        var account = Account(symbol: "X", settings: settings())
        for value in [Double.nan, .infinity, -1, 0, 1e308] {
            run(&account, [(bar(0, open: value, high: value, low: value, close: value), "BUY")], shares: value, stop: value)
        }
        account.finish(bar: bar(1, open: .nan, high: .nan, low: .nan, close: .nan))
        #expect(account.equity(at: 100).isFinite)
    }
}
