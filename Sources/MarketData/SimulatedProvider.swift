import Contracts
import Logging
import ServiceKit
import ServiceLifecycle

/// The `simulated` provider as a service: plays a ``SimulatedMarket`` against the wall clock
/// at `simulator.speed` and publishes each event on `tick.<SYMBOL>`.
public struct SimulatedProviderService: Service {
    let environment: ServiceEnvironment
    let symbols: [String]
    let topics: [String: Topic]

    public init(environment: ServiceEnvironment) throws(TopicError) {
        self.environment = environment
        symbols = environment.config.tickers
        var topics: [String: Topic] = [:]
        for symbol in symbols { topics[symbol] = try Topic.tick(symbol) }
        self.topics = topics
    }

    public func run() async throws {
        let settings = environment.config.simulator
        let start = WallClock.nanoseconds()
        var market = SimulatedMarket(symbols: symbols, settings: settings, start: start)
        let clock = ContinuousClock()
        let origin = clock.now
        let speed = settings.speed
        environment.logger.info(
            "simulating \(symbols.joined(separator: ",")) at \(speed)x, seed \(settings.seed)")
        var pending = market.next(sessionStart: start)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Publish everything due by now, then sleep until the next event (at most 100 ms,
            // so shutdown is noticed promptly).
            let simulatedElapsed = Double((clock.now - origin).inSeconds) * speed
            let dueTime = start + Int64(simulatedElapsed * 1e9)
            var published = 0
            while pending.time <= dueTime && published < 10_000 {
                publish(pending)
                published += 1
                pending = market.next(sessionStart: start)
            }
            if published > 0 { continue }
            let wait = Double(pending.time - dueTime) / 1e9 / speed
            let sleep = Duration.seconds(min(max(wait, 0.000_5), 0.1))
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: sleep) }
        }
    }

    func publish(_ event: SimulatedMarket.Event) {
        guard let topic = topics[event.symbol] else { return }
        switch event {
        case .trade(let trade, let time):
            environment.publish(.trade(trade), on: topic, eventTime: time)
            environment.counters.add("provider.trades")
        case .quote(let quote, let time):
            environment.publish(.quote(quote), on: topic, eventTime: time)
            environment.counters.add("provider.quotes")
        }
    }
}

/// Builds the ingestor's services for the configured provider.
public enum IngestorBuilder {
    /// Providers this build can run.
    public static let available: [String] = [ProviderName.simulated]

    public static func build(_ environment: ServiceEnvironment) throws -> [any Service] {
        let provider = environment.config.provider
        switch provider {
        case ProviderName.simulated:
            return [try SimulatedProviderService(environment: environment)]
        default:
            throw ConfigError(
                path: "provider",
                message: "provider '\(provider)' is not available in this build yet (available: \(available.joined(separator: ", ")))")
        }
    }
}
