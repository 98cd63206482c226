import Bus
import Contracts
import Foundation
import Indicators
import Logging
import ServiceKit
import ServiceLifecycle
import Synchronization

/// The processor: for its ticker set, turns trades (or provider bars) into bars, indicators
/// and features, and publishes `bar.<SYMBOL>` and `features.<SYMBOL>`.
///
/// At start it subscribes first (so nothing is missed), then warms up from the history
/// endpoints, then processes the buffered and live messages. Bars close on time: a timer
/// closes each ticker's bars once the event clock passes their end plus the late tolerance,
/// so a silent ticker does not hold a bar open.
public struct ProcessorService: Service {
    let environment: ServiceEnvironment
    let settings: ProcessorSettings
    let state: State
    /// When the service (and its publisher, opened just before) started.
    let startedAt = ContinuousClock.now
    /// A new PUB connection drops what it sends until the proxy's subscriptions reach it
    /// (ZeroMQ's slow joiner, ~2 ms on loopback): the warm-up's features wait this long
    /// after start so they are not lost.
    static let publisherSettle = Duration.milliseconds(300)

    final class State: Sendable {
        struct Values {
            var pipelines: [String: TickerPipeline]
            var clock = EventClock()
            var alertedAt: [String: ContinuousClock.Instant] = [:]
        }
        let values: Mutex<Values>
        init(pipelines: [String: TickerPipeline]) { values = Mutex(Values(pipelines: pipelines)) }
    }

    public init(environment: ServiceEnvironment, settings: ProcessorSettings) {
        self.environment = environment
        self.settings = settings
        var pipelines: [String: TickerPipeline] = [:]
        for symbol in settings.tickers { pipelines[symbol] = TickerPipeline(symbol: symbol, settings: settings) }
        state = State(pipelines: pipelines)
    }

