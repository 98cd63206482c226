import Contracts
import Foundation
import GRDB
import GRDBSQLite
import Synchronization
import Timekeeping

/// The default journal store: one SQLite file per day (`journal-YYYY-MM-DD.sqlite`) under a
/// directory, in WAL mode, written in one transaction per batch.
///
/// A segment that cannot be opened or read (corrupt, truncated, not a database) is reported
/// through ``takeProblems()`` and skipped; when it is the day being written, it is moved
/// aside (`….corrupt-<time>`) and a fresh one started, so writing goes on.
public final class SQLiteJournalStore: JournalStore {
    public let directory: String
    /// Segments kept open at most (the newest are the ones read and written).
    let openLimit = 8

    private struct State {
        var open: [Int64: DatabasePool] = [:]
        /// Days that failed, with when; not retried until the next maintenance pass.
        var bad: [Int64: String] = [:]
        var problems: [JournalProblem] = []
    }

    private let state = Mutex(State())

    /// Opens (creating) the directory. Throws when it cannot be created.
    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    static let schema = """
        CREATE TABLE IF NOT EXISTS messages (
            id INTEGER PRIMARY KEY,
            topic TEXT NOT NULL,
            topic_frame BLOB NOT NULL,
            envelope BLOB NOT NULL,
            received_ns INTEGER NOT NULL,
            publish_ns INTEGER NOT NULL,
            event_ns INTEGER NOT NULL,
            service TEXT NOT NULL,
            instance TEXT NOT NULL,
            started_at_ns INTEGER NOT NULL,
            sequence INTEGER NOT NULL,
            stream_key INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS messages_topic ON messages(topic, id);
        CREATE INDEX IF NOT EXISTS messages_stream ON messages(stream_key, sequence);
        CREATE INDEX IF NOT EXISTS messages_event_time ON messages(event_ns);
        """

    // MARK: Segments

    /// The file of `day`.
    public func path(ofDay day: Int64) -> String { "\(directory)/journal-\(JournalDay.name(day)).sqlite" }

