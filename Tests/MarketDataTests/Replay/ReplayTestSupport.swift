import Contracts
import Foundation
import Logging
import MarketData
import ServiceKit
import Synchronization
import TestSupport
import Testing

/// Collects what a provider hands its sink, with the wall-clock instant of each event.
final class ReplayRecorder: Sendable {
    struct State {
        var events: [MarketEvent] = []
        var instants: [ContinuousClock.Instant] = []
        var issues: [ProviderIssue] = []
        var counts: [String: UInt64] = [:]
        var rejected: [ProviderRejectReason: UInt64] = [:]
        var connected = 0
    }

    private let state = Mutex(State())

    var sink: ProviderSink {
        ProviderSink(
            logger: Logger(label: "replay-test"),
            onEvent: { event in
                let now = ContinuousClock.now
                self.state.withLock {
                    $0.events.append(event)
                    $0.instants.append(now)
                }
            },
            onIssue: { issue in self.state.withLock { $0.issues.append(issue) } },
            onCount: { name, amount in self.state.withLock { $0.counts[name, default: 0] += amount } },
            onReject: { reason, amount in self.state.withLock { $0.rejected[reason, default: 0] += amount } },
            onConnected: { self.state.withLock { $0.connected += 1 } }
        )
    }

    var events: [MarketEvent] { state.withLock { $0.events } }
    var instants: [ContinuousClock.Instant] { state.withLock { $0.instants } }
    var issues: [ProviderIssue] { state.withLock { $0.issues } }
    var counts: [String: UInt64] { state.withLock { $0.counts } }
    var rejected: [ProviderRejectReason: UInt64] { state.withLock { $0.rejected } }
    var connected: Int { state.withLock { $0.connected } }

    var bars: [Bar] {
        events.compactMap { event in
            if case .bar(let bar) = event { return bar }
            return nil
        }
    }

    var trades: [(trade: Trade, time: Int64)] {
        events.compactMap { event in
            if case .trade(let trade, let time) = event { return (trade, time) }
            return nil
        }
    }
}

/// The path of a fixture under `Fixtures/replay` (or another folder of `Fixtures`).
func replayFixture(_ name: String, folder: String = "replay") throws -> String {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/\(folder)"))
    return url.path
}

/// A config that replays `files` (entries may carry `#options`).
func replayConfig(_ files: [String], speed: Double = 0, loop: Bool = false, tickers: [String]? = nil) -> TickwireConfig {
    var config = TickwireConfig()
    config.provider = "replay"
    config.replay.files = files
    config.replay.speed = speed
    config.replay.loop = loop
    if let tickers { config.tickers = tickers }
    return config
}

/// Runs `provider` until `count` events arrived (or `seconds` passed), then cancels it and
/// waits for `run` to end. Returns the recorder and whether `run` had ended by itself before.
@discardableResult
func play(
    _ provider: ReplayProvider,
    symbols: [String]? = nil,
    until count: Int,
    seconds: Double = 10,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> ReplayRecorder {
    let recorder = ReplayRecorder()
    let sink = recorder.sink
    let symbols = symbols ?? TickwireConfig().tickers
    let task = Task { try await provider.run(symbols: symbols, sink: sink) }
    defer { task.cancel() }
    try await waitUntil(seconds: seconds, "\(count) events", sourceLocation: sourceLocation) { recorder.events.count >= count }
    task.cancel()
    try await withTimeout(seconds: 5, "run to end after cancellation") { try await task.value }
    return recorder
}

/// UTC nanoseconds of an ISO-8601 instant such as `2025-03-07T20:58:00Z`.
func utc(_ text: String) -> Int64 {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    let date = formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    guard let date else {
        Issue.record("bad instant in test: \(text)")
        return 0
    }
    return Int64((date.timeIntervalSince1970 * 1_000).rounded()) * 1_000_000
}

let minute: Int64 = 60_000_000_000
let day: Int64 = 86_400_000_000_000
