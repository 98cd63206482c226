import Bus
import Contracts
import SwiftProtobuf
import Timekeeping

/// Asks the journal (`journal.endpoint`) for recorded messages, a page at a time
/// (docs/bus.md, "Journal").
///
/// Replies are outside data: every journaled message is decoded and checked by an
/// ``EnvelopeValidator`` like a live one; refused ones are counted, never handed on.
public struct JournalClient: Sendable {
    public let context: Context
    public let endpoint: String
    public let options: SocketOptions
    public let timeout: Duration
    /// Who asks, for the journal's log (e.g. `notifier/1`).
    public let requester: String
    public let limits: EnvelopeLimits

    public init(
        context: Context, endpoint: String, options: SocketOptions = .init(), timeout: Duration, requester: String,
        limits: EnvelopeLimits = .init()
    ) {
        self.context = context
        self.endpoint = endpoint
        self.options = options
        self.timeout = timeout
        self.requester = requester
        self.limits = limits
    }

    /// A client of the configured journal as `environment`'s identity; `nil` when
    /// `journal.endpoint` is empty (catch-up turned off).
    public init?(environment: ServiceEnvironment) throws(KeyError) {
        let settings = environment.config.journal
        guard !settings.endpoint.isEmpty else { return nil }
        self.init(
            context: environment.context, endpoint: settings.endpoint,
            options: try environment.clientOptions(server: "journal"),
            timeout: Nanoseconds.duration(seconds: settings.requestTimeoutSeconds),
            requester: "\(environment.name)/\(environment.producer.instance)", limits: environment.config.envelopeLimits)
    }

    /// Why a request failed.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// No reply within the timeout: the journal is down, slow or elsewhere.
        case noReply(endpoint: String, timeout: Duration)
        /// The journal answered with an error.
        case refused(String)
        /// The reply could not be read.
        case malformed(String)
        case bus(ZeroMQError)

        public var description: String {
            switch self {
            case .noReply(let endpoint, let timeout): "no reply from the journal at \(endpoint) within \(timeout)"
            case .refused(let message): "the journal refused the request: \(message)"
            case .malformed(let message): "unreadable reply from the journal: \(message)"
            case .bus(let error): "\(error)"
            }
        }
    }

    /// One page: the reply as sent.
    public func page(_ request: JournalRequest) async throws(Failure) -> JournalReply {
        var request = request
        request.schemaVersion = Codec.schemaVersion
        if request.requester.isEmpty { request.requester = requester }
        let body: [UInt8]
        do { body = try request.serializedBytes() } catch { throw .malformed("cannot encode the request: \(error)") }
        let frames: [[UInt8]]?
        do {
            frames = try await Requester.request(
                context: context, endpoint: endpoint, request: [body],
                timeoutMilliseconds: Nanoseconds.timeoutMilliseconds(timeout), options: options)
        } catch {
            throw .bus(error)
        }
        guard let frames else { throw .noReply(endpoint: endpoint, timeout: timeout) }
        guard frames.count == 1 else { throw .malformed("\(frames.count) frames, expected 1") }
        let reply: JournalReply
        do { reply = try JournalReply(serializedBytes: frames[0]) } catch { throw .malformed("\(error)") }
        guard reply.error.isEmpty else { throw .refused(String(reply.error.prefix(500))) }
        guard reply.schemaVersion == Codec.schemaVersion else {
            throw .malformed("unknown schema version \(reply.schemaVersion)")
        }
        return reply
    }

    /// What ``messages(_:maxMessages:handle:)`` went through.
    public struct Tally: Sendable, Equatable {
        public var delivered = 0
        /// Journaled messages refused by the validator, by reason.
        public var rejected: [String: UInt64] = [:]
        public var pages = 0
        /// Stopped at `maxMessages` with more left.
        public var truncated = false
        public init() {}
    }

    /// Every message `request` selects, page by page in journal order, decoded and checked,
    /// handed to `handle`; at most `maxMessages`.
    public func messages(
        _ request: JournalRequest, maxMessages: Int = 10_000_000, handle: (Delivery) async throws -> Void
    ) async throws -> Tally {
        var request = request
        var tally = Tally()
        var cache = DecodeCache()
        var validator = EnvelopeValidator(limits: limits)
        while true {
            let reply = try await page(request)
            tally.pages += 1
            for message in reply.messages {
                guard tally.delivered < maxMessages else {
                    tally.truncated = true
                    return tally
                }
                let delivery: Delivery
                do {
                    delivery = try Codec.decode(RawMessage(topic: Array(message.topic), payload: Array(message.envelope)), cache: &cache)
                } catch {
                    tally.rejected[error.reason.rawValue, default: 0] += 1
                    continue
                }
                if let rejection = validator.check(delivery, now: WallClock.nanoseconds()) {
                    tally.rejected[rejection.reason.rawValue, default: 0] += 1
                    continue
                }
                tally.delivered += 1
                try await handle(delivery)
            }
            // A journal that answers a page with no progress would loop forever.
            guard reply.nextID != 0, reply.nextID > request.afterID, !reply.messages.isEmpty else { return tally }
            request.afterID = reply.nextID
        }
    }
}

extension JournalRequest {
    /// Messages on `patterns` published from `fromNs` on (0: the oldest kept).
    public static func patterns(_ patterns: [TopicPattern], fromNs: Int64 = 0, toNs: Int64 = 0) -> JournalRequest {
        var request = JournalRequest()
        request.schemaVersion = Codec.schemaVersion
        request.patterns = patterns.map(\.description)
        request.fromPublishTimeNs = max(0, fromNs)
        request.toPublishTimeNs = max(0, toNs)
        return request
    }

    /// `stream`'s messages with sequence numbers in `sequences`: a gap to fill.
    public static func gap(_ stream: StreamID, sequences: ClosedRange<UInt64>) -> JournalRequest {
        var request = JournalRequest()
        request.schemaVersion = Codec.schemaVersion
        var reference = StreamRef()
        reference.service = stream.service
        reference.instance = stream.instance
        reference.startedAtNs = stream.startedAt
        reference.topic = stream.topic.description
        request.stream = reference
        request.fromSequence = sequences.lowerBound
        request.toSequence = sequences.upperBound
        return request
    }
}
