import Bus
import Contracts
import Logging
import MarketData
import ServiceKit
import Synchronization
import TestSupport
import Testing

/// A provider that plays a script: each `run` call takes the next attempt.
final class ScriptedProvider: MarketDataProvider, Sendable {
    enum Attempt: Sendable {
        /// Emit these events, report these issues, then return (the stream "ended").
        case stream([MarketEvent], issues: [ProviderIssue] = [], connected: Bool = true)
        /// Fail at once with this error.
        case fail(ProviderIssue)
        /// Say connected, then wait until cancelled, recording the session seen every 10 ms.
        case idle
        /// Say connected, then every 20 ms a trade of each of `symbols`, except `stopping`
        /// after `rounds` rounds, until cancelled (at most 1,500 rounds).
        case trickle(symbols: [String], stopping: String?, rounds: Int)
    }

    let name = "scripted"
    private let script: Mutex<[Attempt]>
    let runs = Counter()
    let sessions = Collector<SessionGate>()
    let tradeIDs = Counter()
    /// Plays any symbol, as a replay of whatever its files hold does.
    let acceptsAnySymbol: Bool

    init(_ attempts: [Attempt], acceptsAnySymbol: Bool = false) {
        script = Mutex(attempts)
        self.acceptsAnySymbol = acceptsAnySymbol
    }

    func acceptedSymbols(for symbols: [String]) -> Set<String>? { acceptsAnySymbol ? nil : Set(symbols) }

