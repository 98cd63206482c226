import Bus
import Contracts
import Foundation
import Logging
import ServiceKit
import ServiceLifecycle
import Synchronization
import Timekeeping
import UnixSignals

/// What `bus-tap --journal` was asked to print: journaled messages instead of live ones.
public struct JournalTapRequest: Sendable {
    /// Where the journal answers, and the options of the requesting socket (CURVE as a client
    /// of the `journal` identity on a secured bus).
    public var endpoint: String
    public var socket: SocketOptions
    /// How long one journal request may take.
    public var timeout: Duration
    public var patterns: [TopicPattern]
    /// Publish times in [fromNs, toNs); `fromNs` 0 is the oldest kept.
    public var fromNs: Int64
    public var toNs: Int64
    /// Stop after this many messages.
    public var count: Int?
    /// What a message must respect to be shown; refused ones are counted.
    public var limits: EnvelopeLimits
    /// Who asks, for the journal's log.
    public var requester = "bus-tap"

    public init(
        endpoint: String, socket: SocketOptions, timeout: Duration, patterns: [TopicPattern], fromNs: Int64, toNs: Int64,
        count: Int? = nil, limits: EnvelopeLimits = .init()
    ) {
        self.endpoint = endpoint
        self.socket = socket
        self.timeout = timeout
        self.patterns = patterns
        self.fromNs = fromNs
        self.toNs = toNs
        self.count = count
        self.limits = limits
    }

    /// The range `--from`/`--to` name: no `--from` is the oldest kept, no `--to` is `now`
    /// (what arrives while printing is not chased).
    public static func range(from: String?, to: String?, now: Int64 = WallClock.nanoseconds()) throws(JournalToolError)
        -> (fromNs: Int64, toNs: Int64)
    {
        var fromNs: Int64 = 0
        if let from { fromNs = try ReplayArguments.instant(from, option: "--from") }
        var toNs = now
        if let to { toNs = try ReplayArguments.instant(to, option: "--to") }
        guard toNs > fromNs else {
            throw .configuration(
                to == nil
                    ? "--from (\(from ?? "")) is in the future: nothing has been recorded there yet"
                    : "--to (\(to ?? "")) must be after --from (\(from ?? "the oldest kept")): the range is [from, to)")
        }
        return (max(0, fromNs), toNs)
    }
}

/// The outcome of `bus-tap --journal`, as reported on exit.
public struct JournalTapReport: Sendable, Equatable {
    /// Messages printed.
    public var received: UInt64 = 0
    /// Journaled messages refused by the envelope checks, by reason.
    public var rejected: [String: UInt64] = [:]
    public var pages = 0
    public var seconds: Double = 0
    /// The whole range was printed (not cut short by a signal, a closed output or a failure).
    public var complete = false

    public init() {}

    /// One JSON line for standard error, like the live tap's summary.
    public var jsonLine: String {
        let rejectedJSON = rejected.sorted { $0.key < $1.key }.map { "\(TapFormatter.quoted($0.key)):\($0.value)" }
            .joined(separator: ",")
        let rate = seconds > 0 ? Double(received) / seconds : 0
        return "{\"summary\":true,\"source\":\"journal\",\"received\":\(received),\"pages\":\(pages),"
            + "\"seconds\":\(String(format: "%.3f", seconds)),\"rate_per_s\":\(String(format: "%.1f", rate)),"
            + "\"rejected\":{\(rejectedJSON)},\"complete\":\(complete)}"
    }
}

/// How `bus-tap --journal` ended.
public struct JournalTapOutcome: Sendable {
    public var report: JournalTapReport
    public var failure: JournalToolError?
}

/// `bus-tap --journal`: reads the journal over request/reply and prints each message as the
/// live tap does (``TapFormatter/jsonLine(_:receivedAt:)``, the journal's reception time as
/// the time received).
public enum JournalTap {
    /// Prints the range, or what of it came before SIGINT/SIGTERM or a failure.
    public static func run(_ request: JournalTapRequest, output: FileHandle = .standardOutput) async -> JournalTapOutcome {
        // A reader that goes away (`bus-tap --journal | head`) ends the run, not the process.
        DescriptorWrite.ignoreBrokenPipes()
        let descriptor = output.fileDescriptor
        let service = CancellableRun { await execute(request, descriptor: descriptor) }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "bus-tap", factory: { _ in SwiftLogNoOpLogHandler() })))
        do {
            try await group.run()
        } catch {
            Tap.writeError("bus-tap: \(error)")
        }
        return service.result.withLock { $0 }
            ?? JournalTapOutcome(report: JournalTapReport(), failure: .failed("the journal tap did not run"))
    }

    static func execute(_ request: JournalTapRequest, descriptor: Int32) async -> JournalTapOutcome {
        let started = ContinuousClock.now
        var report = JournalTapReport()
        let context: Context
        do {
            context = try Context()
        } catch {
            return JournalTapOutcome(report: report, failure: .failed("cannot start ZeroMQ: \(error)"))
        }
        let client = JournalClient(
            context: context, endpoint: request.endpoint, options: request.socket, timeout: request.timeout,
            requester: request.requester, limits: request.limits)
        var pages = JournalPages(
            client: client, request: .patterns(request.patterns, fromNs: request.fromNs, toNs: request.toNs))
        var reader = JournalMessageReader(limits: request.limits)
        let throttle = LogThrottle()
        var buffer: [UInt8] = []
        var outputClosed = false
        var failure: JournalToolError?
        func flush() {
            if !buffer.isEmpty && !outputClosed, let problem = DescriptorWrite.all(buffer, to: descriptor) {
                outputClosed = true
                if problem.code != EPIPE { Tap.writeError("bus-tap: cannot write output: \(problem)") }
            }
            buffer.removeAll(keepingCapacity: true)
        }
        var finished = false
        pages: while true {
            let reply: JournalReply?
            do {
                reply = try await pages.next()
            } catch {
                failure = .journal(error, endpoint: request.endpoint, after: report.received)
                break
            }
            guard let reply else {
                finished = !Task.isCancelled
                break
            }
            report.pages += 1
            for message in reply.messages {
                switch reader.read(message) {
                case .failure(let rejection):
                    report.rejected[rejection.reason.rawValue, default: 0] += 1
                    if throttle.shouldReport() {
                        Tap.writeError("bus-tap: rejected a journaled message: \(LogEscaping.escape(rejection.description))")
                    }
                case .success(let delivery):
                    report.received += 1
                    buffer.append(contentsOf: TapFormatter.jsonLine(delivery, receivedAt: message.receivedNs).utf8)
                    buffer.append(0x0A)
                    if buffer.count > 32_768 { flush() }
                }
                if outputClosed || Task.isCancelled { break pages }
                if let count = request.count, report.received >= UInt64(max(0, count)) {
                    finished = true
                    break pages
                }
            }
            // A page at a time: a reader sees lines while the next page is on its way.
            flush()
        }
        flush()
        pages.close()
        await context.terminate()
        report.complete = finished && failure == nil && !outputClosed
        let elapsed = (ContinuousClock.now - started).components
        report.seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        return JournalTapOutcome(report: report, failure: failure)
    }
}
