import Contracts
import Foundation
import Hummingbird
import Logging
import MarketData
import NIOCore
import ServiceKit
import Synchronization
import TestSupport
import ServiceLifecycle
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

// The complete example provider of docs/providers.md, compiled and run here. The test
// `docMatchesCode` checks that the doc shows exactly the code between the two markers.

// BEGIN EXAMPLE
/// A hypothetical HTTP-polling provider. `GET <provider_url>/last?symbols=AAPL,MSFT`, with the
/// key as a bearer token, answers one line per symbol: `SYMBOL,PRICE,SIZE,EPOCH_MILLISECONDS`.
struct LastPriceProvider: MarketDataProvider {
    let name = "lastprice"
    let endpoint: URL
    let apiKey: Secret
    let interval: Duration

    /// Checks the config once, at start; a bad value is a ConfigError naming its path.
    init(config: TickwireConfig) throws(ConfigError) {
        guard let url = URL(string: config.providerUrl), ["http", "https"].contains(url.scheme ?? "") else {
            throw ConfigError(path: "provider_url", message: "lastprice needs an http(s) URL")
        }
        guard let key = config.apiKey, !key.isEmpty else {
            throw ConfigError(path: "api_key", message: "lastprice needs an API key")
        }
        endpoint = url.appendingPathComponent("last")
        apiKey = key
        interval = .seconds(config.updateInterval)
    }

    func run(symbols: [String], sink: ProviderSink) async throws {
        // connect() and subscribe(): over HTTP, every request carries the key and the symbols.
        var components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false)
        components?.queryItems = [URLQueryItem(name: "symbols", value: symbols.joined(separator: ","))]
        guard let url = components?.url else {
            throw ProviderIssue(.invalidRequest, "lastprice: cannot build a URL from \(endpoint)", isFatal: true)
        }
        var request = URLRequest(url: url)
        request.setValue("Bearer \(apiKey.value)", forHTTPHeaderField: "Authorization")

        // Until cancelled: Task.sleep throws CancellationError, which ends run.
        while true {
            // Poll only while the market is open (market.session, or ingestor.session_default).
            guard case .open = sink.currentSession else {
                try await Task.sleep(for: .seconds(1))
                continue
            }
            // get_latest_data(): one request for all symbols. A network error is thrown as
            // is: the ingestor raises an alert and calls run again after a backoff.
            let (body, response) = try await URLSession.shared.data(for: request)
            sink.count("requests")
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            switch status {
            case 200:
                sink.connected()  // resets the ingestor's reconnect backoff
            case 401, 403:
                throw ProviderIssue(.authFailed, "lastprice: the API key was refused", isFatal: true, code: status)
            case 429:
                sink.report(ProviderIssue(.rateLimited, "lastprice: rate limited; slowing down", code: status))
                try await Task.sleep(for: interval * 5)
                continue
            default:
                throw ProviderIssue(.httpStatus, "lastprice: HTTP \(status) from \(url.path)", code: status)
            }
            for line in String(decoding: body, as: UTF8.self).split(whereSeparator: \.isNewline) {
                if let event = Self.trade(from: line) {
                    sink.emit(event)
                } else {
                    sink.report(ProviderIssue(.malformedPayload, "lastprice: cannot read '\(line.prefix(80))'"))
                }
            }
            try await Task.sleep(for: interval)
        }
        // disconnect(): nothing to close here; leaving run is the disconnect.
    }

    /// `AAPL,213.18,100,1710430920123` → a trade at that instant (UTC nanoseconds).
    static func trade(from line: Substring) -> MarketEvent? {
        let fields = line.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == 4, !fields[0].isEmpty, let price = Double(fields[1]), let size = Double(fields[2]),
            let milliseconds = Int64(fields[3]), price > 0, size >= 0
        else { return nil }
        var trade = Trade()
        trade.symbol = String(fields[0])
        trade.price = price
        trade.size = size
        trade.provider = "lastprice"
        return .trade(trade, time: milliseconds * 1_000_000)
    }
}
// END EXAMPLE

