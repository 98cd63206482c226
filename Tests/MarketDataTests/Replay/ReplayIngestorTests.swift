import Bus
import Contracts
import Logging
import MarketData
import ServiceKit
import TestSupport
import Testing

@Suite("Replay through the ingestor", .timeLimit(.minutes(1)))
struct ReplayIngestorTests {
    @Test("replayed bars reach bar.<SYMBOL> as live bars timed by their end, and looped passes are not dropped as duplicates")
    func loopOnTheBus() async throws {
        var config = replayConfig([try replayFixture("intraday_1min_AAPL.csv")], speed: 0, loop: true)
        config.bus.subscribeEndpoint = uniqueInprocEndpoint("replay-session")
        let provider = try ReplayProvider(config: config)
        try await withContext { context in
            let publisher = try await MessagePublisher(
                context: context, endpoint: loopbackWildcard, producer: Producer(service: "ingestor", instance: "replay-test"),
                bind: true)
            let environment = ServiceEnvironment(
                name: "ingestor", config: config, logger: Logger(label: "replay-ingestor-test"), context: context,
                publisher: publisher, counters: ServiceCounters())
            let subscription = try await MessageSubscription(
                context: context, endpoint: publisher.endpoint,
                patterns: [try TopicPattern("bar."), try TopicPattern("alert."), TopicPattern(exact: Fixtures.controlTopic)])
            var iterator = subscription.makeAsyncIterator()
            try await warmUp(
                &iterator,
                publish: { publisher.publish(Fixtures.control(.starting), on: Fixtures.controlTopic) },
                giveUp: { await subscription.close() },
                isWarmUp: Fixtures.isControl)
            let service = try ProviderService(environment: environment, provider: provider)
            let running = Task { try await service.run() }
            let watchdog = closeAfter(seconds: 20) { await subscription.close() }
            let received = try await collect(12, from: &iterator) { $0.topic.kind != Fixtures.controlTopic.kind }
            running.cancel()
            _ = await running.result
            watchdog.cancel()
            await subscription.close()
            await publisher.close()

            #expect(received.allSatisfy { $0.topic.description == "bar.AAPL" })
            let bars = received.compactMap { delivery -> (bar: Bar, eventTime: Int64)? in
                guard case .bar(let bar) = delivery.payload else { return nil }
                return (bar, delivery.eventTimeNs)
            }
            #expect(bars.count == 12)
            #expect(bars.allSatisfy { $0.eventTime == $0.bar.endTimeNs && $0.bar.origin == .live && $0.bar.provider == "replay" })
            // Three passes of four bars, each later than the one before: none was a duplicate.
            #expect(zip(bars, bars.dropFirst()).allSatisfy { $0.bar.endTimeNs < $1.bar.endTimeNs })
            #expect(bars.first?.bar.startTimeNs == utc("2025-03-07T20:58:00Z"))
            #expect(received.map(\.sequence) == Array(1...12))
        }
    }
}
