import Bus
import Contracts
import Timekeeping

/// One bus message as the journal keeps it: the frames exactly as published, and the
/// envelope fields queries select on.
public struct JournalRecord: Sendable, Equatable {
    /// The journal's own order: microseconds since the epoch at reception, made strictly
    /// increasing (``JournalIDs``). The day of an id is the day its segment covers.
    public var id: UInt64
    /// `kind.key`, without the terminator.
    public var topic: String
    /// The topic frame, terminator included.
    public var topicFrame: [UInt8]
    /// The envelope frame.
    public var envelope: [UInt8]
    public var receivedNs: Int64
    public var publishNs: Int64
    public var eventNs: Int64
    public var stream: JournalStream
    public var sequence: UInt64

    public init(
        id: UInt64, topic: String, topicFrame: [UInt8], envelope: [UInt8], receivedNs: Int64, publishNs: Int64,
        eventNs: Int64, stream: JournalStream, sequence: UInt64
    ) {
        self.id = id
        self.topic = topic
        self.topicFrame = topicFrame
        self.envelope = envelope
        self.receivedNs = receivedNs
        self.publishNs = publishNs
        self.eventNs = eventNs
        self.stream = stream
        self.sequence = sequence
    }

    /// A record of `delivery`, received at `receivedNs`, from its raw frames (id 0: the
    /// writer numbers records).
    public init(delivery: Delivery, frames: RawMessage, receivedNs: Int64) {
        self.init(
            id: 0, topic: delivery.topic.description, topicFrame: frames.topic, envelope: frames.payload,
            receivedNs: receivedNs, publishNs: delivery.publishTimeNs, eventNs: delivery.eventTimeNs,
            stream: JournalStream(delivery.stream), sequence: delivery.sequence)
    }
}

/// One producer's messages on one topic, as stored.
public struct JournalStream: Sendable, Hashable {
    public var service: String
    public var instance: String
    public var startedAtNs: Int64
    public var topic: String

    public init(service: String, instance: String, startedAtNs: Int64, topic: String) {
        self.service = service
        self.instance = instance
        self.startedAtNs = startedAtNs
        self.topic = topic
    }

    public init(_ stream: StreamID) {
        self.init(service: stream.service, instance: stream.instance, startedAtNs: stream.startedAt, topic: stream.topic.description)
    }

    /// A 64-bit FNV-1a hash of every field, the same in every process and version: the
    /// stores index it instead of the four fields (queries still compare the fields).
    public var key: Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ bytes: some Sequence<UInt8>) {
            for byte in bytes {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
            hash ^= 0xff
            hash = hash &* 0x0000_0100_0000_01b3
        }
        mix(service.utf8)
        mix(instance.utf8)
        withUnsafeBytes(of: startedAtNs.littleEndian) { mix($0) }
        mix(topic.utf8)
        return Int64(bitPattern: hash)
    }
}

/// What a catch-up request selects, already checked (``JournalServer`` builds it from a
/// `JournalRequest`).
public struct JournalQuery: Sendable, Equatable {
    /// Topics: empty means every topic.
    public var patterns: [TopicPattern] = []
    /// Publish times in [from, to); 0 leaves a side open.
    public var fromPublishNs: Int64 = 0
    public var toPublishNs: Int64 = 0
    /// One stream's sequence numbers in [fromSequence, toSequence] (0: no upper bound).
    public var stream: JournalStream?
    public var fromSequence: UInt64 = 0
    public var toSequence: UInt64 = 0
    /// Only records after this id.
    public var afterID: UInt64 = 0
    /// Records per page at most.
    public var limit = 1_000
    /// Bytes of frames per page at most (the reply must fit a message).
    public var byteLimit = 16 << 20

    public init() {}

    /// The smallest id a record published at `fromPublishNs` can have: ids are reception
    /// times, and a producer's clock may run ahead of the journal's by up to `skewNs`.
    public func lowestID(skewNs: Int64) -> UInt64 {
        guard fromPublishNs > 0 else { return 0 }
        let start = Nanoseconds.subtracting(fromPublishNs, skewNs)
        return start > 0 ? UInt64(start / 1_000) : 0
    }