    public func run() async throws {
        let logger = environment.logger
        let kind = settings.barSource == .trades ? Topic.tickKind : Topic.barKind
        let patterns = try settings.tickers.map { symbol throws -> TopicPattern in
            TopicPattern(exact: try Topic(kind: kind, key: symbol))
        }
        let subscription = try await environment.subscribe(patterns)
        logger.info(
            "processor \(settings.instance) for \(settings.tickers.joined(separator: ",")): \(Int(settings.barIntervalNs / 1_000_000_000)) s bars from \(settings.barSource.rawValue)")
        let missing = await warmUp(symbols: settings.tickers)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await retryWarmUp(missing) }
            if settings.barSource == .trades {
                group.addTask { await closeBarsOnTime() }
            }
            group.addTask {
                for try await delivery in subscription.cancelOnGracefulShutdown() { handle(delivery) }
            }
            // The consumer ends on shutdown (or fails); then stop the timer and retries.
            while let _ = try await group.next() {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
            }
            group.cancelAll()
        }
        await subscription.close()
    }

    // MARK: Warm-up

    /// Fetches recent bars for tickers whose features are not ready yet, warms them up and
    /// publishes each one's newest features, so consumers have them at once. Returns the
    /// tickers still not ready (an endpoint was down, or the ingestor had nothing yet).
    @discardableResult
    func warmUp(symbols: [String]) async -> [String] {
        guard !settings.historyEndpoints.isEmpty, !symbols.isEmpty else { return [] }
        let client = HistoryClient(
            context: environment.context, endpoints: settings.historyEndpoints, timeout: settings.historyTimeout,
            requester: "processor/\(settings.instance)")
        let started = ContinuousClock.now
        let result = await client.fetch(
            symbols: symbols, intervalNs: settings.barIntervalNs,
            maxBars: max(settings.windowSize, Self.warmUpBars), source: settings.barSource.rawValue)
        for problem in result.problems {
            environment.logger.warning("history: \(problem)")
            environment.counters.add("history.failures")
        }
        var latest: [FeatureVector] = []
        var fed = 0
        let notReady = state.values.withLock { values -> [String] in
            var notReady: [String] = []
            for symbol in symbols {
                guard values.pipelines[symbol]?.isReady == false else { continue }
                if let bars = result.bars[symbol], !bars.isEmpty,
                    let output = values.pipelines[symbol]?.warmUp(from: bars)
                {
                    fed += bars.count
                    if let features = output.features { latest.append(features) }
                    if let end = bars.last?.endTimeNs { values.clock.observe(eventTime: end) }
                }
                if values.pipelines[symbol]?.isReady == false { notReady.append(symbol) }
            }
            return notReady
        }
        if !latest.isEmpty { try? await Task.sleep(until: startedAt + Self.publisherSettle, clock: .continuous) }
        for features in latest { publishFeatures(features) }
        environment.counters.add("history.bars", UInt64(fed))
        environment.logger.info(
            "warm-up: \(fed) bars from history, \(latest.count) of \(symbols.count) tickers ready in \(ContinuousClock.now - started)")
        return notReady
    }

    /// Asks again, after 1, 2, 4 and 8 s, for tickers that are not ready yet (the ingestor
    /// may have started at the same moment). Live bars that arrived meanwhile are kept and
    /// replayed after the history, so nothing is lost by waiting.
    func retryWarmUp(_ missing: [String]) async {
        var missing = missing
        for delay in [1, 2, 4, 8] where !missing.isEmpty {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(delay)) }
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            missing = await warmUp(symbols: missing)
        }
        if !missing.isEmpty {
            alertOncePerMinute(
                "processor.history_unavailable", symbol: "",
                title: "no history for warm-up",
                message: "not enough history from \(settings.historyEndpoints.joined(separator: ", ")) for \(missing.joined(separator: ",")) after 5 attempts; they warm up from live bars (features after ~50 bars)")
        }
    }

    /// Bars asked for at start: enough for every feature (50) and the longest indicator (200).
    static let warmUpBars = 300

    // MARK: Live

    func handle(_ delivery: Delivery) {
        environment.counters.addIn()
        let symbol = delivery.topic.key
        switch delivery.payload {
        case .trade(let trade):
            let outcome = state.values.withLock { values -> TickerPipeline.TradeOutcome? in
                values.clock.observe(eventTime: delivery.eventTimeNs)
                return values.pipelines[symbol]?.add(trade, time: delivery.eventTimeNs)
            }
            switch outcome {
            case .late?: environment.counters.add("trades.late")
            case .duplicate?: environment.counters.add("trades.duplicate")
            case .invalid?:
                environment.counters.add("trades.invalid")
                environment.counters.addError()
                alertOncePerMinute(
                    "processor.invalid_trade", symbol: symbol,
                    title: "invalid trade dropped",
                    message: "\(delivery.producer.displayName) sent a trade for \(symbol) with price \(trade.price) and size \(trade.size); it was dropped (counter trades.invalid)")
            default: break
            }
        case .quote:
            break  // not used for bars
        case .bar(let bar):
            // Provider bars only; bars built by processors (ours included) are outputs.
            guard settings.barSource == .provider, bar.origin != .built, bar.symbol == symbol else { return }
            let output = state.values.withLock { values -> TickerPipeline.Output? in
                values.clock.observe(eventTime: bar.endTimeNs)
                return values.pipelines[symbol]?.feed(bar)
            }
            if let output {
                if let features = output.features { publishFeatures(features) }
                else { environment.counters.add("features.not_ready") }
            } else {
                environment.counters.add("bars.stale")
            }
        default:
            environment.counters.add("skipped.unexpected_payload")
        }
    }

    /// Closes due bars about four times per bar interval (at least every 250 ms).
    func closeBarsOnTime() async {
        let period = Duration.nanoseconds(min(250_000_000, max(10_000_000, settings.barIntervalNs / 4)))
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: period)
            let outputs = state.values.withLock { values -> [TickerPipeline.Output] in
                let watermark = values.clock.watermark()
                var outputs: [TickerPipeline.Output] = []
                for symbol in settings.tickers {
                    outputs += values.pipelines[symbol]?.close(asOf: watermark) ?? []
                }
                return outputs
            }
            for output in outputs {
                publishBar(output.bar)
                if let features = output.features { publishFeatures(features) }
                else { environment.counters.add("features.not_ready") }
            }
        }
    }

    /// Raises a warning alert, at most once a minute per category and symbol.
    func alertOncePerMinute(_ category: String, symbol: String, title: String, message: String) {
        let key = category + "/" + symbol
        let due = state.values.withLock { values -> Bool in
            let now = ContinuousClock.now
            if let last = values.alertedAt[key], now - last < .seconds(60) { return false }
            values.alertedAt[key] = now
            return true
        }
        if due { environment.raiseAlert(.warning, category: category, title: title, message: message, symbol: symbol) }
    }

    func publishBar(_ bar: Bar) {
        guard let topic = try? Topic.bar(bar.symbol) else { return }
        environment.publish(.bar(bar), on: topic, eventTime: bar.endTimeNs)
        environment.counters.add("bars.published")
    }

    func publishFeatures(_ features: FeatureVector) {
        guard let topic = try? Topic.features(features.symbol) else { return }
        environment.publish(.features(features), on: topic, eventTime: features.barEndTimeNs)
        environment.counters.add("features.published")
    }
}

/// Exchange time as the processor (and the ingestor's bar history) knows it: the newest event time seen, advanced by the
/// wall clock since it was seen, so bars still close when every ticker goes quiet.
struct EventClock: Sendable {
    private var newestEvent = Int64.min
    private var seenAt = ContinuousClock.now

    mutating func observe(eventTime: Int64) {
        guard eventTime > newestEvent else { return }
        newestEvent = eventTime
        seenAt = .now
    }

    /// The newest event time plus the wall time since; the wall clock before any event.
    func watermark() -> Int64 {
        guard newestEvent != Int64.min else { return WallClock.nanoseconds() }
        let elapsed = ContinuousClock.now - seenAt
        return newestEvent + elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
    }
}