    func run(symbols: [String], sink: ProviderSink) async throws {
        _ = runs.next()
        let attempt = script.withLock { $0.isEmpty ? Attempt.idle : $0.removeFirst() }
        switch attempt {
        case .stream(let events, let issues, let connected):
            if connected { sink.connected() }
            for issue in issues { sink.report(issue) }
            for event in events { sink.emit(event) }
        case .fail(let issue):
            throw issue
        case .trickle(let symbols, let stopping, let rounds):
            sink.connected()
            for round in 0..<1_500 where !Task.isCancelled {
                for symbol in symbols where symbol != stopping || round < rounds {
                    sink.emit(trade(symbol, id: Int(tradeIDs.next())))
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        case .idle:
            sink.connected()
            while !Task.isCancelled {
                sessions.append(sink.currentSession)
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }
}

func trade(_ symbol: String, id: Int, price: Double = 100) -> MarketEvent {
    var trade = Trade()
    trade.symbol = symbol
    trade.price = price
    trade.size = 10
    trade.tradeID = String(id)
    return .trade(trade, time: Fixtures.time + Int64(id))
}

/// A real bus around one `ProviderService`: the service publishes on a bound PUB socket the
/// test reads; a second PUB socket plays the scheduler on `market.session`.
func withIngestor(
    _ provider: ScriptedProvider,
    configure: (inout TickwireConfig) -> Void = { _ in },
    counters: ServiceCounters = ServiceCounters(),
    _ body: (inout MessageSubscription.Iterator, MessagePublisher) async throws -> Void
) async throws {
    try await withContext { context in
        let servicePublisher = try await MessagePublisher(
            context: context, endpoint: loopbackWildcard, producer: Producer(service: "ingestor", instance: "test"),
            bind: true)
        let scheduler = try await MessagePublisher(
            context: context, endpoint: loopbackWildcard, producer: Producer(service: "scheduler", instance: "test"),
            bind: true)
        var config = TickwireConfig()
        config.tickers = ["AAPL", "MSFT"]
        config.ingestor.sessionDefault = "open"  // tests run at any hour
        config.bus.subscribeEndpoint = scheduler.endpoint
        config.ingestor.reconnectInitialSeconds = 0.02
        config.ingestor.reconnectMaxSeconds = 0.05
        configure(&config)
        let environment = ServiceEnvironment(
            name: "ingestor", config: config, logger: Logger(label: "test"), context: context,
            publisher: servicePublisher, counters: counters)
        let subscription = try await MessageSubscription(
            context: context, endpoint: servicePublisher.endpoint,
            patterns: [try TopicPattern("tick."), try TopicPattern("bar."), try TopicPattern("alert."), TopicPattern(exact: Fixtures.controlTopic)])
        var iterator = subscription.makeAsyncIterator()
        try await warmUp(
            &iterator,
            publish: { servicePublisher.publish(Fixtures.control(.starting), on: Fixtures.controlTopic) },
            giveUp: { await subscription.close() },
            isWarmUp: Fixtures.isControl)
        let service = try ProviderService(environment: environment, provider: provider)
        let running = Task { try await service.run() }
        let watchdog = closeAfter(seconds: 20) { await subscription.close() }
        do {
            try await body(&iterator, scheduler)
        } catch {
            running.cancel()
            _ = await running.result
            watchdog.cancel()
            await subscription.close()
            await servicePublisher.close()
            await scheduler.close()
            throw error
        }
        running.cancel()
        _ = await running.result
        watchdog.cancel()
        await subscription.close()
        await servicePublisher.close()
        await scheduler.close()
    }
}

@Suite("Ingestor provider service", .timeLimit(.minutes(1)))
struct ProviderServiceTests {
    @Test("publishes ticks, and a reconnect that replays recent trades duplicates none")
    func noDuplicatesAcrossReconnect() async throws {
        let provider = ScriptedProvider([
            .stream((1...5).map { trade("AAPL", id: $0) }),
            .stream((3...8).map { trade("AAPL", id: $0) }),
        ])
        try await withIngestor(provider) { iterator, _ in
            let ticks = try await collect(8, from: &iterator) { $0.topic.kind == Topic.tickKind }
            let ids = ticks.compactMap { delivery -> String? in
                if case .trade(let trade) = delivery.payload { return trade.tradeID }
                return nil
            }
            #expect(ids == (1...8).map(String.init))
            #expect(ticks.map(\.sequence) == Array(1...8))
            #expect(ticks.allSatisfy { $0.topic.description == "tick.AAPL" })
            #expect(ticks.first?.eventTimeNs == Fixtures.time + 1)
        }
        #expect(provider.runs.current >= 2)
    }

    @Test("a fatal issue raises a critical alert and stops reconnecting")
    func fatalStops() async throws {
        let provider = ScriptedProvider([.fail(ProviderIssue(.authFailed, "scripted: key rejected", isFatal: true))])
        try await withIngestor(provider) { iterator, _ in
            let alerts = try await collect(1, from: &iterator) { $0.topic.kind == Topic.alertKind }
            guard case .alert(let alert) = alerts.first?.payload else {
                Issue.record("no alert payload")
                return
            }
            #expect(alerts.first?.topic.description == "alert.critical")
            #expect(alert.category == "provider.auth_failed")
            #expect(alert.message == "scripted: key rejected")
            #expect(alert.details["fatal"] == "true")
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(provider.runs.current == 1)
    }

    @Test("repeated failures open the circuit and say so")
    func circuitOpens() async throws {
        let failure = ProviderIssue(.unreachable, "scripted: connection refused")
        let provider = ScriptedProvider(Array(repeating: .fail(failure), count: 3))
        try await withIngestor(provider, configure: {
            $0.ingestor.circuitFailureThreshold = 3
            $0.ingestor.circuitOpenSeconds = 30
        }) { iterator, _ in
            let alerts = try await collect(1, from: &iterator) { delivery in
                guard case .alert(let alert) = delivery.payload else { return false }
                return alert.category == "provider.circuit_open"
            }
            #expect(alerts.count == 1)
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(provider.runs.current == 3, "the open circuit must hold further attempts back")
    }

    @Test("issues become alerts, throttled per category and symbol")
    func issuesThrottled() async throws {
        let bad = ProviderIssue(.malformedPayload, "scripted: frame 1 is not JSON", symbol: "AAPL")
        let provider = ScriptedProvider([.stream([trade("AAPL", id: 1)], issues: [bad, bad, bad]), .idle])
        try await withIngestor(provider) { iterator, _ in
            var alerts: [Alert] = []
            var ticks = 0
            while ticks < 1 || alerts.isEmpty, let delivery = try await iterator.next() {
                switch delivery.payload {
                case .alert(let alert): alerts.append(alert)
                case .trade: ticks += 1
                default: break
                }
            }
            try await Task.sleep(for: .milliseconds(200))
            #expect(alerts.count == 1)
            #expect(alerts.first?.category == "provider.malformed_payload")
            #expect(alerts.first?.symbol == "AAPL")
            #expect(alerts.first?.severity == .warning)
        }
    }

    @Test("follows market.session; pre-market counts as closed without extended hours")
    func sessionGate() async throws {
        let provider = ScriptedProvider([.idle])
        try await withIngestor(provider) { _, scheduler in
            try await waitUntil(seconds: 10) { provider.sessions.values.last == .open(.regular) }
            for phase in [SessionPhase.closed, .preMarket] {
                var session = MarketSession()
                session.phase = phase
                try await waitUntil(seconds: 10, "session \(phase) seen") {
                    scheduler.publish(.session(session), on: .marketSession)
                    return provider.sessions.values.last == .closed
                }
                var regular = MarketSession()
                regular.phase = .regular
                try await waitUntil(seconds: 10, "regular seen") {
                    scheduler.publish(.session(regular), on: .marketSession)
                    return provider.sessions.values.last == .open(.regular)
                }
            }
        }
    }

    @Test("a silent feed while the market is open raises provider.feed_silent once")
    func silence() async throws {
        let provider = ScriptedProvider([.idle])
        try await withIngestor(provider, configure: { $0.ingestor.feedSilenceSeconds = 0.2 }) { iterator, _ in
            let alerts = try await collect(1, from: &iterator) { delivery in
                guard case .alert(let alert) = delivery.payload else { return false }
                return alert.category == "provider.feed_silent"
            }
            guard case .alert(let alert) = alerts.first?.payload else { return }
            #expect(alert.severity == .warning)
            #expect(alert.message.contains("no market data from scripted"))
        }
    }

    @Test("a symbol whose trades stop while the others flow is stale: one alert naming it, a new subscription, fresh again after")
    func staleSymbolResubscribes() async throws {
        let provider = ScriptedProvider([
            .trickle(symbols: ["AAPL", "MSFT"], stopping: "MSFT", rounds: 30),
            .trickle(symbols: ["AAPL", "MSFT"], stopping: nil, rounds: 0),
        ])
        let counters = ServiceCounters()
        try await withIngestor(
            provider,
            configure: {
                $0.ingestor.staleMinSeconds = 1
                $0.ingestor.staleFactor = 10
            }, counters: counters
        ) { iterator, _ in
            let alerts = try await collect(1, from: &iterator) { delivery in
                guard case .alert(let alert) = delivery.payload else { return false }
                return alert.category == "provider.symbol_stale"
            }
            guard case .alert(let alert) = alerts.first?.payload else { return }
            #expect(alert.symbol == "MSFT", "\(alert.message)")
            #expect(alert.message.contains("MSFT") && !alert.message.contains("AAPL"), "\(alert.message)")
            #expect(alert.details["resubscribing"] == "true")
            // The new subscription's MSFT trades make it fresh again.
            let deadline = ContinuousClock.now + .seconds(10)
            while counters.snapshot.named["provider.stale_recovered"] == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(provider.runs.current == 2)
            #expect(counters.snapshot.named["provider.resubscribes"] == 1)
            #expect(counters.snapshot.named["provider.stale_symbols"] == 1)
            #expect(counters.snapshot.named["provider.stale_recovered"] == 1)
            #expect(counters.snapshot.named["provider.reconnects"] == nil, "a resubscription is not a failure")
        }
    }

    @Test("the session default 'closed' holds until the scheduler speaks")
    func sessionDefaultClosed() async throws {
        let provider = ScriptedProvider([.idle])
        try await withIngestor(provider, configure: { $0.ingestor.sessionDefault = "closed" }) { _, _ in
            try await waitUntil(seconds: 10) { provider.sessions.count >= 3 }
            #expect(provider.sessions.values.allSatisfy { $0 == .closed })
        }
    }
}
