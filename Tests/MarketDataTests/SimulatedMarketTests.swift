import Contracts
import MarketData
import ServiceKit
import Testing

/// 2024-01-02 14:30:00 UTC (09:30 New York), in nanoseconds.
let sessionStart: Int64 = 1_704_205_800_000_000_000
let symbols = ["AAPL", "MSFT", "BRK.B", "RDS-A"]

func settings(seed: UInt64 = 42, tradesPerSecond: Double = 4, quotesPerTrade: Double = 2) -> TickwireConfigSimulator {
    var settings = TickwireConfigSimulator()
    settings.seed = seed
    settings.tradesPerSecond = tradesPerSecond
    settings.quotesPerTrade = quotesPerTrade
    return settings
}

func events(_ count: Int, settings: TickwireConfigSimulator, symbols: [String] = symbols) -> [SimulatedMarket.Event] {
    var market = SimulatedMarket(symbols: symbols, settings: settings, start: sessionStart)
    return (0..<count).map { _ in market.next(sessionStart: sessionStart) }
}

@Suite("SimulatedMarket")
struct SimulatedMarketTests {
    @Test("SplitMix64 gives the reference sequence for seed 0, and unit() stays in 0..<1")
    func generator() {
        var generator = SeededGenerator(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        var units = SeededGenerator(seed: 7)
        for _ in 0..<10_000 {
            let unit = units.unit()
            #expect(unit >= 0 && unit < 1)
        }
    }

    @Test("the same seed gives the same first 1000 events; another seed gives others")
    func determinism() {
        let first = events(1_000, settings: settings(seed: 42))
        let again = events(1_000, settings: settings(seed: 42))
        let other = events(1_000, settings: settings(seed: 43))
        #expect(first.count == 1_000)
        #expect(first == again)
        #expect(first != other)
        // Not merely shifted: most positions differ.
        let samePositions = zip(first, other).filter { $0 == $1 }.count
        #expect(samePositions < 10)
    }

    @Test("event times increase strictly, starting after the session start")
    func timesIncrease() throws {
        let stream = events(20_000, settings: settings())
        let firstTime = try #require(stream.first?.time)
        #expect(firstTime > sessionStart)
        var previous = sessionStart
        var violations = 0
        for event in stream {
            if event.time <= previous { violations += 1 }
            previous = event.time
        }
        #expect(violations == 0)
    }

    @Test("quotes have 0 < bid < ask in whole cents; trades have positive prices and sizes")
    func prices() {
        var quotes = 0
        var trades = 0
        var badQuotes = 0
        var badTrades = 0
        var tradeIDs: [String] = []
        func isCents(_ price: Double) -> Bool { abs(price * 100 - (price * 100).rounded()) < 1e-6 }
        for event in events(20_000, settings: settings()) {
            switch event {
            case .quote(let quote, _):
                quotes += 1
                let good =
                    quote.bidPrice > 0 && quote.bidPrice < quote.askPrice && isCents(quote.bidPrice)
                    && isCents(quote.askPrice) && quote.bidSize > 0 && quote.askSize > 0
                    && quote.provider == "simulated" && quote.bidExchange == "SIM" && symbols.contains(quote.symbol)
                if !good { badQuotes += 1 }
            case .trade(let trade, _):
                trades += 1
                tradeIDs.append(trade.tradeID)
                let good =
                    trade.price > 0 && isCents(trade.price) && trade.size >= 1 && trade.exchange == "SIM"
                    && trade.provider == "simulated" && symbols.contains(trade.symbol)
                if !good { badTrades += 1 }
            }
        }
        #expect(badQuotes == 0)
        #expect(badTrades == 0)
        #expect(quotes > 0)
        #expect(trades > 0)
        #expect(quotes + trades == 20_000)
        // Trade ids count 1, 2, 3, … across symbols.
        #expect(tradeIDs == (1...trades).map(String.init))
    }

    @Test("every symbol appears, about equally often")
    func allSymbolsAppear() {
        var counts: [String: Int] = [:]
        for event in events(20_000, settings: settings()) { counts[event.symbol, default: 0] += 1 }
        #expect(Set(counts.keys) == Set(symbols))
        for symbol in symbols {
            // 5000 expected each; a binomial standard deviation is about 61.
            #expect((4_700...5_300).contains(counts[symbol] ?? 0), "\(symbol): \(counts[symbol] ?? 0)")
        }
    }

    @Test("prices start at start_prices, or at the per-index default")
    func startingPrices() throws {
        var custom = settings()
        custom.startPrices = ["AAPL": 190]
        let stream = events(2_000, settings: custom, symbols: ["AAPL", "MSFT"])
        let firstAAPL = try #require(stream.first { $0.symbol == "AAPL" })
        let firstMSFT = try #require(stream.first { $0.symbol == "MSFT" })
        func mid(_ event: SimulatedMarket.Event) -> Double {
            switch event {
            case .trade(let trade, _): trade.price
            case .quote(let quote, _): (quote.bidPrice + quote.askPrice) / 2
            }
        }
        #expect(abs(mid(firstAAPL) - 190) < 1)
        #expect(abs(mid(firstMSFT) - 87) < 1)  // 50 + (1 × 37) % 400
    }

    @Test("over a whole session the event rate matches tradesPerSecond × (1 + quotesPerTrade) × symbols")
    func averageRate() {
        let tradesPerSecond = 0.5
        let quotesPerTrade = 2.0
        var market = SimulatedMarket(
            symbols: symbols, settings: settings(tradesPerSecond: tradesPerSecond, quotesPerTrade: quotesPerTrade),
            start: sessionStart)
        let session: Int64 = 23_400 * 1_000_000_000  // 6.5 h
        let end = sessionStart + session
        let thirtyMinutes: Int64 = 1_800 * 1_000_000_000
        var total = 0
        var trades = 0
        var firstHalfHour = 0
        var middleHalfHour = 0
        let middleStart = sessionStart + session / 2 - thirtyMinutes / 2
        // Bounded: at most twice the expected number of events.
        for _ in 0..<300_000 {
            let event = market.next(sessionStart: sessionStart)
            guard event.time < end else { break }
            total += 1
            if case .trade = event { trades += 1 }
            if event.time < sessionStart + thirtyMinutes { firstHalfHour += 1 }
            if event.time >= middleStart && event.time < middleStart + thirtyMinutes { middleHalfHour += 1 }
        }
        let expected = tradesPerSecond * (1 + quotesPerTrade) * Double(symbols.count) * 23_400  // 140,400
        #expect(abs(Double(total) / expected - 1) < 0.03, "\(total) events, expected about \(expected)")
        #expect(abs(Double(trades) / Double(total) - 1 / (1 + quotesPerTrade)) < 0.01)
        // The U-shaped profile: busy at the open, quiet at mid-day (about 1.5 vs 0.6).
        #expect(Double(firstHalfHour) > 2 * Double(middleHalfHour), "open \(firstHalfHour), mid-day \(middleHalfHour)")
    }
}