/// A fake `lastprice` server on a free loopback port.
func withLastPriceServer(
    key: String = "secret", _ body: @Sendable (_ baseURL: String, _ requests: Collector<String>) async throws -> Void
) async throws {
    let requests = Collector<String>()
    let router = Router()
    router.get("last") { request, _ -> String in
        requests.append(request.uri.query ?? "")
        guard request.headers[.authorization] == "Bearer \(key)" else { throw HTTPError(.unauthorized) }
        let symbols = request.uri.queryParameters.get("symbols")?.split(separator: ",") ?? []
        var lines = symbols.enumerated().map { index, symbol in "\(symbol),\(100 + index).5,10,1704205800\(100 + index)" }
        lines.append("garbage")
        return lines.joined(separator: "\n") + "\n"
    }
    let port = Mutex<Int?>(nil)
    var logger = Logger(label: "lastprice-fake")
    logger.logLevel = .warning
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } }, logger: logger)
    // Stopped by graceful shutdown: cancelling a NIO server with a live connection can trap.
    let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
    let server = Task { try await group.run() }
    do {
        try await waitUntil("the fake server to listen") { port.withLock { $0 } != nil }
        try await body("http://127.0.0.1:\(port.withLock { $0 } ?? 0)", requests)
    } catch {
        await group.triggerGracefulShutdown()
        _ = await server.result
        throw error
    }
    await group.triggerGracefulShutdown()
    _ = await server.result
}

@Suite("Doc example provider")
struct DocExampleProviderTests {
    func config(url: String, key: String?) -> TickwireConfig {
        var config = TickwireConfig()
        config.providerUrl = url
        config.apiKey = key.map(Secret.init)
        config.updateInterval = 0.05
        return config
    }

    @Test("polls, emits a trade per symbol with exact values, reports the bad line, says connected")
    func polls() async throws {
        try await withLastPriceServer { baseURL, requests in
            let provider = try LastPriceProvider(config: config(url: baseURL, key: "secret"))
            let recorder = ReplayRecorder()
            let sink = recorder.sink
            let task = Task { try await provider.run(symbols: ["AAPL", "BRK.B"], sink: sink) }
            try await waitUntil("two polls") { recorder.trades.count >= 4 }
            task.cancel()
            _ = await task.result
            let trades = recorder.trades
            #expect(trades.prefix(2).map(\.trade.symbol) == ["AAPL", "BRK.B"])
            #expect(trades.prefix(2).map(\.trade.price) == [100.5, 101.5])
            #expect(trades.first?.time == 1_704_205_800_100_000_000)
            #expect(requests.values.first == "symbols=AAPL,BRK.B")
            #expect(recorder.issues.first?.kind == .malformedPayload)
            #expect(recorder.connected >= 2)
            #expect((recorder.counts["requests"] ?? 0) >= 2)
        }
    }

    @Test("a refused key ends run with a fatal auth_failed issue")
    func refusedKey() async throws {
        try await withLastPriceServer { baseURL, _ in
            let provider = try LastPriceProvider(config: config(url: baseURL, key: "wrong"))
            await #expect {
                try await provider.run(symbols: ["AAPL"], sink: ReplayRecorder().sink)
            } throws: { error in
                (error as? ProviderIssue).map { $0.kind == .authFailed && $0.isFatal && $0.code == 401 } ?? false
            }
        }
    }

    @Test("while the session is closed it does not poll")
    func closedSession() async throws {
        try await withLastPriceServer { baseURL, requests in
            let provider = try LastPriceProvider(config: config(url: baseURL, key: "secret"))
            let sink = ProviderSink(logger: Logger(label: "closed"), onEvent: { _ in }, session: { .closed })
            let task = Task { try await provider.run(symbols: ["AAPL"], sink: sink) }
            try await Task.sleep(for: .milliseconds(200))
            task.cancel()
            _ = await task.result
            #expect(requests.count == 0)
        }
    }

    @Test("config errors name their path")
    func configErrors() {
        #expect(throws: ConfigError(path: "provider_url", message: "lastprice needs an http(s) URL")) {
            try LastPriceProvider(config: config(url: "ftp://example.com", key: "k"))
        }
        #expect(throws: ConfigError(path: "api_key", message: "lastprice needs an API key")) {
            try LastPriceProvider(config: config(url: "http://127.0.0.1:1", key: nil))
        }
    }

    @Test("docs/providers.md shows exactly this example")
    func docMatchesCode() throws {
        let testFile = URL(fileURLWithPath: #filePath)
        let root = testFile.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/providers.md"), encoding: .utf8)
        let source = try String(contentsOf: testFile, encoding: .utf8)
        func between(_ text: String, _ start: String, _ end: String) -> String? {
            guard let from = text.range(of: start), let to = text.range(of: end, range: from.upperBound..<text.endIndex) else {
                return nil
            }
            return String(text[from.upperBound..<to.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let code = try #require(between(source, "// BEGIN " + "EXAMPLE", "// END " + "EXAMPLE"))
        let shown = try #require(between(doc, "<!-- example:begin -->\n```swift", "```\n<!-- example:end -->"))
        #expect(shown == code)
    }
}
