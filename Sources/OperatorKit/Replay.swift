import Bus
import Contracts
import Foundation
import Logging
import ServiceKit
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import Timekeeping
import UnixSignals

// `tickwire replay` (docs/bus.md, "Replay and bus-tap --journal"): journaled messages read
// page by page and published again, paced like the original session, as identity `tickwire`.

/// Why `tickwire replay` or `bus-tap --journal` could not do (all of) its work.
public enum JournalToolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A bad argument or setting (exit 78, `ServiceRuntime.configErrorExitCode`).
    case configuration(String)
    /// The journal did not answer or refused, or the bus failed (exit 1).
    case failed(String)

    public var exitCode: Int32 {
        switch self {
        case .configuration: ServiceRuntime.configErrorExitCode
        case .failed: 1
        }
    }

    public var description: String {
        switch self {
        case .configuration(let message), .failed(let message): message
        }
    }

    /// What a failed journal request means to an operator: where it asked, and what must run.
    static func journal(_ failure: JournalClient.Failure, endpoint: String, after messages: UInt64) -> JournalToolError {
        let context = messages == 0 ? "" : " after \(messages) message(s)"
        switch failure {
        case .noReply:
            return .failed(
                "\(failure)\(context). The `journal` service must be running and answering there "
                    + "(journal.endpoint in the config, TICKWIRE_JOURNAL_ENDPOINT, or --journal-endpoint)")
        case .refused, .malformed, .bus:
            return .failed("asking the journal at \(endpoint)\(context): \(failure)")
        }
    }
}

/// `tickwire replay`'s command line, as typed, checked into a ``ReplayRange``.
public struct ReplayArguments: Sendable {
    public var from: String?
    public var to: String?
    public var topics: [String]
    public var speed: String?

    public init(from: String?, to: String?, topics: [String] = [], speed: String? = nil) {
        self.from = from
        self.to = to
        self.topics = topics
        self.speed = speed
    }

    /// The fastest pace accepted (recorded seconds per real second).
    public static let maxSpeed = 10_000.0
    /// Market data: a session replayed through the processors and new models.
    public static let defaultTopics = ["tick.", "bar."]

    /// The instant `text` names (`2026-12-04T14:30:00Z`, `…-05:00`), in UTC nanoseconds.
    public static func instant(_ text: String?, option: String) throws(JournalToolError) -> Int64 {
        guard let text, !text.isEmpty else {
            throw .configuration("\(option) is required: an ISO 8601 instant such as 2026-12-04T14:30:00Z")
        }
        guard let value = ISO8601Instant.parse(text) else {
            throw .configuration(
                "\(option) '\(clip(text))' is not an ISO 8601 instant with a UTC offset, "
                    + "e.g. 2026-12-04T14:30:00Z or 2026-12-04T09:30:00-05:00")
        }
        return value
    }

    /// `--speed`: absent is 1 (the original pace), 0 is as fast as possible.
    public static func speed(_ text: String?) throws(JournalToolError) -> Double {
        guard let text else { return 1 }
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite, value >= 0,
            value <= maxSpeed
        else {
            throw .configuration(
                "--speed '\(clip(text))' must be a number from 0 (as fast as possible) to \(Int(maxSpeed)); "
                    + "1 is the original pace")
        }
        return value
    }

    /// Topic patterns as bus-tap takes them; none is ``defaultTopics``.
    public static func patterns(_ texts: [String]) throws(JournalToolError) -> [TopicPattern] {
        var patterns: [TopicPattern] = []
        for text in texts.isEmpty ? defaultTopics : texts {
            do {
                patterns.append(try TopicPattern(text))
            } catch {
                throw .configuration("--topics '\(clip(text))' is not a topic pattern: \(error)")
            }
        }
        guard patterns.count <= 256 else { throw .configuration("--topics: at most 256 patterns") }
        return patterns
    }