    /// Whether `record` is one this query selects (the stores filter in their query language;
    /// this is the same rule, for tests and checks).
    public func selects(_ record: JournalRecord) -> Bool {
        if record.id <= afterID { return false }
        if fromPublishNs > 0 && record.publishNs < fromPublishNs { return false }
        if toPublishNs > 0 && record.publishNs >= toPublishNs { return false }
        if let stream {
            guard record.stream == stream, record.sequence >= fromSequence else { return false }
            if toSequence > 0 && record.sequence > toSequence { return false }
        }
        if patterns.isEmpty { return true }
        return patterns.contains { pattern in
            switch pattern.match {
            case .exact(let topic): record.topic == topic.description
            case .prefix(let prefix): record.topic.hasPrefix(prefix)
            }
        }
    }
}

/// One page of a query's answer.
public struct JournalPage: Sendable, Equatable {
    public var records: [JournalRecord]
    /// Ask again with `afterID` = this; 0 when nothing is left.
    public var nextID: UInt64
    /// The oldest publish time still kept (0 when the journal is empty).
    public var oldestPublishNs: Int64

    public init(records: [JournalRecord] = [], nextID: UInt64 = 0, oldestPublishNs: Int64 = 0) {
        self.records = records
        self.nextID = nextID
        self.oldestPublishNs = oldestPublishNs
    }
}

/// What a maintenance pass did and found.
public struct JournalMaintenance: Sendable, Equatable {
    /// Segments (days, `YYYY-MM-DD`) deleted for age or for the size cap.
    public var deleted: [String] = []
    /// Bytes the store takes after the pass.
    public var bytes: Int64 = 0
    public var segments = 0
    public init() {}
}

/// A segment that could not be read or written and was skipped.
public struct JournalProblem: Sendable, Equatable, CustomStringConvertible {
    /// The segment (a day, or a partition).
    public var segment: String
    public var message: String
    public init(segment: String, message: String) {
        self.segment = segment
        self.message = message
    }
    public var description: String { "\(segment): \(message)" }
}

/// Where the journal keeps messages: SQLite files per day (``SQLiteJournalStore``) or
/// PostgreSQL partitions per day (``PostgresJournalStore``). Records arrive in id order.
public protocol JournalStore: Sendable {
    /// Appends records (increasing ids) in one transaction per segment.
    func append(_ records: [JournalRecord]) async throws
    /// One page of `query`'s records in id order.
    func read(_ query: JournalQuery) async throws -> JournalPage
    /// The highest id stored (0 when empty), so that ids keep increasing across restarts.
    func lastID() async throws -> UInt64
    /// The last sequence number of each stream with records after `afterID`, at most `limit`
    /// streams (the most recent).
    func lastSequences(afterID: UInt64, limit: Int) async throws -> [JournalStream: UInt64]
    /// Deletes whole days older than `retentionNs` before `nowNs`, then the oldest days until
    /// the store takes at most `maxBytes` (never the newest day).
    func maintain(nowNs: Int64, retentionNs: Int64, maxBytes: Int64) async throws -> JournalMaintenance
    /// Segments skipped since the last call (corrupt, truncated, unreadable).
    func takeProblems() -> [JournalProblem]
    func close() async
}

/// Numbers records: microseconds since the epoch at reception, strictly increasing even when
/// the clock stands still or steps back.
public struct JournalIDs: Sendable {
    public private(set) var last: UInt64

    public init(last: UInt64) { self.last = last }

    public mutating func next(receivedNs: Int64) -> UInt64 {
        let micros = receivedNs > 0 ? UInt64(receivedNs / 1_000) : 0
        last = max(last &+ 1, micros)
        return last
    }
}

/// Days as the segments name them.
public enum JournalDay {
    public static let microsecondsPerDay: UInt64 = 86_400_000_000

    /// The day (since 1970-01-01) an id falls on.
    public static func day(ofID id: UInt64) -> Int64 { Int64(id / microsecondsPerDay) }

    /// The first id of `day`.
    public static func firstID(ofDay day: Int64) -> UInt64 { day > 0 ? UInt64(day) &* microsecondsPerDay : 0 }

    /// `YYYY-MM-DD` of a day since the epoch (proleptic Gregorian, UTC).
    public static func name(_ day: Int64) -> String {
        let (year, month, dayOfMonth) = civil(day)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(dayOfMonth))"
    }

    /// The day named `YYYY-MM-DD`, or `nil`.
    public static func parse(_ name: some StringProtocol) -> Int64? {
        let parts = name.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int64(parts[0]), let month = Int64(parts[1]), let day = Int64(parts[2]),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        let number = days(year: year, month: month, day: day)
        return civil(number) == (year, month, day) ? number : nil
    }

    // Howard Hinnant's days-from-civil and its inverse.
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(_ days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
