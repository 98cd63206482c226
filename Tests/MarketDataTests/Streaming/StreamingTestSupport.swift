import Contracts
import Foundation
import Logging
import MarketData
import ServiceKit
import TestSupport
import Testing

/// Collects everything a provider hands its sink.
final class SinkRecorder: Sendable {
    let events = Collector<MarketEvent>()
    let issues = Collector<ProviderIssue>()
    let connections = Collector<Int>()
    private let counters = Collector<(String, UInt64)>()
    private let rejections = Collector<(ProviderRejectReason, UInt64)>()

    var sink: ProviderSink {
        ProviderSink(
            logger: Logger(label: "provider-test") { _ in SwiftLogNoOpLogHandler() },
            onEvent: { [events] in events.append($0) },
            onIssue: { [issues] in issues.append($0) },
            onCount: { [counters] name, amount in counters.append((name, amount)) },
            onReject: { [rejections] reason, amount in rejections.append((reason, amount)) },
            onConnected: { [connections] in connections.append(1) }
        )
    }

    func count(_ name: String) -> UInt64 { counters.values.filter { $0.0 == name }.reduce(0) { $0 + $1.1 } }

    var issueKinds: [ProviderIssue.Kind] { issues.values.map(\.kind) }

    /// Messages the provider dropped, by reason (`sink.reject`).
    var rejected: [ProviderRejectReason: UInt64] {
        rejections.values.reduce(into: [:]) { $0[$1.0, default: 0] += $1.1 }
    }
}

/// How `run` ended.
enum RunOutcome: Sendable, CustomStringConvertible {
    case returned
    case threw(any Error)

    var issue: ProviderIssue? {
        if case .threw(let error as ProviderIssue) = self { return error }
        return nil
    }

    var returnedNormally: Bool {
        if case .returned = self { return true }
        return false
    }

    var description: String {
        switch self {
        case .returned: "returned"
        case .threw(let error): "threw \(error)"
        }
    }
}

/// Runs `provider` once against `symbols`, bounded by `seconds`.
func runOnce(
    _ provider: some MarketDataProvider, symbols: [String], recorder: SinkRecorder, seconds: Double = 30,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> RunOutcome {
    let sink = recorder.sink
    return try await withTimeout(seconds: seconds, "\(provider.name).run", sourceLocation: sourceLocation) {
        do {
            try await provider.run(symbols: symbols, sink: sink)
            return RunOutcome.returned
        } catch {
            return RunOutcome.threw(error)
        }
    }
}

/// Short timeouts for loopback tests.
func testOptions(
    handshake: Duration = .seconds(5), setup: Duration = .seconds(5), ping: Duration = .seconds(2)
) -> StreamingOptions {
    StreamingOptions(handshakeTimeout: handshake, setupTimeout: setup, pingInterval: ping, closeTimeout: .seconds(1))
}

/// A config for `provider` pointing at `url` through `provider_url`.
func streamingConfig(
    _ provider: String, url: String = "", key: String? = "FAKE_KEY", secret: String? = nil,
    tickers: [String] = ["AAPL", "MSFT"]
) -> TickwireConfig {
    var config = TickwireConfig()
    config.provider = provider
    config.providerUrl = url
    config.apiKey = key.map(Secret.init)
    config.apiSecret = secret.map(Secret.init)
    config.tickers = tickers
    return config
}

/// The values of an event that the tests compare: kind, symbol, numbers, times (UTC ns).
struct Tick: Equatable, CustomStringConvertible {
    var kind: String
    var symbol: String
    var values: [Double]
    var time: Int64
    var end: Int64 = 0

    init(kind: String, symbol: String, values: [Double], time: Int64, end: Int64 = 0) {
        self.kind = kind
        self.symbol = symbol
        self.values = values
        self.time = time
        self.end = end
    }

    init(_ event: MarketEvent) {
        switch event {
        case .trade(let trade, let time):
            self.init(kind: "trade", symbol: trade.symbol, values: [trade.price, trade.size], time: time)
        case .quote(let quote, let time):
            self.init(
                kind: "quote", symbol: quote.symbol, values: [quote.bidPrice, quote.bidSize, quote.askPrice, quote.askSize],
                time: time)
        case .bar(let bar):
            self.init(
                kind: "bar", symbol: bar.symbol, values: [bar.open, bar.high, bar.low, bar.close, bar.volume],
                time: bar.startTimeNs, end: bar.endTimeNs)
        }
    }

    var description: String { "\(kind) \(symbol) \(values) @\(time)\(end == 0 ? "" : "–\(end)")" }
}

/// Reading JSON values the way a test computes expectations (independently of the parsers).
extension Dictionary where Key == String, Value == Any {
    func number(_ key: String) throws -> Double {
        try #require((self[key] as? NSNumber)?.doubleValue, "no number '\(key)' in \(self)")
    }

    func int(_ key: String) throws -> Int64 {
        try #require((self[key] as? NSNumber)?.int64Value, "no integer '\(key)' in \(self)")
    }

    func text(_ key: String) throws -> String {
        try #require(self[key] as? String, "no text '\(key)' in \(self)")
    }
}

/// The objects of every server frame (arrays flattened), in order.
func serverObjects(_ transcript: Transcript) throws -> [[String: Any]] {
    var objects: [[String: Any]] = []
    for value in try Fixture.serverValues(transcript) {
        if let array = value as? [[String: Any]] {
            objects += array
        } else if let object = value as? [String: Any] {
            objects.append(object)
        }
    }
    return objects
}

/// RFC 3339 UTC text → ns, computed with Foundation for the whole seconds and the digits of the
/// fraction as written (an independent check of the provider's parser).
func referenceNanoseconds(_ text: String) throws -> Int64 {
    let dot = text.firstIndex(of: ".")
    let zone = try #require(text.firstIndex(of: "Z"))
    let whole = String(text[..<(dot ?? zone)]) + "Z"
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    let date = try #require(formatter.date(from: whole), "cannot read \(whole)")
    var fraction: Int64 = 0
    if let dot {
        let digits = String(text[text.index(after: dot)..<zone])
        fraction = try #require(Int64(digits.padding(toLength: 9, withPad: "0", startingAt: 0)))
    }
    return Int64(date.timeIntervalSince1970) * 1_000_000_000 + fraction
}

/// Runs `body` against a fresh fake server and always stops the server afterwards.
func withFakeServer<T: Sendable>(
    replaying transcript: Transcript, waitScale: Double = 0.01, _ body: (FakeWebSocketServer) async throws -> T
) async throws -> T {
    let server = try await FakeWebSocketServer.start(replaying: transcript, waitScale: waitScale)
    do {
        let value = try await body(server)
        await server.stop()
        return value
    } catch {
        await server.stop()
        throw error
    }
}

/// Client frames as canonical JSON (sorted keys), for comparing with a fixture's.
func canonical(_ frames: [String]) -> [String] { frames.map { Transcript.canonical(text: $0) } }
