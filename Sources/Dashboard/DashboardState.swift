import Contracts
import Foundation

/// What the dashboard shows, built from bus messages and bounded in every direction: at most
/// ``maxTickers`` tickers (least recently updated evicted), ``maxServices`` services,
/// ``recentAlerts`` alerts and ``sparklinePoints`` prices per ticker. Every number is checked
/// for finiteness before it is kept (a non-finite one is skipped), every text cut to a length.
public struct DashboardState: Sendable {
    public static let maxTickers = 256
    public static let maxServices = 64
    public static let recentAlerts = 20
    public static let sparklinePoints = 60
    static let textLimit = 200

    /// One ticker's row.
    public struct Ticker: Sendable, Codable, Equatable {
        public var symbol: String
        public var price: Double?
        public var priceTimeNs: Int64 = 0
        /// Recent prices, oldest first, one per trade or bar close (at most sparklinePoints).
        public var prices: [Double] = []
        public var bar: Bar?
        public var signal: Signal?
        var touched: UInt64 = 0
    }

    public struct Bar: Sendable, Codable, Equatable {
        public var endTimeNs: Int64
        public var open: Double, high: Double, low: Double, close: Double, volume: Double
    }

    public struct Vote: Sendable, Codable, Equatable {
        public var model: String
        public var action: String
        public var probability: Double
        public var weight: Double
        public var liveAccuracy: Double
    }

    public struct Signal: Sendable, Codable, Equatable {
        public var action: String
        public var confidence: Double
        public var price: Double
        public var timeNs: Int64
        public var ensemble: String
        public var votes: [Vote]
    }

    /// A service instance's last heartbeat.
    public struct Service: Sendable, Codable, Equatable {
        public var service: String
        public var instance: String
        public var state: String
        public var uptimeSeconds: Double
        public var messagesIn: UInt64
        public var messagesOut: UInt64
        public var errors: UInt64
        public var intervalSeconds: Double
        /// When its last heartbeat arrived, by the dashboard's clock (UTC nanoseconds).
        public var seenNs: Int64
    }

    public struct Alert: Sendable, Codable, Equatable {
        public var severity: String
        public var category: String
        public var title: String
        public var message: String
        public var service: String
        public var timeNs: Int64
    }

    public private(set) var tickers: [String: Ticker] = [:]
    public private(set) var services: [String: Service] = [:]
    public private(set) var alerts: [Alert] = []
    public private(set) var session: String = ""
    /// Bumped on every change; the page is sent again only when it moved.
    public private(set) var version: UInt64 = 0

    public init() {}

    static func clip(_ text: String) -> String { text.count <= textLimit ? text : String(text.prefix(textLimit)) + "…" }