    /// Checks everything; `now` (UTC nanoseconds) ends a range that reaches into the future,
    /// so the replay never reads what it publishes itself.
    public func checked(now: Int64) throws(JournalToolError) -> ReplayRange {
        let fromNs = try Self.instant(from, option: "--from")
        let toNs = try Self.instant(to, option: "--to")
        guard toNs > fromNs else {
            throw .configuration("--to (\(to ?? "")) must be after --from (\(from ?? "")): the range is [from, to)")
        }
        guard fromNs < now else {
            throw .configuration("--from (\(from ?? "")) is in the future: nothing has been recorded there yet")
        }
        return ReplayRange(
            fromNs: fromNs, toNs: min(toNs, now), patterns: try Self.patterns(topics), speed: try Self.speed(speed))
    }

    static func clip(_ text: String) -> String { LogEscaping.escape(TapFormatter.clipped(text, to: 80)) }
}

/// What to replay: publish times in [fromNs, toNs) on `patterns`, at `speed`.
public struct ReplayRange: Sendable, Equatable {
    public var fromNs: Int64
    public var toNs: Int64
    public var patterns: [TopicPattern]
    /// Recorded seconds per real second; 0 is as fast as possible.
    public var speed: Double

    public init(fromNs: Int64, toNs: Int64, patterns: [TopicPattern], speed: Double) {
        self.fromNs = fromNs
        self.toNs = toNs
        self.patterns = patterns
        self.speed = speed
    }
}

/// Everything a replay needs: the range and where the journal and the bus are.
public struct ReplayRequest: Sendable {
    public var range: ReplayRange
    public var publishEndpoint: String
    public var publishOptions: SocketOptions
    public var journalEndpoint: String
    public var journalOptions: SocketOptions
    /// How long one journal request may take.
    public var journalTimeout: Duration
    /// The identity's topic kinds (`bus.publish_rights`); other messages are skipped and counted.
    public var permittedKinds: Set<String>
    /// What a journaled message must respect to be replayed.
    public var limits: EnvelopeLimits
    /// Who the replayed messages come from.
    public var producer: Producer
    /// A new PUB connection loses what it sends until the proxy's subscriptions reach it:
    /// the first message waits this long after connecting (pages are fetched meanwhile).
    public var settle: Duration = .milliseconds(500)
    /// Progress lines at most this often.
    public var progressInterval: Duration = .seconds(1)
    /// Messages queued in the publisher at most; beyond it replay waits (as fast as possible
    /// must not overrun the queue, which would drop).
    public var maxInFlight = 10_000
    /// Messages per journal page asked for (0: the journal's own cap).
    public var pageSize: UInt32 = 0

    public init(
        range: ReplayRange, publishEndpoint: String, publishOptions: SocketOptions, journalEndpoint: String,
        journalOptions: SocketOptions, journalTimeout: Duration, permittedKinds: Set<String>, limits: EnvelopeLimits,
        producer: Producer
    ) {
        self.range = range
        self.publishEndpoint = publishEndpoint
        self.publishOptions = publishOptions
        self.journalEndpoint = journalEndpoint
        self.journalOptions = journalOptions
        self.journalTimeout = journalTimeout
        self.permittedKinds = permittedKinds
        self.limits = limits
        self.producer = producer
    }

    /// The identity replay publishes and asks the journal as.
    public static let identity = "tickwire"

