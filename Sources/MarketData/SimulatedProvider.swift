import Contracts
import Foundation
import Indicators
import Logging
import Bars
import ServiceKit
import ServiceLifecycle
import Timekeeping

/// The `simulated` provider: plays a ``SimulatedMarket`` against the wall clock at
/// `simulator.speed`. Needs no key and no network; the demo default.
public struct SimulatedProvider: MarketDataProvider {
    public let name = ProviderName.simulated
    let settings: TickwireConfig.Simulator
    let barIntervalNs: Int64
    let timeZone: TimeZone

    public init(config: TickwireConfig) {
        settings = config.simulator
        barIntervalNs = max(Nanoseconds.perSecond, Nanoseconds.clampingSeconds(config.processor.barIntervalSeconds))
        timeZone = TimeZone(identifier: config.marketHours.timezone) ?? .gmt
    }

    public func run(symbols: [String], sink: ProviderSink) async throws {
        let start = WallClock.nanoseconds()
        var live = settings
        if settings.backfillBars > 0 {
            let history = Self.history(
                symbols: symbols, settings: settings, bars: settings.backfillBars, intervalNs: barIntervalNs,
                timeZone: timeZone, end: start)
            for bar in history.bars { sink.emit(.bar(bar)) }
            live.startPrices = history.closes
            sink.logger.info("backfilled \(history.bars.count) simulated \(barIntervalNs / 1_000_000_000) s bars")
        }
        var market = SimulatedMarket(symbols: symbols, settings: live, start: start)
        let clock = ContinuousClock()
        let origin = clock.now
        let speed = settings.speed
        sink.logger.info("simulating \(symbols.joined(separator: ",")) at \(speed)x, seed \(settings.seed)")
        sink.connected()
        var pending = market.next(sessionStart: start)
        while !Task.isCancelled {
            // Emit everything due by now, then sleep until the next event (at most 100 ms).
            let simulatedElapsed = (clock.now - origin).inSeconds * speed
            let dueTime = Nanoseconds.adding(start, Nanoseconds.clampingSeconds(simulatedElapsed))
            var emitted = 0
            // With `simulator.follow_session`, the market trades only while the session is open
            // (prices keep moving while closed, so the open gaps as a real one does).
            let trading = !settings.followSession || sink.currentSession != .closed
            while pending.time <= dueTime && emitted < 10_000 {
                switch pending {
                case .trade(let trade, let time) where trading: sink.emit(.trade(trade, time: time))
                case .quote(let quote, let time) where trading: sink.emit(.quote(quote, time: time))
                default: break
                }
                emitted += 1
                pending = market.next(sessionStart: start)
            }
            if emitted > 0 {
                await Task.yield()
                continue
            }
            let wait = Nanoseconds.seconds(Nanoseconds.subtracting(pending.time, dueTime)) / speed
            try await Task.sleep(for: Nanoseconds.duration(seconds: min(max(wait, 0.000_5), 0.1)))
        }
    }
}

extension SimulatedProvider {
    /// The simulation keeps its own clock (`simulator.speed` times the wall clock).
    public var eventTimesFollowWallClock: Bool { false }

    /// Simulates the `bars` intervals before `end` with the same model (another seed) and
    /// aggregates them into bars exactly as the processor does. Returns the bars, oldest
    /// first, and each symbol's last price, where the live market then carries on.
    static func history(
        symbols: [String], settings: TickwireConfig.Simulator, bars: Int, intervalNs: Int64, timeZone: TimeZone,
        end: Int64
    ) -> (bars: [Bar], closes: [String: Double]) {
        var alignment = BarAlignment(intervalNs: intervalNs, timeZone: timeZone)
        let lastEnd = alignment.start(of: end)
        let begin = Nanoseconds.subtracting(lastEnd, Nanoseconds.multiplying(Int64(max(0, bars)), intervalNs))
        var past = settings
        past.seed = settings.seed &+ 0x9E37_79B9_7F4A_7C15
        var market = SimulatedMarket(symbols: symbols, settings: past, start: begin)
        var builders = Dictionary(uniqueKeysWithValues: symbols.map {
            ($0, BarBuilder(intervalNs: intervalNs, lateToleranceNs: 0, timeZone: timeZone))
        })
        var closes: [String: Double] = [:]
        while true {
            let event = market.next(sessionStart: begin)
            guard event.time < lastEnd else { break }
            if case .trade(let trade, let time) = event {
                _ = builders[trade.symbol]?.add(time: time, price: trade.price, size: trade.size)
                closes[trade.symbol] = trade.price
            }
        }
        var result: [Bar] = []
        for symbol in symbols {
            builders[symbol]?.close(asOf: lastEnd) { built in
                var bar = Bar(built: built, symbol: symbol, provider: ProviderName.simulated)
                bar.origin = .backfill
                result.append(bar)
            }
        }
        result.sort { ($0.endTimeNs, $0.symbol) < ($1.endTimeNs, $1.symbol) }
        return (result, closes)
    }
}

/// The simulated market's history, for `tickwire history --provider simulated` (the demo
/// trains on it): the same model and seed as the live simulator, aggregated into bars.
public enum SimulatedHistory {
    /// The most bars one call makes.
    public static let maximumCount = 1_000_000
    /// The longest bar, in seconds (a day).
    public static let maximumIntervalSeconds: Int64 = 86_400

    /// What is wrong with these arguments, or nil: `count` must be 0 to ``maximumCount`` and
    /// `intervalSeconds` 1 to ``maximumIntervalSeconds``.
    public static func problem(count: Int, intervalSeconds: Int64) -> String? {
        guard (0...maximumCount).contains(count) else { return "the bar count must be from 0 to \(maximumCount)" }
        guard (1...maximumIntervalSeconds).contains(intervalSeconds) else {
            return "the bar length must be from 1 to \(maximumIntervalSeconds) seconds"
        }
        return nil
    }

    /// `count` bars of `intervalSeconds` ending at `end` (UTC nanoseconds; now when nil); none
    /// when the arguments are out of range (see ``problem(count:intervalSeconds:)``).
    public static func bars(symbol: String, config: TickwireConfig, count: Int, intervalSeconds: Int64, end: Int64? = nil) -> [Bar] {
        guard problem(count: count, intervalSeconds: intervalSeconds) == nil else { return [] }
        // One path per symbol: the symbol's bytes are mixed into the seed.
        var settings = config.simulator
        for byte in symbol.utf8 { settings.seed = (settings.seed ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return SimulatedProvider.history(
            symbols: [symbol], settings: settings, bars: count, intervalNs: intervalSeconds * 1_000_000_000,
            timeZone: TimeZone(identifier: config.marketHours.timezone) ?? .gmt, end: end ?? WallClock.nanoseconds()
        ).bars
    }
}
