import Bars
import Contracts
import Bus
import Foundation
import Indicators
import ServiceKit
import SwiftProtobuf
import Synchronization
import Timekeeping

/// The ingestor's memory of recent bars, for processors that start mid-session.
///
/// Fed with every event the ingestor publishes. It builds bars from trades exactly as a
/// processor does (the same `BarBuilder`, interval, tolerance and time zone from the
/// `processor` config section) and keeps the provider's own bars (live and backfill)
/// separately. Both are bounded per ticker, and the tickers are bounded too (the least
/// recently seen is evicted). Events with times a processor would refuse (more than
/// `processor.max_event_lead_seconds` ahead, outside `BarTime`'s range) and invalid bars are
/// dropped and counted in ``statistics``. Requests are outside data as well: a bad one gets
/// an error reply, a huge one a bounded answer.
public final class BarHistory: Sendable {
    public struct Settings: Sendable {
        public var intervalNs: Int64
        public var lateToleranceNs: Int64
        public var timeZone: TimeZone
        public var capacity: Int
        public var maxEventLeadNs: Int64
        /// Tickers kept at most: twice the configured ones, at least 1,000.
        public var maxTickers: Int

        public init(config: TickwireConfig) {
            let processor = config.processor
            intervalNs = BarTime.clampedInterval(Nanoseconds.clampingSeconds(processor.barIntervalSeconds))
            lateToleranceNs = max(0, Nanoseconds.clampingSeconds(processor.lateToleranceSeconds))
            timeZone = TimeZone(identifier: config.marketHours.timezone) ?? .gmt
            capacity = min(max(1, config.ingestor.historyBars), TickwireConfig.Processor.maxHistoryBars)
            maxEventLeadNs = max(0, Nanoseconds.clampingSeconds(processor.maxEventLeadSeconds))
            maxTickers = max(1_000, 2 * config.tickers.count)
        }
    }

    /// Events dropped and tickers evicted so far.
    public struct Statistics: Sendable, Equatable {
        /// By counter name: `history.rejected.future_time`, `history.rejected.time_range`,
        /// `history.rejected.symbol` (not a valid topic key), `history.rejected.bar_span`, …
        /// (``BarProblem``).
        public var rejected: [String: UInt64] = [:]
        /// Tickers forgotten to make room for new ones (`history.evicted_tickers`).
        public var evictedTickers: UInt64 = 0
    }

    /// Symbols one request may name, at most.
    public static let maxRequestSymbols = 10_000
    /// Bars one reply holds, at most (about 10 MB encoded): with many symbols, each gets an
    /// equal share.
    public static let maxReplyBars = 100_000

    private struct Ticker {
        var builder: BarBuilder
        var built: [Bar] = []
        var provider: [Bar] = []
        var lastTradeProvider = ""
    }

    private struct Values {
        var tickers: RecencyMap<String, Ticker>
        var clock: EventClock
        var rejected: [String: UInt64] = [:]

        mutating func reject(_ reason: String) { rejected["history.rejected." + reason, default: 0] &+= 1 }
    }

    public let settings: Settings
    private let values: Mutex<Values>

    /// - Parameter reference: the clock event times are checked against; the wall clock
    ///   unless replaying.
    public init(settings: Settings, reference: ReferenceClock = .wall) {
        self.settings = settings
        values = Mutex(Values(
            tickers: RecencyMap(capacity: settings.maxTickers),
            clock: EventClock(maxLeadNs: settings.maxEventLeadNs, reference: reference)))
    }

    public var statistics: Statistics {
        values.withLock { Statistics(rejected: $0.rejected, evictedTickers: $0.tickers.evictions) }
    }

    /// Records one published trade, quote or bar (quotes are ignored).
    public func record(_ payload: Envelope.OneOf_Payload, eventTime time: Int64) {
        values.withLock { values in
            switch payload {
            case .trade(let trade):
                guard Self.isSymbol(trade.symbol) else { return values.reject("symbol") }
                guard values.clock.accepts(time) else { return values.reject("future_time") }
                guard BarTime.isSupported(time) else { return values.reject("time_range") }
                let outcome = values.tickers.update(trade.symbol, default: newTicker()) { ticker in
                    let outcome = ticker.builder.add(time: time, price: trade.price, size: trade.size)
                    if outcome == .accepted { ticker.lastTradeProvider = trade.provider }
                    return outcome
                }
                if outcome != .invalid { values.clock.observe(eventTime: time) }
            case .bar(let bar):
                guard bar.origin != .built else { return }
                guard Self.isSymbol(bar.symbol) else { return values.reject("symbol") }
                if let problem = bar.problem { return values.reject(problem.rawValue) }
                guard values.clock.accepts(bar.startTimeNs) else { return values.reject("future_time") }
                let capacity = settings.capacity
                values.tickers.update(bar.symbol, default: newTicker()) { ticker in
                    Self.append(bar, to: &ticker.provider, capacity: capacity)
                }
            default:
                break
            }
        }
    }

