import Foundation
import Testing
import Tickwire

/// Plays a fixed list of events once, then returns (the data has ended).
struct FixedProvider: MarketDataProvider {
    let name = "fixed"
    let events: [MarketEvent]

    func run(symbols: [String], sink: MarketEventSink) async throws {
        for event in events { sink.emit(event) }
    }
}

/// Fails `failures` times (fatally when asked), then plays one trade and ends.
struct FailingProvider: MarketDataProvider {
    let name = "failing"
    let failures: Int
    let fatal: Bool
    let attempts = Box(0)

    func run(symbols: [String], sink: MarketEventSink) async throws {
        let attempt = attempts.update { $0 += 1; return $0 }
        if attempt <= failures { throw DataFeedError("attempt \(attempt) failed", isFatal: fatal) }
        sink.emit(.trade(Trade(symbol: symbols[0], price: 10, size: 1, time: sessionStart)))
    }
}

func collect(_ feed: DataFeed) async throws -> [MarketEvent] {
    var events: [MarketEvent] = []
    for try await event in feed.events() { events.append(event) }
    return events
}

@Suite("DataFeed", .timeLimit(.minutes(1)))
struct DataFeedTests {
    @Test("a provider of your own: events for the tickers, repeats and bad values dropped, the end of the data ends the sequence")
    func customProvider() async throws {
        let trade = Trade(symbol: "AAA", price: 10, size: 100, time: sessionStart, id: "1")
        var other = trade
        other.symbol = "ZZZ"
        var bad = trade
        bad.id = "2"
        bad.price = -1
        var second = trade
        second.id = "3"
        let quote = Quote(symbol: "AAA", bidPrice: 9.99, bidSize: 100, askPrice: 10.01, askSize: 200, time: sessionStart)
        let feed = DataFeed(provider: FixedProvider(events: [.trade(trade), .trade(trade), .trade(other), .trade(bad), .quote(quote), .trade(second)]))
        #expect(feed.providerName == "fixed")
        try feed.connect()
        try feed.subscribe(["AAA"])
        let events = try await collect(feed)
        #expect(events == [.trade(trade), .quote(quote), .trade(second)])
        let statistics = feed.statistics
        #expect(statistics.events == 3 && statistics.duplicates == 1 && statistics.rejected == 2)
        #expect(throws: DataFeedError.self) { try feed.subscribe(["not a symbol"]) }
    }

    @Test("a failed connection is retried with backoff; a fatal error ends the sequence with it")
    func retriesAndFatal() async throws {
        var options = DataFeed.Options()
        options.reconnectDelay = .milliseconds(10)
        let issues = Box<[String]>([])
        options.onIssue = { line in issues.update { $0.append(line) } }
        let flaky = FailingProvider(failures: 2, fatal: false)
        let feed = DataFeed(provider: flaky, options: options)
        try feed.connect()
        try feed.subscribe(["AAA"])
        #expect(try await collect(feed).count == 1)
        #expect(flaky.attempts.current == 3 && feed.statistics.reconnects == 2)
        #expect(issues.current.count == 2 && issues.current[0].contains("attempt 1 failed"))

        let broken = DataFeed(provider: FailingProvider(failures: 1, fatal: true), options: options)
        try broken.connect()
        try broken.subscribe(["AAA"])
        await #expect(throws: DataFeedError.self) { _ = try await collect(broken) }
        // Later readers learn the same.
        await #expect(throws: DataFeedError.self) { _ = try await collect(broken) }
    }

    @Test("the simulated provider by name: history bars first, then live trades; disconnect ends the sequence")
    func simulated() async throws {
        var options = DataFeed.Options()
        options.barInterval = .seconds(1)
        options.simulation = DataFeed.Simulation(seed: 3, tradesPerSecond: 50, backfillBars: 5)
        let feed = DataFeed(providerName: "simulated", options: options)
        try feed.connect()
        try feed.subscribe(["AAA", "BBB"])
        var bars = 0
        var trades = 0
        for try await event in feed.events() {
            switch event {
            case .bar(let bar):
                #expect(bar.origin == .history && trades == 0)
                #expect(bar.end.timeIntervalSince(bar.start) == 1)
                bars += 1
            case .trade(let trade):
                #expect(["AAA", "BBB"].contains(trade.symbol))
                trades += 1
            case .quote: break
            }
            if trades == 20 { feed.disconnect() }
        }
        #expect(bars == 10 && trades >= 20)
        await feed.waitUntilDisconnected()
        #expect(!feed.isConnected)
    }

    @Test("a named provider's settings are checked at connect")
    func namedSettings() {
        #expect(throws: DataFeedError.self) { try DataFeed(providerName: "nonesuch").connect() }
        #expect(throws: DataFeedError.self) { try DataFeed(providerName: "alphavantage").connect() }
        var options = DataFeed.Options()
        options.simulation.speed = 0
        #expect(throws: DataFeedError.self) { try DataFeed(providerName: "simulated", options: options).connect() }
    }
}