    /// Takes one accepted bus message, received at `nowNs`.
    public mutating func apply(_ delivery: Delivery, nowNs: Int64) {
        switch delivery.payload {
        case .trade(let trade):
            guard trade.price.isFinite, trade.price > 0 else { return }
            updateTicker(trade.symbol) { ticker in
                ticker.price = trade.price
                ticker.priceTimeNs = delivery.eventTimeNs
                Self.push(trade.price, into: &ticker.prices)
            }
        case .bar(let bar):
            let values = [bar.open, bar.high, bar.low, bar.close, bar.volume]
            guard values.allSatisfy(\.isFinite), bar.close > 0 else { return }
            updateTicker(bar.symbol) { ticker in
                ticker.bar = Bar(
                    endTimeNs: bar.endTimeNs, open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume)
                if ticker.priceTimeNs <= bar.endTimeNs {
                    ticker.price = bar.close
                    ticker.priceTimeNs = bar.endTimeNs
                    if ticker.prices.isEmpty { Self.push(bar.close, into: &ticker.prices) }
                }
            }
        case .signal(let signal):
            guard signal.confidence.isFinite, signal.price.isFinite else { return }
            let votes = signal.votes.prefix(16).map { vote in
                Vote(
                    model: Self.clip(vote.model), action: Self.action(vote.action),
                    probability: vote.probability.isFinite ? vote.probability : 0,
                    weight: vote.weight.isFinite ? vote.weight : 0,
                    liveAccuracy: vote.liveAccuracy.isFinite ? vote.liveAccuracy : 0)
            }
            updateTicker(signal.symbol) { ticker in
                ticker.signal = Signal(
                    action: Self.action(signal.action), confidence: signal.confidence, price: signal.price,
                    timeNs: delivery.eventTimeNs, ensemble: Self.clip(signal.ensembleMethod), votes: Array(votes))
            }
        case .status(let status):
            let key = Self.clip(status.service) + "/" + Self.clip(status.instance)
            if services[key] == nil, services.count >= Self.maxServices {
                // Forget the one heard from longest ago.
                if let oldest = services.min(by: { $0.value.seenNs < $1.value.seenNs })?.key { services[oldest] = nil }
            }
            services[key] = Service(
                service: Self.clip(status.service), instance: Self.clip(status.instance), state: Self.state(status.state),
                uptimeSeconds: status.uptimeSeconds.isFinite ? status.uptimeSeconds : 0, messagesIn: status.messagesIn,
                messagesOut: status.messagesOut, errors: status.errors,
                intervalSeconds: status.intervalSeconds.isFinite ? min(max(status.intervalSeconds, 0), 3_600) : 5,
                seenNs: nowNs)
        case .alert(let alert):
            alerts.insert(
                Alert(
                    severity: Self.severity(alert.severity), category: Self.clip(alert.category), title: Self.clip(alert.title),
                    message: Self.clip(alert.message), service: Self.clip(alert.service), timeNs: delivery.eventTimeNs),
                at: 0)
            if alerts.count > Self.recentAlerts { alerts.removeLast(alerts.count - Self.recentAlerts) }
        case .session(let session):
            self.session = Self.clip("\(session.phase) \(session.tradingDay)")
        default:
            return
        }
        version &+= 1
    }

    mutating func updateTicker(_ rawSymbol: String, _ change: (inout Ticker) -> Void) {
        let symbol = Self.clip(rawSymbol)
        if tickers[symbol] == nil, tickers.count >= Self.maxTickers {
            if let oldest = tickers.min(by: { $0.value.touched < $1.value.touched })?.key { tickers[oldest] = nil }
        }
        var ticker = tickers[symbol] ?? Ticker(symbol: symbol)
        change(&ticker)
        ticker.touched = version &+ 1
        tickers[symbol] = ticker
    }

    static func push(_ price: Double, into prices: inout [Double]) {
        prices.append(price)
        if prices.count > sparklinePoints { prices.removeFirst(prices.count - sparklinePoints) }
    }

    static func action(_ action: Action) -> String {
        switch action {
        case .buy: "BUY"
        case .sell: "SELL"
        case .hold: "HOLD"
        default: "?"
        }
    }

    static func state(_ state: ServiceState) -> String {
        switch state {
        case .starting: "starting"
        case .running: "running"
        case .degraded: "degraded"
        case .stopping: "stopping"
        default: "unknown"
        }
    }

    static func severity(_ severity: Severity) -> String {
        switch severity {
        case .critical: "critical"
        case .error: "error"
        case .warning: "warning"
        default: "info"
        }
    }

    /// The JSON the page renders: tickers by symbol, services by name with `stale` when a
    /// heartbeat is more than three intervals late at `nowNs`, the recent alerts.
    public func snapshot(nowNs: Int64) -> Data {
        struct ServiceRow: Encodable {
            var status: Service
            var stale: Bool
            var ageSeconds: Double
        }
        struct Snapshot: Encodable {
            var version: UInt64
            var nowNs: Int64
            var session: String
            var tickers: [Ticker]
            var services: [ServiceRow]
            var alerts: [Alert]
        }
        let rows = services.values.sorted { ($0.service, $0.instance) < ($1.service, $1.instance) }.map { service in
            let age = Double(nowNs.subtractingReportingOverflow(service.seenNs).partialValue) / 1e9
            return ServiceRow(status: service, stale: age > 3 * max(service.intervalSeconds, 1), ageSeconds: max(age, 0))
        }
        let snapshot = Snapshot(
            version: version, nowNs: nowNs, session: session, tickers: tickers.values.sorted { $0.symbol < $1.symbol },
            services: rows, alerts: alerts)
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return (try? encoder.encode(snapshot)) ?? Data("{}".utf8)
    }
}
