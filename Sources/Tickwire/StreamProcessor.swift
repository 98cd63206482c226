import Bars
import Contracts
import FeatureContract
import Foundation
import Indicators
import Processing
import ServiceKit
import Timekeeping

/// A setting out of range (a bar interval of 0, a threshold above 1).
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Which setting, and what is wrong with it.
    public var message: String

    /// An error saying `message`.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// One ticker's named feature vector after a bar closed: the processor's `default` feature
/// set (returns, moving-average ratios, RSI, MACD, stochastics, ADX, ATR, volume, …; see
/// docs/features.md), the input of every ``Strategy``.
public struct Features: Sendable, Equatable {
    /// The feature vector as the processor publishes it.
    let vector: FeatureVector

    init(_ vector: FeatureVector) { self.vector = vector }

    /// Features of the `default` set for `symbol`, `values` in ``names`` order (to test a
    /// strategy with values of your own).
    public init(symbol: String, values: [Double], barEnd: Date, close: Double) {
        var vector = FeatureVector()
        vector.symbol = symbol
        vector.featureSet = FeaturePipeline.schema.name
        vector.featureSetVersion = FeaturePipeline.schema.version
        vector.schemaHash = FeaturePipeline.schema.hash
        vector.names = FeaturePipeline.schema.names
        vector.values = values
        vector.barEndTimeNs = barEnd.nanoseconds
        vector.close = close
        self.vector = vector
    }

    /// The names of the `default` feature set, in order, e.g. `rsi_14`, `close_sma_20`.
    public static var names: [String] { FeaturePipeline.schema.names }

    /// The feature set's schema hash: a model records the one it was trained on.
    public static var schemaHash: String { FeaturePipeline.schema.hash }

    /// The ticker.
    public var symbol: String { vector.symbol }
    /// The values, in ``names`` order.
    public var values: [Double] { vector.values }
    /// The end of the bar they describe.
    public var barEnd: Date { Date(nanoseconds: vector.barEndTimeNs) }
    /// That bar's close.
    public var close: Double { vector.close }
    /// Made from history while warming up, not from a bar that just closed.
    public var isFromHistory: Bool { vector.fromHistory }

    /// The value of the feature named `name` (e.g. `rsi_14`, scaled to about ±1), or nil
    /// when the set has no such feature.
    public subscript(name: String) -> Double? {
        guard let index = FeaturePipeline.schema.index(of: name), vector.values.indices.contains(index) else {
            return nil
        }
        return vector.values[index]
    }
}

/// A bar a ``StreamProcessor`` closed (built from trades, or a provider's), and the features
/// after it: nil while the indicators warm up (about 50 bars).
public struct ClosedBar: Sendable, Equatable {
    /// The bar.
    public var bar: Bar
    /// The ticker's features after it; nil while warming up.
    public var features: Features?
}

/// Trades (or a provider's bars) into closed bars, streaming indicators and feature vectors,
/// per ticker: the processor service's own per-ticker pipeline (`TickerPipeline`), so the
/// features are exactly those the models were trained on.
///
/// A plain value: feed it events with ``process(_:)`` and call ``closeDueBars()`` now and
/// then (a ``SignalGenerator`` does both), or drive it with your own clock
/// (``closeBars(asOf:)``). Bars start on multiples of the interval from local midnight in
/// `timeZone`; a bar closes once the newest event time passes its end plus the late tolerance,
/// and trades for a closed bar are dropped (``Counts/lateTrades``).
public struct StreamProcessor: Sendable {
    /// Which bars drive the indicators.
    public enum BarSource: String, Sendable {
        /// Bars built here from trades; a provider's live bars are ignored.
        case trades
        /// The provider's own bars; trades are ignored.
        case providerBars
    }

