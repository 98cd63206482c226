import Foundation
import Timekeeping

/// A time bar built from trades: OHLCV, VWAP and the trade count over `[start, end)`.
public struct BuiltBar: Sendable, Equatable {
    public var start: Int64          // UTC nanoseconds
    public var end: Int64
    public var open: Double
    public var high: Double
    public var low: Double
    public var close: Double
    public var volume: Double
    /// Volume-weighted average price; the plain average of prices when no trade had a size.
    public var vwap: Double
    public var tradeCount: Int
    var priceVolume = 0.0
    var priceSum = 0.0
    var firstTradeTime = Int64.max
    var lastTradeTime = Int64.min

    public init(
        start: Int64, end: Int64, open: Double, high: Double, low: Double, close: Double,
        volume: Double, vwap: Double, tradeCount: Int
    ) {
        self.start = start
        self.end = end
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.vwap = vwap
        self.tradeCount = tradeCount
    }

    /// The bar as indicator input, stamped with its end.
    public var ohlcv: OHLCV { OHLCV(time: end, open: open, high: high, low: low, close: close, volume: volume) }

    public static func == (a: BuiltBar, b: BuiltBar) -> Bool {
        a.start == b.start && a.end == b.end && a.open == b.open && a.high == b.high && a.low == b.low
            && a.close == b.close && a.volume == b.volume && a.vwap == b.vwap && a.tradeCount == b.tradeCount
    }
}

/// Where bars start: multiples of the interval counted from local midnight in the exchange's
/// time zone, so 60-minute bars start on the hour and daily bars at the exchange's midnight,
/// whatever the UTC offset.
///
/// Total: an interval outside `1...BarTime.maxIntervalNs` is clamped into it, and a time
/// outside ``BarTime``'s range is taken as that range's nearest end, so no input traps.
public struct BarAlignment: Sendable {
    public let intervalNs: Int64
    public let timeZone: TimeZone
    private var dayStart = Int64.max
    private var dayEnd = Int64.min
    private var offsetNs: Int64 = 0

    /// - Parameter intervalNs: the bar length, clamped into `1...BarTime.maxIntervalNs`.
    public init(intervalNs: Int64, timeZone: TimeZone) {
        self.intervalNs = BarTime.clampedInterval(intervalNs)
        self.timeZone = timeZone
    }

    /// The start of the bar that contains `time` (clamped into ``BarTime``'s range first).
    public mutating func start(of time: Int64) -> Int64 {
        let time = BarTime.clamped(time)
        if !(time >= dayStart && time < dayEnd) { refresh(for: time) }
        // In range, `time ± offset ± interval` stays far from Int64's ends; saturating anyway.
        let local = Nanoseconds.adding(time, offsetNs)
        let floored = Nanoseconds.floor(local, toMultipleOf: intervalNs) ?? local
        return Nanoseconds.subtracting(floored, offsetNs)
    }

    /// Caches the UTC offset for the local day around `time` (offsets change only at DST
    /// transitions, in the small hours). `time` is in ``BarTime``'s range.
    private mutating func refresh(for time: Int64) {
        let date = Date(timeIntervalSince1970: Nanoseconds.seconds(time))
        let offset = Nanoseconds.multiplying(Int64(timeZone.secondsFromGMT(for: date)), Nanoseconds.perSecond)
        offsetNs = offset
        let local = Nanoseconds.adding(time, offset)
        let localMidnight = Nanoseconds.floor(local, toMultipleOf: Nanoseconds.perDay) ?? local
        dayStart = Nanoseconds.subtracting(localMidnight, offset)
        dayEnd = Nanoseconds.adding(dayStart, Nanoseconds.perDay)
    }
}