    /// A replay of `arguments` on the stack `config` describes, as identity `tickwire`
    /// (instance `replay`). `journalEndpoint` overrides `journal.endpoint`.
    public static func make(
        config: TickwireConfig, arguments: ReplayArguments, journalEndpoint: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment, now: Int64 = WallClock.nanoseconds(),
        notice: (String) -> Void = { _ in }
    ) throws(JournalToolError) -> ReplayRequest {
        let range = try arguments.checked(now: now)
        let endpoint = journalEndpoint ?? config.journal.endpoint
        guard !endpoint.isEmpty else {
            throw .configuration("journal.endpoint is empty (catch-up turned off): set it, or pass --journal-endpoint")
        }
        let timeout = config.journal.requestTimeoutSeconds
        guard timeout.isFinite, timeout > 0, timeout <= 3_600 else {
            throw .configuration("journal.request_timeout_seconds must be more than 0 and at most 3600")
        }
        let publishOptions: SocketOptions
        let journalOptions: SocketOptions
        do {
            let security = try BusSecurity.load(
                config: config, identity: identity, environment: environment, notice: notice)
            publishOptions = try security?.clientOptions(config.socketOptions) ?? config.socketOptions
            journalOptions = try security?.clientOptions(config.socketOptions, server: "journal") ?? config.socketOptions
        } catch {
            throw .configuration("bus keys: \(error)")
        }
        // Recorded data is old by nature; every other bound stays.
        var limits = config.envelopeLimits
        limits.eventTime.maxPast = nil
        return ReplayRequest(
            range: range, publishEndpoint: config.bus.publishEndpoint, publishOptions: publishOptions,
            journalEndpoint: endpoint, journalOptions: journalOptions,
            journalTimeout: Nanoseconds.duration(seconds: timeout),
            permittedKinds: Set(config.bus.publishRights[identity] ?? []), limits: limits,
            producer: Producer(service: identity, instance: "replay"))
    }
}

/// What a replay did.
public struct ReplayReport: Sendable, Equatable {
    /// Journaled messages read.
    public var read: UInt64 = 0
    /// Handed to the bus.
    public var published: UInt64 = 0
    /// Published but lost by the publisher (its queue full, or the proxy not taking them).
    public var dropped: UInt64 = 0
    /// Not published, by reason: `not_permitted` (a kind the identity may not publish),
    /// `rejected.<reason>` (refused by the envelope checks).
    public var skipped: [String: UInt64] = [:]
    public var pages = 0
    /// The whole run, in seconds.
    public var seconds: Double = 0
    /// From the first message published to the last, in seconds.
    public var publishingSeconds: Double = 0
    /// Between the first and the last replayed message's original publish times, in seconds.
    public var recordedSeconds: Double = 0
    /// Stopped by SIGINT/SIGTERM before the end.
    public var interrupted = false

    public init() {}

    public var skippedTotal: UInt64 { skipped.values.reduce(0, +) }

    /// Recorded time per replayed time (nil with fewer than two messages).
    public var effectiveSpeed: Double? {
        guard publishingSeconds > 0, recordedSeconds > 0 else { return nil }
        return recordedSeconds / publishingSeconds
    }

    /// One line for people.
    public var summaryLine: String {
        let skippedText =
            skipped.isEmpty
            ? "skipped 0"
            : "skipped \(skippedTotal) (" + skipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                .joined(separator: ", ") + ")"
        let speedText = effectiveSpeed.map { String(format: "effective speed %.2fx", $0) } ?? "effective speed -"
        return "tickwire replay: \(interrupted ? "interrupted" : "done"): read \(read), published \(published), "
            + "\(skippedText), dropped \(dropped), \(String(format: "%.3f", seconds)) s "
            + "(\(String(format: "%.3f", recordedSeconds)) s recorded replayed in "
            + "\(String(format: "%.3f", publishingSeconds)) s, \(speedText))"
    }

    /// One JSON object, for scripts.
    public var jsonLine: String {
        let skippedJSON = skipped.sorted { $0.key < $1.key }.map { "\(TapFormatter.quoted($0.key)):\($0.value)" }
            .joined(separator: ",")
        let speedJSON = effectiveSpeed.map { String(format: "%.3f", $0) } ?? "null"
        return "{\"summary\":true,\"read\":\(read),\"published\":\(published),\"skipped\":{\(skippedJSON)},"
            + "\"dropped\":\(dropped),\"pages\":\(pages),\"seconds\":\(String(format: "%.3f", seconds)),"
            + "\"publishing_seconds\":\(String(format: "%.3f", publishingSeconds)),"
            + "\"recorded_seconds\":\(String(format: "%.3f", recordedSeconds)),\"effective_speed\":\(speedJSON),"
            + "\"interrupted\":\(interrupted)}"
    }
}

