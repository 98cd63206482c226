import Contracts
import Foundation
import Indicators
import ServiceKit
import SwiftProtobuf
import Synchronization

/// The ingestor's memory of recent bars, for processors that start mid-session.
///
/// Fed with every event the ingestor publishes. It builds bars from trades exactly as a
/// processor does (the same `BarBuilder`, interval, tolerance and time zone from the
/// `processor` config section) and keeps the provider's own bars (live and backfill)
/// separately. Both are bounded per ticker.
public final class BarHistory: Sendable {
    public struct Settings: Sendable {
        public var intervalNs: Int64
        public var lateToleranceNs: Int64
        public var timeZone: TimeZone
        public var capacity: Int

        public init(config: TickwireConfig) {
            intervalNs = Int64(config.processor.barIntervalSeconds * 1e9)
            lateToleranceNs = Int64(config.processor.lateToleranceSeconds * 1e9)
            timeZone = TimeZone(identifier: config.marketHours.timezone) ?? .gmt
            capacity = config.ingestor.historyBars
        }
    }

    private struct Ticker {
        var builder: BarBuilder
        var built: [Bar] = []
        var provider: [Bar] = []
        var lastTradeProvider = ""
    }

    private struct Values {
        var tickers: [String: Ticker] = [:]
        var clock = EventClock()
    }

    public let settings: Settings
    private let values = Mutex(Values())

    public init(settings: Settings) {
        self.settings = settings
    }

    /// Records one published trade, quote or bar (quotes are ignored).
    public func record(_ payload: Envelope.OneOf_Payload, eventTime time: Int64) {
        values.withLock { values in
            switch payload {
            case .trade(let trade):
                values.clock.observe(eventTime: time)
                var ticker = values.tickers.removeValue(forKey: trade.symbol) ?? newTicker()
                if ticker.builder.add(time: time, price: trade.price, size: trade.size) == .accepted {
                    ticker.lastTradeProvider = trade.provider
                }
                values.tickers[trade.symbol] = ticker
            case .bar(let bar):
                guard bar.origin != .built else { return }
                var ticker = values.tickers.removeValue(forKey: bar.symbol) ?? newTicker()
                Self.append(bar, to: &ticker.provider, capacity: settings.capacity)
                values.tickers[bar.symbol] = ticker
            default:
                break
            }
        }
    }

    /// Closes built bars that are due: call a few times per bar interval.
    public func closeDueBars() {
        values.withLock { values in
            let watermark = values.clock.watermark()
            for symbol in Array(values.tickers.keys) {
                var ticker = values.tickers.removeValue(forKey: symbol)!
                let provider = ticker.lastTradeProvider
                var closed: [BuiltBar] = []
                ticker.builder.close(asOf: watermark) { closed.append($0) }
                for built in closed {
                    Self.append(Bar(built: built, symbol: symbol, provider: provider), to: &ticker.built, capacity: settings.capacity)
                }
                values.tickers[symbol] = ticker
            }
        }
    }

    /// Answers one request: the newest `maxBars` closed bars per symbol, oldest first.
    /// Bars built from trades are preferred; where they do not reach back far enough,
    /// earlier provider bars of the same length fill in.
    public func reply(to request: HistoryRequest, producer: Producer) -> HistoryReply {
        var reply = HistoryReply()
        reply.schemaVersion = Codec.schemaVersion
        reply.producer = producer
        reply.intervalNs = settings.intervalNs
        guard request.schemaVersion == Codec.schemaVersion else {
            reply.error = "unknown schema version \(request.schemaVersion) (this ingestor speaks \(Codec.schemaVersion))"
            return reply
        }
        let wantsProvider = request.barSource == "provider"
        guard wantsProvider || request.intervalNs == settings.intervalNs else {
            reply.error =
                "this ingestor builds \(settings.intervalNs / 1_000_000_000) s bars, not \(request.intervalNs / 1_000_000_000) s: give it and the processors the same processor.bar_interval_seconds"
            return reply
        }
        let limit = max(1, min(Int(request.maxBars), settings.capacity))
        values.withLock { values in
            for symbol in request.symbols {
                guard let ticker = values.tickers[symbol] else { continue }
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
            reply = HistoryReply()
            reply.schemaVersion = Codec.schemaVersion
            reply.producer = producer
            reply.error = "malformed request: expected one frame holding a HistoryRequest, got \(frames.count) frame(s)"
        }
        return [(try? reply.serializedBytes()) ?? []]
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