    /// The days that have a segment file, oldest first.
    public func days() -> [Int64] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> Int64? in
            guard name.hasPrefix("journal-"), name.hasSuffix(".sqlite") else { return nil }
            return JournalDay.parse(name.dropFirst("journal-".count).dropLast(".sqlite".count))
        }.sorted()
    }

    /// The open segment of `day`, opening it (and creating it when `create`) if needed.
    /// `nil` when it does not exist or is known bad.
    private func segment(_ day: Int64, create: Bool) throws -> DatabasePool? {
        if let pool = state.withLock({ $0.open[day] }) { return pool }
        if state.withLock({ $0.bad[day] != nil }) { return nil }
        let path = path(ofDay: day)
        guard create || FileManager.default.fileExists(atPath: path) else { return nil }
        var configuration = Configuration()
        configuration.label = "journal-\(JournalDay.name(day))"
        configuration.maximumReaderCount = 4
        configuration.prepareDatabase { db in
            // WAL (DatabasePool's own), NORMAL sync: a power cut may lose the last batches, never
            // the file. Fewer, larger checkpoints and a bigger page cache keep up with the bus.
            try db.execute(sql: "PRAGMA page_size = 16384; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 2048")
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try pool.write { db in
                // A file that is not a database fails here, at its first read.
                try db.execute(sql: Self.schema)
            }
        } catch {
            throw SegmentError(day: day, underlying: "\(error)")
        }
        let closing = state.withLock { state -> [DatabasePool] in
            state.open[day] = pool
            guard state.open.count > openLimit else { return [] }
            let keep = Set(state.open.keys.sorted().suffix(openLimit))
            let old = state.open.filter { !keep.contains($0.key) }
            for key in old.keys { state.open[key] = nil }
            return Array(old.values)
        }
        for old in closing { try? old.close() }
        return pool
    }

    struct SegmentError: Error, CustomStringConvertible {
        var day: Int64
        var underlying: String
        var description: String { underlying }
    }

    private func report(_ day: Int64, _ error: any Error) {
        let message = "\(error)"
        state.withLock { state in
            state.bad[day] = message
            if let pool = state.open.removeValue(forKey: day) { try? pool.close() }
            if state.problems.count < 1_000 {
                state.problems.append(JournalProblem(segment: "journal-\(JournalDay.name(day)).sqlite", message: message))
            }
        }
    }

    /// Moves a bad segment of the day being written aside, so a new one can start.
    private func setAside(_ day: Int64, _ error: any Error) {
        report(day, error)
        let path = path(ofDay: day)
        let aside = "\(path).corrupt-\(Int64(Date().timeIntervalSince1970))"
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try? FileManager.default.moveItem(atPath: path + suffix, toPath: aside + suffix)
        }
        _ = state.withLock { $0.bad.removeValue(forKey: day) }
    }

    // MARK: JournalStore

    public func append(_ records: [JournalRecord]) async throws {
        var start = records.startIndex
        while start < records.endIndex {
            let day = JournalDay.day(ofID: records[start].id)
            var end = start + 1
            while end < records.endIndex && JournalDay.day(ofID: records[end].id) == day { end += 1 }
            try await append(records[start..<end], day: day)
            start = end
        }
    }

    private func append(_ records: ArraySlice<JournalRecord>, day: Int64) async throws {
        let pool: DatabasePool
        do {
            guard let opened = try segment(day, create: true) else { throw SegmentError(day: day, underlying: "unusable") }
            pool = opened
        } catch let error as SegmentError {
            // Corrupt, truncated, not a database: keep it for inspection, write a new one.
            setAside(day, error)
            guard let fresh = try segment(day, create: true) else { throw error }
            pool = fresh
        }
        // OR IGNORE: a batch written again after a failure whose commit did in fact land (its
        // ids are the same) must not block the writer. Values are bound with SQLite's own calls:
        // this loop is the journal's hot path.
        try await pool.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO messages (id, topic, topic_frame, envelope, received_ns, publish_ns, event_ns, \
                    service, instance, started_at_ns, sequence, stream_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            let handle = statement.sqliteStatement
            for record in records {
                sqlite3_reset(handle)
                sqlite3_bind_int64(handle, 1, Int64(bitPattern: record.id))
                Self.bind(record.topic, to: handle, at: 2)
                Self.bind(record.topicFrame, to: handle, at: 3)
                Self.bind(record.envelope, to: handle, at: 4)
                sqlite3_bind_int64(handle, 5, record.receivedNs)
                sqlite3_bind_int64(handle, 6, record.publishNs)
                sqlite3_bind_int64(handle, 7, record.eventNs)
                Self.bind(record.stream.service, to: handle, at: 8)
                Self.bind(record.stream.instance, to: handle, at: 9)
                sqlite3_bind_int64(handle, 10, record.stream.startedAtNs)
                sqlite3_bind_int64(handle, 11, Int64(bitPattern: record.sequence))
                sqlite3_bind_int64(handle, 12, record.stream.key)
                let code = sqlite3_step(handle)
                guard code == SQLITE_DONE else {
                    let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
                    sqlite3_reset(handle)
                    throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message)
                }
            }
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
    }

    /// SQLite copies what is bound (`SQLITE_TRANSIENT`).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private static func bind(_ text: String, to statement: OpaquePointer, at index: Int32) {
        var text = text
        text.withUTF8 { bytes in
            _ = bytes.withMemoryRebound(to: CChar.self) { chars in
                if let base = chars.baseAddress {
                    sqlite3_bind_text(statement, index, base, Int32(clamping: chars.count), transient)
                } else {
                    sqlite3_bind_text(statement, index, "", 0, transient)
                }
            }
        }
    }

    private static func bind(_ bytes: [UInt8], to statement: OpaquePointer, at index: Int32) {
        bytes.withUnsafeBytes { buffer in
            if let base = buffer.baseAddress {
                _ = sqlite3_bind_blob(statement, index, base, Int32(clamping: buffer.count), transient)
            } else {
                _ = sqlite3_bind_zeroblob(statement, index, 0)
            }
        }
    }

    public func read(_ query: JournalQuery) async throws -> JournalPage {
        let days = days()
        var page = JournalPage()
        page.oldestPublishNs = await oldestPublishNs(days: days)
        let limit = max(1, query.limit)
        let startID = max(query.afterID &+ 1, query.lowestID(skewNs: Self.skewNs))
        var bytes = 0
        for day in days where JournalDay.firstID(ofDay: day + 1) > startID {
            // Nothing received after `to` plus the skew can have been published before `to`.
            if query.toPublishNs > 0,
                JournalDay.firstID(ofDay: day) > UInt64(max(0, Nanoseconds.adding(query.toPublishNs, Self.skewNs) / 1_000))
            {
                break
            }
            let pool: DatabasePool
            do {
                guard let opened = try segment(day, create: false) else { continue }
                pool = opened
            } catch {
                report(day, error)
                continue
            }
            let (sql, arguments) = Self.select(query, startID: startID, limit: limit - page.records.count)
            let rows: [JournalRecord]
            do {
                rows = try await pool.read { db in
                    try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.record)
                }
            } catch {
                report(day, error)
                continue
            }
            for record in rows {
                page.records.append(record)
                bytes += record.envelope.count + record.topicFrame.count + 64
                if page.records.count >= limit || bytes >= query.byteLimit {
                    page.nextID = record.id
                    return page
                }
            }
        }
        return page
    }

    /// How far a producer's clock may run ahead of the journal's (ids are reception times).
    static let skewNs: Int64 = 600 * 1_000_000_000

    static func select(_ query: JournalQuery, startID: UInt64, limit: Int) -> (String, StatementArguments) {
        var conditions = ["id >= ?"]
        var arguments: [any DatabaseValueConvertible] = [Int64(bitPattern: startID)]
        if query.fromPublishNs > 0 {
            conditions.append("publish_ns >= ?")
            arguments.append(query.fromPublishNs)
        }
        if query.toPublishNs > 0 {
            conditions.append("publish_ns < ?")
            arguments.append(query.toPublishNs)
        }
        if let stream = query.stream {
            conditions.append(
                "stream_key = ? AND service = ? AND instance = ? AND started_at_ns = ? AND topic = ? AND sequence >= ?")
            arguments += [
                stream.key, stream.service, stream.instance, stream.startedAtNs, stream.topic,
                Int64(bitPattern: query.fromSequence),
            ]
            if query.toSequence > 0 {
                conditions.append("sequence <= ?")
                arguments.append(Int64(bitPattern: query.toSequence))
            }
        }
        if !query.patterns.isEmpty && !query.patterns.contains(where: { $0.match == .prefix("") }) {
            var alternatives: [String] = []
            for pattern in query.patterns {
                switch pattern.match {
                case .exact(let topic):
                    alternatives.append("topic = ?")
                    arguments.append(topic.description)
                case .prefix(let prefix):
                    // Topics are ASCII below DEL, so [prefix, prefix + DEL) is every topic
                    // that starts with it, and the topic index serves it.
                    alternatives.append("(topic >= ? AND topic < ?)")
                    arguments += [prefix, prefix + "\u{7F}"]
                }
            }
            conditions.append("(" + alternatives.joined(separator: " OR ") + ")")
        }
        arguments.append(max(1, limit))
        let sql = """
            SELECT id, topic, topic_frame, envelope, received_ns, publish_ns, event_ns, service, instance, started_at_ns, \
            sequence FROM messages WHERE \(conditions.joined(separator: " AND ")) ORDER BY id LIMIT ?
            """
        return (sql, StatementArguments(arguments))
    }

    static func record(_ row: Row) -> JournalRecord {
        let topicFrame: Data = row["topic_frame"] ?? Data()
        let envelope: Data = row["envelope"] ?? Data()
        return JournalRecord(
            id: UInt64(bitPattern: row["id"] ?? 0), topic: row["topic"] ?? "", topicFrame: Array(topicFrame),
            envelope: Array(envelope), receivedNs: row["received_ns"] ?? 0, publishNs: row["publish_ns"] ?? 0,
            eventNs: row["event_ns"] ?? 0,
            stream: JournalStream(
                service: row["service"] ?? "", instance: row["instance"] ?? "", startedAtNs: row["started_at_ns"] ?? 0,
                topic: row["topic"] ?? ""),
            sequence: UInt64(bitPattern: row["sequence"] ?? 0))
    }

    /// The publish time of the oldest record kept (the first by id: an index lookup, not a
    /// scan of the day, since every page asks).
    private func oldestPublishNs(days: [Int64]) async -> Int64 {
        for day in days {
            guard let pool = try? segment(day, create: false) else { continue }
            let first = try? await pool.read { db in
                try Int64.fetchOne(db, sql: "SELECT publish_ns FROM messages ORDER BY id LIMIT 1")
            }
            if let value = first ?? nil {
                return value
            }
        }
        return 0
    }

    public func lastID() async throws -> UInt64 {
        for day in days().reversed() {
            let pool: DatabasePool
            do {
                guard let opened = try segment(day, create: false) else { continue }
                pool = opened
            } catch {
                report(day, error)
                continue
            }
            do {
                if let id = try await pool.read({ db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM messages") }) {
                    return UInt64(bitPattern: id)
                }
            } catch {
                report(day, error)
            }
        }
        return 0
    }

    public func lastSequences(afterID: UInt64, limit: Int) async throws -> [JournalStream: UInt64] {
        var result: [JournalStream: UInt64] = [:]
        for day in days().reversed() where JournalDay.firstID(ofDay: day + 1) > afterID {
            guard let pool = try? segment(day, create: false) else { continue }
            let rows: [(JournalStream, UInt64)]
            do {
                rows = try await pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT service, instance, started_at_ns, topic, MAX(sequence) AS last, MAX(id) AS newest FROM messages \
                        WHERE id > ? GROUP BY service, instance, started_at_ns, topic ORDER BY newest DESC LIMIT ?
                        """,
                    arguments: [Int64(bitPattern: afterID), max(1, limit)]
                ).map { row in
                    let stream = JournalStream(
                        service: row["service"] ?? "", instance: row["instance"] ?? "",
                        startedAtNs: row["started_at_ns"] ?? 0, topic: row["topic"] ?? "")
                    return (stream, UInt64(bitPattern: row["last"] ?? 0))
                }
                }
            } catch {
                report(day, error)
                continue
            }
            for (stream, last) in rows where result[stream] == nil && result.count < limit { result[stream] = last }
        }
        return result
    }

    public func maintain(nowNs: Int64, retentionNs: Int64, maxBytes: Int64) async throws -> JournalMaintenance {
        var report = JournalMaintenance()
        var days = days()
        let cutoffNs = Nanoseconds.subtracting(nowNs, retentionNs)
        let cutoff = cutoffNs > 0 ? UInt64(cutoffNs / 1_000) : 0
        // A whole day goes when its last instant is older than the cutoff.
        while let oldest = days.first, days.count > 1, JournalDay.firstID(ofDay: oldest + 1) <= cutoff {
            delete(oldest)
            report.deleted.append(JournalDay.name(oldest))
            days.removeFirst()
        }
        var sizes = days.map(size(ofDay:))
        while days.count > 1, sizes.reduce(0, +) > maxBytes {
            delete(days[0])
            report.deleted.append(JournalDay.name(days[0]))
            days.removeFirst()
            sizes.removeFirst()
        }
        report.bytes = sizes.reduce(0, +)
        report.segments = days.count
        // Bad segments are tried again (a file restored by hand, a disk remounted).
        state.withLock { $0.bad.removeAll() }
        return report
    }

    /// Bytes `day`'s files take (the database, its WAL and shared memory).
    public func size(ofDay day: Int64) -> Int64 {
        let path = path(ofDay: day)
        return ["", "-wal", "-shm"].reduce(Int64(0)) { total, suffix in
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + suffix)
            return total + ((attributes?[.size] as? NSNumber)?.int64Value ?? 0)
        }
    }

    private func delete(_ day: Int64) {
        if let pool = state.withLock({ $0.open.removeValue(forKey: day) }) { try? pool.close() }
        let path = path(ofDay: day)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    public func takeProblems() -> [JournalProblem] {
        state.withLock { state in
            defer { state.problems.removeAll() }
            return state.problems
        }
    }

    public func close() async {
        let pools = state.withLock { state -> [DatabasePool] in
            defer { state.open.removeAll() }
            return Array(state.open.values)
        }
        for pool in pools { try? pool.close() }
    }
}
