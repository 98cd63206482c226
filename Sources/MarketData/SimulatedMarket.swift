import Contracts
import Timekeeping

/// SplitMix64: a small, fast, seedable generator, so a seed always gives the same market.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<1.
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Double {
        let u1 = max(unit(), .leastNonzeroMagnitude)
        let u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// Exponential with the given rate (events per unit time).
    public mutating func exponential(rate: Double) -> Double { -log(max(unit(), .leastNonzeroMagnitude)) / rate }
}

/// A seeded market: per-ticker geometric random walks with a U-shaped intraday profile of
/// volatility and activity, emitting trades and quotes (with a spread) at realistic rates.
///
/// Pure and deterministic: the same settings and seed produce the same event stream.
/// Time is simulated nanoseconds; the caller paces it against the wall clock.
public struct SimulatedMarket: Sendable {
    public enum Event: Sendable, Equatable {
        case trade(Trade, time: Int64)
        case quote(Quote, time: Int64)

        public var time: Int64 {
            switch self {
            case .trade(_, let time), .quote(_, let time): time
            }
        }

        public var symbol: String {
            switch self {
            case .trade(let trade, _): trade.symbol
            case .quote(let quote, _): quote.symbol
            }
        }
    }

    struct Instrument: Sendable {
        var symbol: String
        var price: Double
        var lastTime: Int64
        /// Regimes, so models have something to learn: in momentum, the drift follows the
        /// recent trend; in mean reversion, the price is pulled back to its slow average.
        var momentum = true
        /// An exponential average of the log-return rate (per second, time constant 60 s).
        var trend = 0.0
        /// An exponential average of the log price (time constant 300 s).
        var anchor = 0.0
    }

    public let settings: TickwireConfigSimulator
    private var instruments: [Instrument]
    private var random: SeededGenerator
    /// Simulated time of the next event, nanoseconds since the Unix epoch.
    public private(set) var now: Int64
    private var tradeSequence: UInt64 = 0

    /// Seconds in a regular session; the activity profile repeats over it.
    static let sessionSeconds = 6.5 * 3600
    /// Trading seconds in a year, for scaling annual volatility.
    static let secondsPerYear = 252 * sessionSeconds

    public init(symbols: [String], settings: TickwireConfigSimulator, start: Int64) {
        self.settings = settings
        random = SeededGenerator(seed: settings.seed)
        now = start
        instruments = symbols.enumerated().map { index, symbol in
            let configured = settings.startPrices[symbol].flatMap { MarketLimits.isPrice($0) ? min($0, 1e8) : nil }
            let price = configured ?? (50 + Double((index * 37) % 400))
            return Instrument(symbol: symbol, price: price, lastTime: start)
        }
    }

    /// Activity multiplier over the session (high at open and close, low at mid-day); its
    /// average over the session is 1.
    static func activity(at time: Int64, start: Int64) -> Double {
        let elapsed = Nanoseconds.seconds(Nanoseconds.subtracting(time, start))
        let phase = elapsed.truncatingRemainder(dividingBy: sessionSeconds) / sessionSeconds
        let centred = (phase - 0.5) * 2
        return (0.6 + 1.2 * centred * centred)
    }

    /// Produces the next event and advances simulated time.
    public mutating func next(sessionStart: Int64) -> Event {
        let activity = Self.activity(at: now, start: sessionStart)
        let perTicker = settings.tradesPerSecond * (1 + settings.quotesPerTrade)
        let rate = perTicker * Double(instruments.count) * activity
        now = Nanoseconds.adding(now, max(1, Nanoseconds.clampingSeconds(random.exponential(rate: rate))))
        let index = Int(random.next() % UInt64(instruments.count))
        var instrument = instruments[index]
        let dt = Nanoseconds.seconds(Nanoseconds.subtracting(now, instrument.lastTime))
        let sigma = settings.annualVolatility * activity.squareRoot()
        let variance = sigma * sigma * dt / Self.secondsPerYear
        // Regime drift (log price per second): momentum follows the trend, mean reversion
        // pulls toward the anchor; regimes last `regime_seconds` on average.
        let logPrice = log(instrument.price)
        if instrument.anchor == 0 { instrument.anchor = logPrice }
        let strength = settings.regimeStrength
        var drift = 0.0
        if strength > 0 {
            if random.unit() < 1 - exp(-dt / max(settings.regimeSeconds, 1)) { instrument.momentum.toggle() }
            drift = instrument.momentum
                ? 0.7 * strength * instrument.trend
                : -2.0 * strength * (logPrice - instrument.anchor) / 120
        }
        let change = drift * dt - 0.5 * variance + variance.squareRoot() * random.normal()
        // Kept within 1 cent and 10^8, and never NaN, whatever the settings.
        let moved = instrument.price * exp(change)
        if moved.isFinite { instrument.price = min(max(moved, 0.01), 1e8) }
        instrument.trend += (change - instrument.trend * dt) / 60
        instrument.anchor += (log(instrument.price) - instrument.anchor) * min(dt / 300, 1)
        instrument.lastTime = now
        instruments[index] = instrument

        let isTrade = random.unit() < 1 / (1 + settings.quotesPerTrade)
        let halfSpread = max(0.005, instrument.price * 0.0001 * (1 + random.unit()))
        if isTrade {
            tradeSequence += 1
            var trade = Trade()
            trade.symbol = instrument.symbol
            // Trades print at the bid or the ask, rounded to the cent.
            let side: Double = random.unit() < 0.5 ? -1 : 1
            trade.price = ((instrument.price + side * halfSpread) * 100).rounded() / 100
            trade.size = Double(Self.lotSize(&random))
            trade.exchange = "SIM"
            trade.tradeID = String(tradeSequence)
            trade.provider = ProviderName.simulated
            return .trade(trade, time: now)
        }
        var quote = Quote()
        quote.symbol = instrument.symbol
        quote.bidPrice = ((instrument.price - halfSpread) * 100).rounded(.down) / 100
        quote.askPrice = ((instrument.price + halfSpread) * 100).rounded(.up) / 100
        if quote.askPrice <= quote.bidPrice { quote.askPrice = quote.bidPrice + 0.01 }
        quote.bidSize = Double(Self.lotSize(&random))
        quote.askSize = Double(Self.lotSize(&random))
        quote.bidExchange = "SIM"
        quote.askExchange = "SIM"
        quote.provider = ProviderName.simulated
        return .quote(quote, time: now)
    }

    /// Round lots mostly, odd lots sometimes, the odd block rarely.
    static func lotSize(_ random: inout SeededGenerator) -> Int {
        let draw = random.unit()
        if draw < 0.25 { return 1 + Int(random.next() % 99) }
        if draw < 0.97 { return 100 * (1 + Int(random.next() % 10)) }
        return 1_000 * (5 + Int(random.next() % 46))
    }
}

import ServiceKit

/// The `simulator` config section.
public typealias TickwireConfigSimulator = TickwireConfig.Simulator

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
