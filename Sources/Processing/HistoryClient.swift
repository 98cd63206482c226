import Bars
import Bus
import Contracts
import Logging
import SwiftProtobuf
import Timekeeping

/// Asks history endpoints (the ingestors' `history_bind`) for recent bars, so a processor
/// that starts mid-session is ready at once instead of after `window_size` bars.
public struct HistoryClient: Sendable {
    public let context: Context
    public let endpoints: [String]
    public let timeout: Duration
    public let requester: String
    /// The requesting socket's options (CURVE as a client of the ingestor's key, when secured).
    public let options: SocketOptions

    public init(
        context: Context, endpoints: [String], timeout: Duration, requester: String, options: SocketOptions = .init()
    ) {
        self.context = context
        self.endpoints = endpoints
        self.timeout = timeout
        self.requester = requester
        self.options = options
    }

    /// What came back: bars per symbol (oldest first), a note per endpoint that failed, and
    /// bars dropped from the replies by counter name (`history.rejected.<reason>`).
    public struct Result: Sendable {
        public var bars: [String: [Bar]] = [:]
        public var problems: [String] = []
        public var rejected: [String: UInt64] = [:]
    }

    /// Asks every endpoint at once and keeps, per symbol, the longest answer whose bar
    /// length matches `intervalNs`.
    ///
    /// A reply is outside data: only symbols asked for are kept (else
    /// `history.rejected.unrequested`), at most `maxBars` per symbol (else
    /// `history.rejected.excess`), bars of another length are dropped
    /// (`history.rejected.interval`) and so is every bar with a ``Bar/problem``
    /// (`history.rejected.<problem>`).
    public func fetch(symbols: [String], intervalNs: Int64, maxBars: Int, source: String) async -> Result {
        var request = HistoryRequest()
        request.schemaVersion = Codec.schemaVersion
        request.symbols = symbols
        request.intervalNs = intervalNs
        request.maxBars = UInt32(clamping: maxBars)
        request.requester = requester
        request.barSource = source
        let body: [UInt8]
        do {
            body = try request.serializedBytes()
        } catch {
            return Result(problems: ["cannot encode the request: \(error)"])
        }
        let millis = Nanoseconds.timeoutMilliseconds(timeout)
        let wanted = Set(symbols)
        let perSymbol = max(1, maxBars)
        let context = self.context
        let options = self.options
        return await withTaskGroup(of: (String, Swift.Result<HistoryReply?, any Error>).self) { group in
            for endpoint in endpoints {
                group.addTask {
                    do {
                        guard let frames = try await Requester.request(
                            context: context, endpoint: endpoint, request: [body], timeoutMilliseconds: millis,
                            options: options)
                        else { return (endpoint, .success(nil)) }
                        guard frames.count == 1 else {
                            return (endpoint, .failure(HistoryError(message: "reply has \(frames.count) frames, expected 1")))
                        }
                        return (endpoint, .success(try HistoryReply(serializedBytes: frames[0])))
                    } catch {
                        return (endpoint, .failure(error))
                    }
                }
            }
            var result = Result()
            for await (endpoint, outcome) in group {
                switch outcome {
                case .success(nil):
                    result.problems.append("\(endpoint): no reply within \(timeout)")
                case .failure(let error):
                    result.problems.append("\(endpoint): \(error)")
                case .success(let reply?):
                    if !reply.error.isEmpty {
                        result.problems.append("\(endpoint): \(reply.error)")
                        continue
                    }
                    guard reply.schemaVersion == Codec.schemaVersion else {
                        result.problems.append("\(endpoint): unknown schema version \(reply.schemaVersion)")
                        continue
                    }
                    var bySymbol: [String: [Bar]] = [:]
                    for bar in reply.bars {
                        let reason: String?
                        if !wanted.contains(bar.symbol) {
                            reason = "unrequested"
                        } else if let problem = bar.problem {
                            reason = problem.rawValue
                        } else if Nanoseconds.checkedSubtracting(bar.endTimeNs, bar.startTimeNs) != intervalNs {
                            reason = "interval"
                        } else if bySymbol[bar.symbol, default: []].count >= perSymbol {
                            reason = "excess"
                        } else {
                            reason = nil
                        }
                        if let reason {
                            result.rejected["history.rejected." + reason, default: 0] &+= 1
                        } else {
                            bySymbol[bar.symbol, default: []].append(bar)
                        }
                    }
                    for (symbol, bars) in bySymbol where bars.count > (result.bars[symbol]?.count ?? 0) {
                        result.bars[symbol] = bars.sorted { $0.endTimeNs < $1.endTimeNs }
                    }
                }
            }
            return result
        }
    }

    struct HistoryError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