/// How a replay ended: what it did, and the error that ended it early, if any.
public struct ReplayOutcome: Sendable {
    public var report: ReplayReport
    public var failure: JournalToolError?
}

/// The replay engine.
public enum Replay {
    /// Replays `request` until the range is done or SIGINT/SIGTERM arrives. `say` gets the
    /// notices and progress lines (standard error in the tool).
    public static func run(
        _ request: ReplayRequest, say: @escaping @Sendable (String) -> Void = { Tap.writeError($0) }
    ) async -> ReplayOutcome {
        let service = CancellableRun { await execute(request, say: say) }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "tickwire-replay", factory: { _ in SwiftLogNoOpLogHandler() })))
        do {
            try await group.run()
        } catch {
            say("tickwire replay: \(error)")
        }
        return service.result.withLock { $0 }
            ?? ReplayOutcome(report: ReplayReport(), failure: .failed("the replay did not run"))
    }

    /// The replay itself; stops at cancellation (a signal, through ``run(_:say:)``).
    public static func execute(_ request: ReplayRequest, say: @escaping @Sendable (String) -> Void) async -> ReplayOutcome {
        let started = ContinuousClock.now
        var report = ReplayReport()
        func finish(_ failure: JournalToolError?) -> ReplayOutcome {
            report.seconds = seconds(ContinuousClock.now - started)
            return ReplayOutcome(report: report, failure: failure)
        }
        let context: Context
        do {
            context = try Context()
        } catch {
            return finish(.failed("cannot start ZeroMQ: \(error)"))
        }
        let publisher: Publisher
        do {
            publisher = try await Publisher(
                context: context, endpoint: request.publishEndpoint, options: request.publishOptions,
                queueLimit: max(request.maxInFlight * 2, 1_000))
        } catch {
            await context.terminate()
            return finish(.configuration("cannot connect a publisher to \(request.publishEndpoint): \(error)"))
        }
        let settled = ContinuousClock.now + request.settle
        let client = JournalClient(
            context: context, endpoint: request.journalEndpoint, options: request.journalOptions,
            timeout: request.journalTimeout, requester: "\(request.producer.service)/\(request.producer.instance)",
            limits: request.limits)
        var journalRequest = JournalRequest.patterns(
            request.range.patterns, fromNs: request.range.fromNs, toNs: request.range.toNs)
        journalRequest.maxMessages = request.pageSize
        var pages = JournalPages(client: client, request: journalRequest)
        let producerBytes: [UInt8] = (try? request.producer.serializedBytes()) ?? []
        var reader = JournalMessageReader(limits: request.limits)
        var pacer = Pacer(speed: request.range.speed)
        var progress = ReplayProgress(interval: request.progressInterval, started: started)
        var noticed: Set<String> = []
        var firstRecordedNs: Int64?
        var lastRecordedNs: Int64 = 0
        var firstPublished: ContinuousClock.Instant?
        var lastPublished = ContinuousClock.now
        var failure: JournalToolError?

        pages: while true {
            let reply: JournalReply?
            do {
                reply = try await pages.next()
            } catch {
                failure = .journal(error, endpoint: request.journalEndpoint, after: report.read)
                break
            }
            guard let reply else { break }
            report.pages += 1
            if report.pages == 1, reply.oldestPublishTimeNs > request.range.fromNs {
                say(
                    "tickwire replay: the journal keeps messages published from "
                        + "\(ISO8601Instant.format(nanoseconds: reply.oldestPublishTimeNs)) on; the range starts earlier")
            }
            for message in reply.messages {
                if Task.isCancelled { break pages }
                report.read += 1
                let delivery: Delivery
                switch reader.read(message) {
                case .failure(let rejection):
                    let reason = "rejected.\(rejection.reason.rawValue)"
                    report.skipped[reason, default: 0] += 1
                    if noticed.insert(reason).inserted {
                        say(
                            "tickwire replay: skipping journaled messages the envelope checks refuse "
                                + "(first: \(LogEscaping.escape(rejection.description))); counted as \(reason)")
                    }
                    continue
                case .success(let decoded): delivery = decoded
                }
                let kind = delivery.topic.kind
                guard request.permittedKinds.contains(kind) else {
                    report.skipped["not_permitted", default: 0] += 1
                    if noticed.insert("kind \(kind)").inserted {
                        say(
                            "tickwire replay: skipping \(kind).* messages: identity '\(request.producer.service)' may "
                                + "not publish kind '\(kind)' (bus.publish_rights allows "
                                + "\(request.permittedKinds.sorted().joined(separator: ", "))); counted as not_permitted")
                    }
                    continue
                }
                // Wait for the publisher to settle, the message's time, and room in the queue.
                var due = pacer.due(delivery.publishTimeNs, settled: settled)
                while true {
                    let now = ContinuousClock.now
                    if let waitUntil = due, now < waitUntil {
                        // Bounded slices: progress goes on and a signal is noticed at once.
                        do {
                            try await Task.sleep(until: min(waitUntil, now + .milliseconds(250)), clock: .continuous)
                        } catch {
                            break pages
                        }
                    } else if Self.inFlight(publisher.statistics) >= UInt64(max(1, request.maxInFlight)) {
                        do { try await Task.sleep(for: .milliseconds(1)) } catch { break pages }
                    } else {
                        break
                    }
                    if pacer.origin == nil { due = pacer.due(delivery.publishTimeNs, settled: settled) }
                    progress.tick(
                        report: report, recordedNs: lastRecordedNs,
                        waiting: due.map { ($0, delivery.publishTimeNs) }, say: say)
                }
                let body = Reenvelope.body(of: message.envelope)
                let producer = request.producer
                let eventTimeNs = delivery.eventTimeNs
                let publishTimeNs = WallClock.nanoseconds()
                do {
                    try publisher.publish(topic: delivery.topic.wire) { (sequence: UInt64) throws(DecodeError) -> [UInt8] in
                        if let body {
                            return Reenvelope.encode(
                                producer: producerBytes, sequence: sequence, eventTimeNs: eventTimeNs,
                                publishTimeNs: publishTimeNs, body: body)
                        }
                        // Bytes the scan cannot split (protobuf groups): the decoded envelope,
                        // unknown fields included, under the new header.
                        var envelope = delivery.envelope
                        envelope.producer = producer
                        envelope.sequence = sequence
                        envelope.publishTimeNs = publishTimeNs
                        return try Codec.encode(envelope)
                    }
                } catch {
                    report.skipped["rejected.undecodable", default: 0] += 1
                    continue
                }
                report.published += 1
                lastPublished = ContinuousClock.now
                if firstPublished == nil { firstPublished = lastPublished }
                if firstRecordedNs == nil { firstRecordedNs = delivery.publishTimeNs }
                lastRecordedNs = max(lastRecordedNs, delivery.publishTimeNs)
                progress.tick(report: report, recordedNs: lastRecordedNs, say: say)
            }
        }
        report.interrupted = Task.isCancelled && failure == nil
        pages.close()
        await publisher.close()
        let statistics = publisher.statistics
        report.dropped = statistics.dropped + statistics.droppedAtHighWaterMark + statistics.sendErrors
        report.published = statistics.sent
        await context.terminate()
        if let firstPublished, let firstRecordedNs {
            report.publishingSeconds = seconds(lastPublished - firstPublished)
            report.recordedSeconds = Nanoseconds.seconds(Nanoseconds.subtracting(lastRecordedNs, firstRecordedNs))
        }
        return finish(failure)
    }

    /// Messages queued in `statistics`' publisher and not yet handed to libzmq (or dropped).
    static func inFlight(_ statistics: Publisher.Statistics) -> UInt64 {
        let done = statistics.sent &+ statistics.droppedAtHighWaterMark &+ statistics.sendErrors
        return statistics.queued > done ? statistics.queued - done : 0
    }

    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

