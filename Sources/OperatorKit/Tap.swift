import Bus
import Contracts
import Foundation
import Logging
import ServiceKit
import ServiceLifecycle
import Synchronization
import Timekeeping
import UnixSignals

/// What bus-tap was asked to do.
public struct TapRequest: Sendable {
    public enum Format: String, Sendable, CaseIterable { case json, table }

    public var endpoint: String
    public var patterns: [TopicPattern]
    /// Stop after this many messages (success); nil = no target.
    public var count: Int?
    /// Stop after this many seconds; with `count`, not reaching it in time is a failure.
    public var duration: Double?
    public var format: Format = .json
    /// Seconds between table redraws.
    public var refresh: Double = 1
    /// Topics the table keeps (least recently seen evicted beyond it).
    public var maxRows = TapStatistics.defaultMaxRows
    /// What a message must respect to be shown; refused ones are counted.
    public var limits = EnvelopeLimits()
    /// The subscriber socket's options (CURVE keys on a secured bus).
    public var socket = SocketOptions()

    public init(endpoint: String, patterns: [TopicPattern], count: Int? = nil, duration: Double? = nil) {
        self.endpoint = endpoint
        self.patterns = patterns
        self.count = count
        self.duration = duration
    }
}

/// The outcome of a tap run, as reported on exit.
public struct TapReport: Sendable {
    public var received: UInt64
    public var seconds: Double
    public var subscription: MessageSubscription.Statistics
    /// False when a count was asked for and not reached.
    public var satisfied: Bool

    /// One JSON line for standard error.
    public var jsonLine: String {
        let rejected = subscription.rejected.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }
            .joined(separator: ",")
        let rate = seconds > 0 ? Double(received) / seconds : 0
        return "{\"summary\":true,\"received\":\(received),\"seconds\":\(String(format: "%.3f", seconds)),"
            + "\"rate_per_s\":\(String(format: "%.1f", rate)),\"gaps\":\(subscription.sequence.gaps),"
            + "\"missing\":\(subscription.sequence.missing),\"duplicates\":\(subscription.sequence.duplicates),"
            + "\"rejected\":{\(rejected)},\"complete\":\(satisfied)}"
    }
}

/// bus-tap's engine: subscribe, print, count, and report.
public enum Tap {
    /// Runs until the count is reached, the duration passes, or SIGINT/SIGTERM arrives.
    public static func run(_ request: TapRequest, output: FileHandle = .standardOutput) async throws -> TapReport {
        // A reader that goes away (`bus-tap | head`) ends the run, it does not kill the process.
        DescriptorWrite.ignoreBrokenPipes()
        let context = try Context()
        let throttle = LogThrottle()
        var configuration = Subscription.Configuration()
        configuration.socket = request.socket
        let subscription = try await MessageSubscription(
            context: context, endpoint: request.endpoint, patterns: request.patterns, configuration: configuration,
            limits: request.limits,
            onIssue: { issue in
                guard throttle.shouldReport() else { return }
                let text: String
                switch issue {
                case .rejected(let rejection): text = "rejected a message: \(rejection)"
                case .gap(let stream, let missing):
                    text = "gap: \(missing) message(s) missing on \(stream.topic) from \(stream.service)/\(stream.instance)"
                case .duplicate(let stream, let sequence):
                    text = "duplicate sequence \(sequence) on \(stream.topic) from \(stream.service)/\(stream.instance)"
                }
                Tap.writeError("bus-tap: \(LogEscaping.escape(text))")
            })
        let service = TapService(request: request, subscription: subscription, output: output)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: .init(label: "bus-tap")
            ))
        try await group.run()
        await subscription.close()
        await context.terminate()
        return service.report.withLock { $0 }
            ?? TapReport(received: 0, seconds: 0, subscription: subscription.statistics, satisfied: request.count == nil)
    }

    /// Writes one line to standard error; a closed one is ignored.
    public static func writeError(_ line: String) {
        _ = DescriptorWrite.all(Array((line + "\n").utf8), to: STDERR_FILENO)
    }
}



/// Consumes the subscription inside a `ServiceGroup` so signals stop it gracefully.
final class TapService: Service, Sendable {
    let request: TapRequest
    let subscription: MessageSubscription
    let output: FileHandle
    let report = Mutex<TapReport?>(nil)

    init(request: TapRequest, subscription: MessageSubscription, output: FileHandle) {
        self.request = request
        self.subscription = subscription
        self.output = output
    }

    func run() async throws {
        let started = ContinuousClock.now
        let request = self.request
        let subscription = self.subscription
        let output = self.output
        let received: UInt64 = await withTaskGroup(of: UInt64?.self) { group in
            group.addTask {
                await Self.consume(request: request, subscription: subscription, output: output)
            }
            if let duration = request.duration {
                group.addTask {
                    try? await Task.sleep(for: Nanoseconds.duration(seconds: duration))
                    return nil
                }
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            var result = first
            while let next = await group.next() { result = result ?? next }
            return result ?? 0
        }
        let seconds = (ContinuousClock.now - started).components
        let elapsed = Double(seconds.seconds) + Double(seconds.attoseconds) / 1e18
        let satisfied = request.count.map { received >= UInt64(max(0, $0)) } ?? true
        report.withLock {
            $0 = TapReport(received: received, seconds: elapsed, subscription: subscription.statistics, satisfied: satisfied)
        }
    }

    /// Reads until cancelled or the count is reached; returns the messages received.
    static func consume(request: TapRequest, subscription: MessageSubscription, output: FileHandle) async -> UInt64 {
        var buffer: [UInt8] = []
        var statistics = TapStatistics(maxRows: request.maxRows)
        var received: UInt64 = 0
        var outputClosed = false
        let refresh = Nanoseconds.duration(seconds: request.refresh)
        var lastFlush = ContinuousClock.now
        var lastTable = ContinuousClock.now
        let isTerminal = isatty(output.fileDescriptor) != 0
        func flush() {
            if !buffer.isEmpty && !outputClosed {
                if let failure = DescriptorWrite.all(buffer, to: output.fileDescriptor) {
                    outputClosed = true
                    if failure.code != EPIPE { Tap.writeError("bus-tap: cannot write output: \(failure)") }
                }
            }
            buffer.removeAll(keepingCapacity: true)
            lastFlush = .now
        }
        func drawTable() {
            let window = (ContinuousClock.now - lastTable).components
            let seconds = Double(window.seconds) + Double(window.attoseconds) / 1e18
            let table = statistics.table(window: seconds, subscription: subscription.statistics)
            buffer.append(contentsOf: ((isTerminal ? "\u{1B}[H\u{1B}[2J" : "") + table + "\n").utf8)
            lastTable = .now
            flush()
        }
        do {
            for try await delivery in subscription.cancelOnGracefulShutdown() {
                received &+= 1
                switch request.format {
                case .json:
                    let line = TapFormatter.jsonLine(delivery, receivedAt: WallClock.nanoseconds())
                    buffer.append(contentsOf: line.utf8)
                    buffer.append(0x0A)
                    if buffer.count > 32_768 || ContinuousClock.now - lastFlush > .milliseconds(50) { flush() }
                case .table:
                    statistics.record(delivery)
                    if ContinuousClock.now - lastTable > refresh { drawTable() }
                }
                if outputClosed { break }
                if let count = request.count, received >= UInt64(max(0, count)) { break }
            }
        } catch {
            Tap.writeError("bus-tap: subscription failed: \(error)")
        }
        if request.format == .table { drawTable() }
        flush()
        return received
    }
}
