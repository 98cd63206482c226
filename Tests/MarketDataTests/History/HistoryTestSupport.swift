import Bars
import Contracts
import Synchronization

// Trades, bars and a hand-moved clock for the bar history's tests (the processor's tests have
// their own).

let second: Int64 = 1_000_000_000
/// 2024-03-14 09:30 New York.
let sessionOpen: Int64 = 1_710_423_000 * second

func trade(_ price: Double, size: Double = 100, id: String = "", provider: String = "sim") -> Trade {
    var trade = Trade()
    trade.symbol = "AAPL"
    trade.price = price
    trade.size = size
    trade.tradeID = id
    trade.provider = provider
    return trade
}

func bar(minute: Int, close: Double, symbol: String = "AAPL", origin: BarOrigin = .live) -> Bar {
    var bar = Bar()
    bar.symbol = symbol
    bar.startTimeNs = sessionOpen + Int64(minute) * 60 * second
    bar.endTimeNs = bar.startTimeNs + 60 * second
    bar.open = close - 0.1
    bar.high = close + 0.5
    bar.low = close - 0.6
    bar.close = close
    bar.volume = 1_000 + Double(minute % 7) * 100
    bar.origin = origin
    return bar
}

/// Bars every one of which `Bar.problem` refuses: inverted, empty and huge spans, times out of
/// range, NaN, infinite or negative prices and volumes, high below low.
func hostileHistoryBars() -> [(String, Bar, BarProblem)] {
    func make(_ change: (inout Bar) -> Void) -> Bar {
        var value = bar(minute: 0, close: 10)
        change(&value)
        return value
    }
    return [
        ("end before start", make { $0.endTimeNs = $0.startTimeNs - 1 }, .span),
        ("end equal to start", make { $0.endTimeNs = $0.startTimeNs }, .span),
        ("a 400-day span", make { $0.endTimeNs = $0.startTimeNs + 400 * day }, .span),
        ("Int64.min to Int64.max", make { $0.startTimeNs = .min; $0.endTimeNs = .max }, .timeRange),
        ("ends at Int64.max", make { $0.endTimeNs = .max }, .timeRange),
        ("NaN close", make { $0.close = .nan }, .price),
        ("infinite high", make { $0.high = .infinity }, .price),
        ("1e300 open", make { $0.open = 1e300 }, .price),
        ("high below low", make { $0.high = $0.low - 1 }, .price),
        ("NaN volume", make { $0.volume = .nan }, .volume),
        ("infinite volume", make { $0.volume = .infinity }, .volume),
        ("negative volume", make { $0.volume = -1 }, .volume),
        ("1e20 volume", make { $0.volume = 1e20 }, .volume),
    ]
}

/// A reference clock a test moves by hand (UTC nanoseconds).
final class TestTime: Sendable {
    private let value: Mutex<Int64>
    init(_ now: Int64) { value = Mutex(now) }
    var now: Int64 { value.withLock { $0 } }
    func advance(seconds: Int64) { value.withLock { $0 += seconds * second } }
    var clock: ReferenceClock { .replay { self.now } }
}