/// When each message is due: the gap between its original publish time and the first one's,
/// divided by the speed, after the monotonic instant the first one went out, so the pace
/// never drifts. Publish times that go backwards (producers' clocks differ) are due at once.
struct Pacer {
    let speed: Double
    private(set) var origin: (recordedNs: Int64, instant: ContinuousClock.Instant)?
    private var lastOffsetNs: Int64 = 0

    init(speed: Double) { self.speed = speed }

    /// The instant the message published at `publishNs` is due. The first is due once the
    /// publisher has `settled`, and fixes the origin when it goes (the next call after that).
    mutating func due(_ publishNs: Int64, settled: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        guard let origin else {
            if ContinuousClock.now >= settled {
                self.origin = (publishNs, ContinuousClock.now)
                return nil
            }
            return settled
        }
        guard speed > 0 else { return nil }
        let offset = max(lastOffsetNs, Nanoseconds.subtracting(publishNs, origin.recordedNs))
        lastOffsetNs = offset
        return origin.instant + .nanoseconds(Nanoseconds.clamping(Double(offset) / speed))
    }
}

/// Progress lines: at most one per interval while messages go out; during a long pause in
/// the recording, one every ``quietInterval`` saying what it waits for.
struct ReplayProgress {
    let interval: Duration
    let started: ContinuousClock.Instant
    var last: ContinuousClock.Instant
    var lastRead: UInt64 = 0
    static let quietInterval = Duration.seconds(30)