/// Builds time bars from trades, in order or not.
///
/// A trade lands in the bar its time falls in, even if it arrives late, as long as that bar
/// has not closed. A bar closes once the watermark (the newest event time seen, or the clock
/// when a ticker is silent) passes its end plus `lateTolerance`. A trade for a closed bar is
/// late: it is counted and dropped. Storage is a handful of open bars; adding a trade does
/// not allocate.
public struct BarBuilder: Sendable {
    public enum Outcome: Sendable, Equatable {
        case accepted
        /// Its bar had already closed.
        case late
        /// Price not positive and finite, or size negative or not finite.
        case invalid
        /// The time lies outside ``BarTime``'s range (1800 to 2200).
        case outOfRange
    }

    public let intervalNs: Int64
    public let lateToleranceNs: Int64
    private var alignment: BarAlignment
    /// Open bars, oldest first (at most a few: the current one and those within tolerance).
    private var open: [BuiltBar] = []
    /// End of the newest bar closed so far; trades before it are late.
    public private(set) var closedThrough = Int64.min

    /// - Parameters:
    ///   - intervalNs: the bar length, clamped into `1...BarTime.maxIntervalNs`.
    ///   - lateToleranceNs: how long a bar stays open after its end; negatives count as 0.
    public init(intervalNs: Int64, lateToleranceNs: Int64, timeZone: TimeZone) {
        alignment = BarAlignment(intervalNs: intervalNs, timeZone: timeZone)
        self.intervalNs = alignment.intervalNs
        self.lateToleranceNs = max(0, lateToleranceNs)
        open.reserveCapacity(4)
    }

    /// Bars still open.
    public var openBarCount: Int { open.count }

    /// Adds one trade at `time` (UTC nanoseconds).
    public mutating func add(time: Int64, price: Double, size: Double) -> Outcome {
        guard price.isFinite, price > 0, size.isFinite, size >= 0 else { return .invalid }
        guard BarTime.isSupported(time) else { return .outOfRange }
        guard time >= closedThrough else { return .late }
        let start = alignment.start(of: time)
        // Newest bars are at the end; late trades search backwards a step or two.
        var index = open.count - 1
        while index >= 0 && open[index].start > start { index -= 1 }
        if index >= 0 && open[index].start == start {
            open[index].add(price: price, size: size, time: time)
        } else {
            var bar = BuiltBar(
                start: start, end: Nanoseconds.adding(start, intervalNs),
                open: price, high: price, low: price, close: price,
                volume: 0, vwap: price, tradeCount: 0)
            bar.add(price: price, size: size, time: time)
            open.insert(bar, at: index + 1)
        }
        return .accepted
    }

    /// Closes every open bar whose end plus the tolerance is at or before `watermark`, and
    /// hands them to `closed`, oldest first.
    public mutating func close(asOf watermark: Int64, _ closed: (BuiltBar) -> Void) {
        while let first = open.first, Nanoseconds.adding(first.end, lateToleranceNs) <= watermark {
            open.removeFirst()
            closedThrough = max(closedThrough, first.end)
            closed(first)
        }
    }

    /// When the oldest open bar may close, if any is open.
    public var nextCloseTime: Int64? { open.first.map { Nanoseconds.adding($0.end, lateToleranceNs) } }

    /// Marks everything before `time` as closed, e.g. after warming up from history that
    /// already covers it; open bars before it are discarded.
    public mutating func skip(through time: Int64) {
        closedThrough = max(closedThrough, time)
        open.removeAll { $0.end <= time }
    }
}

extension BuiltBar {
    /// Adds a trade. Open and close follow trade time, not arrival, so a late trade can
    /// become the open; on equal times the later arrival is the close.
    mutating func add(price: Double, size: Double, time: Int64) {
        if tradeCount > 0 {
            if price > high { high = price }
            if price < low { low = price }
        }
        if time < firstTradeTime {
            firstTradeTime = time
            open = price
        }
        if time >= lastTradeTime {
            lastTradeTime = time
            close = price
        }
        volume += size
        priceVolume += price * size
        priceSum += price
        tradeCount += 1
        vwap = volume > 0 ? priceVolume / volume : priceSum / Double(tradeCount)
    }
}