    /// Counts of what was fed and dropped, over every ticker.
    public struct Counts: Sendable, Equatable {
        /// Trades taken into bars.
        public var trades: UInt64 = 0
        /// Trades for bars already closed.
        public var lateTrades: UInt64 = 0
        /// Trades whose id was seen before.
        public var duplicateTrades: UInt64 = 0
        /// Trades with a price, size or time out of range.
        public var invalidTrades: UInt64 = 0
        /// Bars fed to the indicators.
        public var bars: UInt64 = 0
        /// Bars not newer than the ticker's last one, or invalid.
        public var staleBars: UInt64 = 0
        /// History or provider bars of another length than ``StreamProcessor/barInterval``.
        public var otherIntervalBars: UInt64 = 0
        /// Events for tickers beyond ``StreamProcessor/maximumTickers``.
        public var tickersOverLimit: UInt64 = 0
    }

    /// The most tickers one processor follows.
    public static let maximumTickers = 10_000

    /// Closed bars kept per ticker (``window(for:)``).
    public let windowSize: Int
    /// The bar length.
    public let barInterval: Duration
    /// How long after its end a bar stays open for late trades.
    public let lateTolerance: Duration
    /// Which bars drive the indicators.
    public let barSource: BarSource
    /// Where bars and session indicators start their day.
    public let timeZone: TimeZone
    /// What was fed and dropped.
    public private(set) var counts = Counts()

    private let settings: ProcessorSettings
    /// One per ticker, in the order first seen.
    private var pipelines: [TickerPipeline] = []
    private var indices: [String: Int] = [:]
    /// The tickers seen, in the order first seen.
    public var tickers: [String] { pipelines.map(\.symbol) }
    private var latest: [String: Features] = [:]
    private var clock: EventClock

    /// - Parameters:
    ///   - windowSize: closed bars kept per ticker (the seed's `window_size`), at least 1.
    ///   - barInterval: the bar length, 1 s to a day; a signal can come once per bar.
    ///   - lateTolerance: how long a bar waits for late trades after its end.
    ///   - barSource: bars built from trades (the default) or the provider's own.
    ///   - timeZone: the exchange's, where bars and session indicators start their day.
    public init(
        windowSize: Int = 100, barInterval: Duration = .seconds(60), lateTolerance: Duration = .seconds(2),
        barSource: BarSource = .trades, timeZone: TimeZone = TimeZone(identifier: "America/New_York") ?? .gmt
    ) throws(ConfigurationError) {
        guard windowSize >= 1, windowSize <= TickwireConfig.Processor.maxWindowSize else {
            throw ConfigurationError("windowSize must be from 1 to \(TickwireConfig.Processor.maxWindowSize)")
        }
        guard lateTolerance >= .zero else { throw ConfigurationError("lateTolerance must not be negative") }
        var config = TickwireConfig()
        config.windowSize = windowSize
        config.processor.barIntervalSeconds = barInterval.inSeconds
        config.processor.lateToleranceSeconds = lateTolerance.inSeconds
        config.processor.barSource = barSource == .trades ? "trades" : "provider"
        config.marketHours.timezone = timeZone.identifier
        do {
            settings = try ProcessorSettings.resolve(config: config, instance: "tickwire", tickersFromCommandLine: nil)
        } catch {
            throw ConfigurationError("\(error.path.replacingOccurrences(of: "processor.bar_interval_seconds", with: "barInterval")): \(error.message)")
        }
        self.windowSize = settings.windowSize
        self.barInterval = barInterval
        self.lateTolerance = Nanoseconds.duration(settings.lateToleranceNs)
        self.barSource = barSource
        self.timeZone = settings.timeZone
        // In process, events are not checked against the wall clock (a simulation or a
        // replay keeps its own).
        clock = EventClock(maxLeadNs: .max)
    }