    init(interval: Duration, started: ContinuousClock.Instant) {
        self.interval = interval
        self.started = started
        last = started
    }

    /// `waiting`: the instant the next message (recorded at `nextRecordedNs`) is due.
    mutating func tick(
        report: ReplayReport, recordedNs: Int64, waiting: (due: ContinuousClock.Instant, nextRecordedNs: Int64)? = nil,
        say: (String) -> Void
    ) {
        let now = ContinuousClock.now
        let moved = report.read != lastRead
        guard now - last >= (moved ? interval : max(interval, Self.quietInterval)) else { return }
        last = now
        lastRead = report.read
        let at = recordedNs > 0 ? ", at \(ISO8601Instant.format(nanoseconds: recordedNs)) recorded" : ""
        var line =
            "tickwire replay: \(report.published) published, \(report.skippedTotal) skipped of \(report.read) read"
            + "\(at), \(String(format: "%.1f", Replay.seconds(now - started))) s"
        if let waiting, !moved {
            line += "; next message (\(ISO8601Instant.format(nanoseconds: waiting.nextRecordedNs)) recorded) in "
                + String(format: "%.0f s", Replay.seconds(waiting.due - now))
        }
        say(line)
    }
}

/// The journal's pages for one request, in order, the next one fetched while the caller
/// works on this one (a journal round trip never adds to a paced replay's time). At most
/// `lookahead` pages wait; fetching stops at the end, at the first failure, and at ``close()``.
struct JournalPages {
    private var pages: AsyncStream<Result<JournalReply, JournalClient.Failure>>.Iterator
    private let demand: AsyncStream<Void>.Continuation
    private let pager: Task<Void, Never>

    init(client: JournalClient, request: JournalRequest, lookahead: Int = 1) {
        let (pageStream, pageSink) = AsyncStream.makeStream(of: Result<JournalReply, JournalClient.Failure>.self)
        let (demandStream, demandSink) = AsyncStream.makeStream(of: Void.self)
        pager = Task {
            var request = request
            for await _ in demandStream {
                let result: Result<JournalReply, JournalClient.Failure>
                do throws(JournalClient.Failure) {
                    result = .success(try await client.page(request))
                } catch {
                    result = .failure(error)
                }
                pageSink.yield(result)
                // A page without progress would loop forever.
                guard case .success(let reply) = result, reply.nextID != 0, reply.nextID > request.afterID,
                    !reply.messages.isEmpty
                else { break }
                request.afterID = reply.nextID
            }
            pageSink.finish()
        }
        for _ in 0...max(0, lookahead) { demandSink.yield() }
        pages = pageStream.makeAsyncIterator()
        demand = demandSink
    }