    /// Closes built bars that are due: call a few times per bar interval.
    public func closeDueBars() {
        let capacity = settings.capacity
        values.withLock { values in
            let watermark = values.clock.watermark()
            values.tickers.forEach { symbol, ticker in
                let provider = ticker.lastTradeProvider
                var closed: [BuiltBar] = []
                ticker.builder.close(asOf: watermark) { closed.append($0) }
                for built in closed {
                    let bar = Bar(built: built, symbol: symbol, provider: provider)
                    Self.append(bar, to: &ticker.built, capacity: capacity)
                }
            }
        }
    }

    /// Answers one request: the newest `maxBars` closed bars per symbol, oldest first.
    /// Bars built from trades are preferred; where they do not reach back far enough,
    /// earlier provider bars of the same length fill in.
    ///
    /// An error reply for an unknown schema version, an `interval_ns` that is not a bar length
    /// (0, negative, over `BarTime.maxIntervalNs`), another length than ours for built bars, or
    /// more than ``maxRequestSymbols`` symbols. Repeated symbols count once, and the answer
    /// holds at most ``maxReplyBars`` bars.
    public func reply(to request: HistoryRequest, producer: Producer) -> HistoryReply {
        var reply = HistoryReply()
        reply.schemaVersion = Codec.schemaVersion
        reply.producer = producer
        reply.intervalNs = settings.intervalNs
        guard request.schemaVersion == Codec.schemaVersion else {
            reply.error = "unknown schema version \(request.schemaVersion) (this ingestor speaks \(Codec.schemaVersion))"
            return reply
        }
        guard request.intervalNs > 0, request.intervalNs <= BarTime.maxIntervalNs else {
            reply.error = "interval_ns \(request.intervalNs) is not a bar length (1 ns to 366 days)"
            return reply
        }
        guard request.symbols.count <= Self.maxRequestSymbols else {
            reply.error = "\(request.symbols.count) symbols in one request; at most \(Self.maxRequestSymbols)"
            return reply
        }
        let wantsProvider = request.barSource == "provider"
        guard wantsProvider || request.intervalNs == settings.intervalNs else {
            reply.error =
                "this ingestor builds \(settings.intervalNs / 1_000_000_000) s bars, not \(request.intervalNs / 1_000_000_000) s: give it and the processors the same processor.bar_interval_seconds"
            return reply
        }
        var seen: Set<String> = []
        let symbols = request.symbols.filter { seen.insert($0).inserted }
        values.withLock { values in
            let present = symbols.filter { values.tickers.peek($0) != nil }
            let share = Self.maxReplyBars / max(1, present.count)
            let limit = max(1, min(Int(request.maxBars), settings.capacity, share))
            for symbol in present {
                guard let ticker = values.tickers.peek(symbol) else { continue }
                // Stored bars passed `Bar.problem`, so their spans cannot overflow.
                let provider = ticker.provider.filter { $0.endTimeNs - $0.startTimeNs == request.intervalNs }
                var bars: [Bar]
                if wantsProvider {
                    bars = provider
                } else {
                    let firstBuilt = ticker.built.first?.startTimeNs ?? Int64.max
                    bars = provider.filter { $0.endTimeNs <= firstBuilt } + ticker.built
                }
                reply.bars += bars.suffix(limit)
            }
        }
        return reply
    }

    /// The request/reply handler for a ``Replier``: decodes, answers, encodes.
    public func handle(frames: [[UInt8]], producer: Producer) -> [[UInt8]] {
        var reply: HistoryReply
        if frames.count == 1, let request = try? HistoryRequest(serializedBytes: frames[0]) {
            reply = self.reply(to: request, producer: producer)
        } else {
            reply = Self.errorReply(
                "malformed request: expected one frame holding a HistoryRequest, got \(frames.count) frame(s)",
                producer: producer)
        }
        do {
            return [try reply.serializedBytes()]
        } catch {
            let fallback = Self.errorReply("cannot encode the reply: \(error)", producer: producer)
            return [(try? fallback.serializedBytes()) ?? []]
        }
    }

    private static func errorReply(_ error: String, producer: Producer) -> HistoryReply {
        var reply = HistoryReply()
        reply.schemaVersion = Codec.schemaVersion
        reply.producer = producer
        reply.error = error
        return reply
    }

    /// Whether `symbol` could be a topic key (short, plain characters): the tickers map never
    /// keeps a megabyte-long key.
    private static func isSymbol(_ symbol: String) -> Bool {
        do {
            try Topic.validate(key: symbol)
            return true
        } catch {
            return false
        }
    }

    private func newTicker() -> Ticker {
        Ticker(builder: BarBuilder(intervalNs: settings.intervalNs, lateToleranceNs: settings.lateToleranceNs, timeZone: settings.timeZone))
    }

    private static func append(_ bar: Bar, to bars: inout [Bar], capacity: Int) {
        if let last = bars.last, bar.endTimeNs <= last.endTimeNs {
            // A repeat (REST polls return the same bar again) or out of order: replace or skip.
            if let index = bars.lastIndex(where: { $0.endTimeNs == bar.endTimeNs }) { bars[index] = bar }
            return
        }
        bars.append(bar)
        if bars.count > capacity { bars.removeFirst(bars.count - capacity) }
    }
}