    /// Feeds one event and returns the bars it closed, oldest first. A trade closes every
    /// ticker's bars its time has passed (plus the tolerance); a history bar warms the ticker
    /// up; a provider's live bar is fed as it is (with ``BarSource/providerBars``). Quotes are
    /// not used.
    public mutating func process(_ event: MarketEvent) -> [ClosedBar] {
        switch event {
        case .quote:
            return []
        case .trade(let trade):
            guard barSource == .trades, let index = pipelineIndex(trade.symbol) else { return [] }
            let (message, time) = trade.contract(provider: "")
            // As in the processor, only a trade that could be real moves the clock.
            switch pipelines[index].add(message, time: time) {
            case .accepted:
                counts.trades &+= 1
                clock.observe(eventTime: time)
            case .late:
                counts.lateTrades &+= 1
                clock.observe(eventTime: time)
            case .duplicate:
                counts.duplicateTrades &+= 1
                clock.observe(eventTime: time)
            case .invalid, .outOfRange:
                counts.invalidTrades &+= 1
            }
            guard let newest = clock.newestEvent else { return [] }
            return close(asOf: newest)
        case .bar(let bar):
            let history = bar.origin == .history
            guard history || (barSource == .providerBars && bar.origin != .built) else { return [] }
            let message = bar.contract(provider: "")
            let length = Nanoseconds.subtracting(message.endTimeNs, message.startTimeNs)
            guard abs(Nanoseconds.subtracting(length, settings.barIntervalNs)) <= 1_000_000 else {
                counts.otherIntervalBars &+= 1
                return []
            }
            guard let index = pipelineIndex(bar.symbol) else { return [] }
            guard let output = pipelines[index].feed(message, fromHistory: history) else {
                counts.staleBars &+= 1
                return []
            }
            counts.bars &+= 1
            clock.observe(eventTime: history ? message.endTimeNs : message.startTimeNs)
            return [record(output)]
        }
    }

    /// Closes the bars the event clock has passed: the newest event time, moved on by the
    /// time since it arrived, so a quiet ticker's bar still closes. Call it a few times per
    /// bar interval (a ``SignalGenerator`` does).
    public mutating func closeDueBars() -> [ClosedBar] {
        guard clock.newestEvent != nil else { return [] }
        return close(asOf: clock.watermark())
    }

    /// Closes every ticker's bars that end, plus the late tolerance, by `time`.
    public mutating func closeBars(asOf time: Date) -> [ClosedBar] {
        close(asOf: time.nanoseconds)
    }

    /// The newest closed bars of `symbol`, oldest first, at most ``windowSize``.
    public func window(for symbol: String) -> [Bar] {
        indices[symbol].map { pipelines[$0].window.map(Bar.init) } ?? []
    }

    /// The features after `symbol`'s newest closed bar, once its indicators are warm.
    public func latestFeatures(for symbol: String) -> Features? { latest[symbol] }

    /// True once every feature of `symbol` is defined (after about 50 bars).
    public func isReady(_ symbol: String) -> Bool { indices[symbol].map { pipelines[$0].isReady } ?? false }

    // MARK: Internals

    private mutating func close(asOf watermark: Int64) -> [ClosedBar] {
        guard barSource == .trades else { return [] }
        var closed: [ClosedBar] = []
        for index in pipelines.indices {
            // Most calls close nothing: skip the pipelines with no bar due.
            guard let due = pipelines[index].builder.nextCloseTime, due <= watermark else { continue }
            for output in pipelines[index].close(asOf: watermark) {
                counts.bars &+= 1
                closed.append(record(output))
            }
        }
        return closed
    }

    private mutating func record(_ output: TickerPipeline.Output) -> ClosedBar {
        let features = output.features.map(Features.init)
        if let features { latest[output.bar.symbol] = features }
        return ClosedBar(bar: Bar(output.bar), features: features)
    }

    /// The pipeline of `symbol`, made on first sight (nil beyond ``maximumTickers``).
    private mutating func pipelineIndex(_ symbol: String) -> Int? {
        if let index = indices[symbol] { return index }
        guard pipelines.count < Self.maximumTickers else {
            counts.tickersOverLimit &+= 1
            return nil
        }
        pipelines.append(TickerPipeline(symbol: symbol, settings: settings))
        indices[symbol] = pipelines.count - 1
        return pipelines.count - 1
    }
}
