import Bars
import Contracts
import FeatureContract
import Indicators
import ServiceKit

/// One ticker's processing: trades into bars, bars into indicators and features.
///
/// Pure state, no I/O: the service feeds it and publishes what it returns, and the tests
/// drive it directly. Keeps the last `windowSize` closed bars.
public struct TickerPipeline: Sendable {
    public let symbol: String
    public private(set) var builder: BarBuilder
    public private(set) var pipeline: FeaturePipeline
    /// The newest closed bars, oldest first, at most `windowSize`.
    public private(set) var window: [Bar] = []
    public let windowSize: Int
    /// End of the newest bar fed to the indicators.
    public private(set) var lastBarEnd = Int64.min
    public private(set) var counts = Counts()
    private var tradeIDs = RecentSet<String>(capacity: 20_000)
    /// Bars fed live (not from history), and the end of the first of them.
    private var liveCount = 0
    private var firstLiveEnd: Int64?
    private var provider = ""

    public struct Counts: Sendable, Equatable {
        public var trades: UInt64 = 0
        public var lateTrades: UInt64 = 0
        public var duplicateTrades: UInt64 = 0
        public var invalidTrades: UInt64 = 0
        public var outOfRangeTrades: UInt64 = 0
        public var bars: UInt64 = 0
        public var staleBars: UInt64 = 0
        public var invalidBars: UInt64 = 0
    }

    /// A closed bar and, when every feature is defined, the features after it.
    public struct Output: Sendable {
        public var bar: Bar
        public var features: FeatureVector?
    }

    public init(symbol: String, settings: ProcessorSettings) {
        self.symbol = symbol
        builder = BarBuilder(
            intervalNs: settings.barIntervalNs, lateToleranceNs: settings.lateToleranceNs, timeZone: settings.timeZone)
        pipeline = FeaturePipeline(timeZone: settings.timeZone)
        windowSize = max(1, settings.windowSize)
        window.reserveCapacity(windowSize)
    }

    public enum TradeOutcome: Sendable, Equatable {
        case accepted, late, duplicate
        /// Price not positive and finite, size negative or not finite, or a provider and trade
        /// id longer than ``maxTradeKeyBytes`` together.
        case invalid
        /// The time lies outside `BarTime`'s range (1800 to 2200).
        case outOfRange
    }

    /// The longest provider + trade id kept for spotting repeats (bounds the memory of the
    /// last 20,000 ids).
    public static let maxTradeKeyBytes = 256

    /// Adds one trade. A trade id seen before (from the same provider) is ignored.
    public mutating func add(_ trade: Trade, time: Int64) -> TradeOutcome {
        if !trade.tradeID.isEmpty {
            let key = trade.provider + "/" + trade.tradeID
            guard key.utf8.count <= Self.maxTradeKeyBytes else {
                counts.invalidTrades &+= 1
                return .invalid
            }
            if !tradeIDs.insert(key) {
                counts.duplicateTrades &+= 1
                return .duplicate
            }
        }
        switch builder.add(time: time, price: trade.price, size: trade.size) {
        case .accepted:
            counts.trades &+= 1
            provider = trade.provider
            return .accepted
        case .late:
            counts.lateTrades &+= 1
            return .late
        case .invalid:
            counts.invalidTrades &+= 1
            return .invalid
        case .outOfRange:
            counts.outOfRangeTrades &+= 1
            return .outOfRange
        }
    }

    /// Closes the bars whose time (plus the late tolerance) has passed by `watermark` and
    /// feeds them to the indicators.
    public mutating func close(asOf watermark: Int64) -> [Output] {
        var closed: [BuiltBar] = []
        builder.close(asOf: watermark) { closed.append($0) }
        return closed.compactMap { built in feed(Bar(built: built, symbol: symbol, provider: provider)) }
    }

    /// Feeds one closed bar (built here, from the provider, or from history). A bar that
    /// does not end after the last one fed is stale, and one with a ``Bar/problem`` is
    /// invalid: counted and ignored.
    public mutating func feed(_ bar: Bar, fromHistory: Bool = false) -> Output? {
        guard bar.problem == nil else {
            counts.invalidBars &+= 1
            return nil
        }
        guard bar.endTimeNs > lastBarEnd else {
            counts.staleBars &+= 1
            return nil
        }
        lastBarEnd = bar.endTimeNs
        if fromHistory {
            builder.skip(through: bar.endTimeNs)
        } else {
            liveCount += 1
            if firstLiveEnd == nil { firstLiveEnd = bar.endTimeNs }
        }
        counts.bars &+= 1
        if window.count == windowSize { window.removeFirst() }
        window.append(bar)
        let ready = pipeline.update(
            OHLCV(time: bar.endTimeNs, open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume))
        return Output(bar: bar, features: ready ? featureVector(fromHistory: fromHistory) : nil)
    }

    /// True once every feature is defined.
    public var isReady: Bool { pipeline.isReady }

    /// Warms up from history that arrived late: after live bars started, or after an earlier,
    /// shorter answer (an ingestor still publishing its backfill). When every live bar fed so
    /// far is still in the window and `history` offers more bars before the first live one than
    /// were fed, the indicators start again from those history bars, then the live bars.
    /// Returns the newest output, or nil when the pipeline is ready, nothing is gained, or live
    /// bars have already left the window (then it simply carries on).
    public mutating func warmUp(from history: [Bar]) -> Output? {
        guard !pipeline.isReady else { return nil }
        let live = firstLiveEnd.map { end in window.filter { $0.endTimeNs >= end } } ?? []
        guard live.count == liveCount else { return nil }
        let cutoff = live.first?.startTimeNs ?? Int64.max
        let older = history.filter { $0.endTimeNs <= cutoff }
        guard older.count > window.count - live.count else { return nil }
        pipeline = FeaturePipeline(timeZone: pipeline.indicators.timeZone)
        window.removeAll(keepingCapacity: true)
        lastBarEnd = Int64.min
        counts.bars = 0
        liveCount = 0
        firstLiveEnd = nil
        var newest: Output?
        for bar in older { newest = feed(bar, fromHistory: true) ?? newest }
        for bar in live { newest = feed(bar) ?? newest }
        if let end = older.last?.endTimeNs { builder.skip(through: end) }
        return newest
    }

    /// The current features as a bus message.
    func featureVector(fromHistory: Bool) -> FeatureVector {
        var vector = FeatureVector()
        vector.symbol = symbol
        vector.featureSet = FeaturePipeline.schema.name
        vector.featureSetVersion = FeaturePipeline.schema.version
        vector.schemaHash = FeaturePipeline.schema.hash
        vector.names = FeaturePipeline.schema.names
        vector.values = pipeline.features
        vector.barEndTimeNs = lastBarEnd
        vector.close = pipeline.lastBar?.close ?? 0
        vector.fromHistory = fromHistory
        return vector
    }
}