    /// The next page; nil at the end, or at once when the calling task is cancelled.
    mutating func next() async throws(JournalClient.Failure) -> JournalReply? {
        guard let result = await pages.next() else { return nil }
        demand.yield()
        return try result.get()
    }

    /// Stops fetching (a request under way ends within its timeout).
    func close() {
        demand.finish()
        pager.cancel()
    }
}

/// Decodes and checks journaled messages as a subscriber checks live ones.
struct JournalMessageReader {
    private var cache = DecodeCache()
    private var validator: EnvelopeValidator

    init(limits: EnvelopeLimits) { validator = EnvelopeValidator(limits: limits) }

    mutating func read(_ message: JournaledMessage) -> Result<Delivery, Rejection> {
        let raw = RawMessage(topic: Array(message.topic), payload: Array(message.envelope))
        let delivery: Delivery
        do {
            delivery = try Codec.decode(raw, cache: &cache)
        } catch {
            return .failure(Rejection(error.reason, error.description))
        }
        if let rejection = validator.check(delivery, now: WallClock.nanoseconds()) { return .failure(rejection) }
        return .success(delivery)
    }
}

/// A journaled envelope under a new header: the replay's producer, sequence and publish time,
/// the original event time, and every other field of the original (the payload above all)
/// copied byte for byte, in its order.
enum Reenvelope {
    /// The original's fields other than the header (1–5), verbatim; nil when the bytes are
    /// not a well-formed message (or use groups).
    static func body(of envelope: Data) -> [UInt8]? {
        envelope.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> [UInt8]? in
            var body: [UInt8] = []
            body.reserveCapacity(buffer.count)
            var index = 0
            func varint() -> UInt64? {
                var value: UInt64 = 0
                var shift: UInt64 = 0
                while index < buffer.count, shift < 64 {
                    let byte = buffer[index]
                    index += 1
                    value |= UInt64(byte & 0x7f) << shift
                    if byte & 0x80 == 0 { return value }
                    shift += 7
                }
                return nil
            }
            while index < buffer.count {
                let start = index
                guard let tag = varint() else { return nil }
                let field = tag >> 3
                guard field > 0 else { return nil }
                switch tag & 7 {
                case 0: guard varint() != nil else { return nil }
                case 1: index += 8
                case 2:
                    guard let length = varint(), length <= UInt64(buffer.count - index) else { return nil }
                    index += Int(length)
                case 5: index += 4
                default: return nil
                }
                guard index <= buffer.count else { return nil }
                if field > 5 { body.append(contentsOf: buffer[start..<index]) }
            }
            return body
        }
    }

    /// schema_version, producer (already encoded), sequence, event and publish times (proto3:
    /// zeros left out), then `body`.
    static func encode(
        producer: [UInt8], sequence: UInt64, eventTimeNs: Int64, publishTimeNs: Int64, body: [UInt8]
    ) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(producer.count + body.count + 40)
        func varint(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
                value >>= 7
            }
            bytes.append(UInt8(value))
        }
        func field(_ number: UInt64, _ value: UInt64) {
            guard value != 0 else { return }
            varint(number << 3)
            varint(value)
        }
        field(1, UInt64(Codec.schemaVersion))
        varint(2 << 3 | 2)
        varint(UInt64(producer.count))
        bytes.append(contentsOf: producer)
        field(3, sequence)
        field(4, UInt64(bitPattern: eventTimeNs))
        field(5, UInt64(bitPattern: publishTimeNs))
        bytes.append(contentsOf: body)
        return bytes
    }
}

/// Runs one operation as the only service of a `ServiceGroup`, cancelled on SIGINT/SIGTERM,
/// and keeps its result.
final class CancellableRun<Value: Sendable>: Service, Sendable {
    let operation: @Sendable () async -> Value
    let result = Mutex<Value?>(nil)

    init(_ operation: @escaping @Sendable () async -> Value) { self.operation = operation }

    func run() async throws {
        let operation = self.operation
        let value = await cancelWhenGracefulShutdown { await operation() }
        result.withLock { $0 = value }
    }
}
