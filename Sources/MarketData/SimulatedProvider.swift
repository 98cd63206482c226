import Contracts
import Logging
import ServiceKit
import ServiceLifecycle

/// The `simulated` provider: plays a ``SimulatedMarket`` against the wall clock at
/// `simulator.speed`. Needs no key and no network; the demo default.
public struct SimulatedProvider: MarketDataProvider {
    public let name = ProviderName.simulated
    let settings: TickwireConfig.Simulator

    public init(config: TickwireConfig) {
        settings = config.simulator
    }

    public func run(symbols: [String], sink: ProviderSink) async throws {
        let start = WallClock.nanoseconds()
        var market = SimulatedMarket(symbols: symbols, settings: settings, start: start)
        let clock = ContinuousClock()
        let origin = clock.now
        let speed = settings.speed
        sink.logger.info("simulating \(symbols.joined(separator: ",")) at \(speed)x, seed \(settings.seed)")
        sink.connected()
        var pending = market.next(sessionStart: start)
        while !Task.isCancelled {
            // Emit everything due by now, then sleep until the next event (at most 100 ms).
            let simulatedElapsed = (clock.now - origin).inSeconds * speed
            let dueTime = start + Int64(simulatedElapsed * 1e9)
            var emitted = 0
            while pending.time <= dueTime && emitted < 10_000 {
                switch pending {
                case .trade(let trade, let time): sink.emit(.trade(trade, time: time))
                case .quote(let quote, let time): sink.emit(.quote(quote, time: time))
                }
                emitted += 1
                pending = market.next(sessionStart: start)
            }
            if emitted > 0 {
                await Task.yield()
                continue
            }
            let wait = Double(pending.time - dueTime) / 1e9 / speed
            try await Task.sleep(for: .seconds(min(max(wait, 0.000_5), 0.1)))
        }
    }
}
