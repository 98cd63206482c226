import Contracts
import Foundation
import Logging
import PostgresNIO
import Synchronization
import Timekeeping

/// The journal in PostgreSQL: one table, `journal_messages`, range-partitioned on the id with
/// one partition per day (`journal_messages_YYYYMMDD`), so that retention drops whole
/// partitions instead of deleting rows.
///
/// Same semantics as ``SQLiteJournalStore``: pages in id order, the same filters, the same
/// time bounds (ids are reception times, see ``JournalQuery/lowestID(skewNs:)``), and the
/// same maintenance rules (whole days for age, then the oldest for the size cap, never the
/// newest day). Ids and sequence numbers are stored as `bigint` through
/// `Int64(bitPattern:)`.
///
/// Writing: one `INSERT … SELECT * FROM unnest(…)` with array bindings per ``append(_:)``
/// (one statement, so one transaction), after creating the partitions of days not yet seen.
/// A record whose id is already stored is skipped (`ON CONFLICT DO NOTHING`), so a batch
/// retried after a lost `COMMIT` acknowledgement does not fail forever.
///
/// Reading goes through the partitioned table (one query per page). When that fails with an
/// error the server reports (a damaged partition), the page is read partition by partition
/// instead and the partitions that fail are reported through ``takeProblems()`` and skipped.
/// Errors of the connection itself are thrown.
///
/// - Important: connections are not encrypted (TLS `.disable`): use it on a trusted network
///   or over a tunnel until TLS is configurable. A URL asking for TLS (`sslmode` other than
///   `disable`) is refused rather than silently sent in the clear.
public final class PostgresJournalStore: JournalStore {
    /// Where and as whom to connect, from the URL.
    struct Settings: Sendable, Equatable {
        var host: String
        var port: Int
        var user: String
        var password: String?
        var database: String?
        /// The URL with the password replaced, for errors and logs.
        var redacted: String
    }

    private struct State {
        /// Days whose partition is known to exist.
        var days: Set<Int64> = []
        /// The oldest day holding records and its smallest publish time (a scan of a whole
        /// partition, so kept until that day changes).
        var oldest: (day: Int64, publishNs: Int64)?
        var problems: [JournalProblem] = []
        var closed = false
    }

    private let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let logger: Logger
    private let state: Mutex<State>
    /// The URL without its password.
    public let redactedURL: String

    private init(client: PostgresClient, runTask: Task<Void, Never>, logger: Logger, redactedURL: String, days: Set<Int64>) {
        self.client = client
        self.runTask = runTask
        self.logger = logger
        self.redactedURL = redactedURL
        state = Mutex(State(days: days))
    }

    /// A failure of the store, worded without the password.
    public struct StoreError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    static let table = "journal_messages"
    /// Serializes schema changes (table, partitions) between journals sharing a database.
    static let lockKey: Int64 = 0x7469_636B_6A72_6E6C  // "tickjrnl"

    static let schema: [String] = [
        """
        CREATE TABLE IF NOT EXISTS journal_messages (
            id bigint NOT NULL,
            topic text COLLATE "C" NOT NULL,
            topic_frame bytea NOT NULL,
            envelope bytea NOT NULL,
            received_ns bigint NOT NULL,
            publish_ns bigint NOT NULL,
            event_ns bigint NOT NULL,
            service text NOT NULL,
            instance text NOT NULL,
            started_at_ns bigint NOT NULL,
            sequence bigint NOT NULL,
            PRIMARY KEY (id)
        ) PARTITION BY RANGE (id)
        """,
        "CREATE INDEX IF NOT EXISTS journal_messages_topic ON journal_messages (topic, id)",
        """
        CREATE INDEX IF NOT EXISTS journal_messages_stream ON journal_messages \
        (service, instance, started_at_ns, topic, sequence)
        """,
        "CREATE INDEX IF NOT EXISTS journal_messages_event_time ON journal_messages (event_ns)",
    ]

    // MARK: Connecting

    /// Connects to `url` (`postgres://user:password@host:port/database`, or `postgresql://`),
    /// creates the table and its indexes when missing, and starts the connection pool.
    /// Throws a ``StoreError`` naming the URL without its password when the URL is not one,
    /// or the server cannot be reached or refuses.
    public static func connect(url: String, logger: Logger) async throws -> PostgresJournalStore {
        let settings = try parse(url: url)
        var configuration = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: settings.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.minimumConnections = 1
        configuration.options.maximumConnections = 8
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let runTask = Task { await client.run() }

        // The schema on a connection of its own: a server that is down or refuses answers
        // with its reason at once, where the pool would retry for a minute.
        let days: Set<Int64>
        do {
            days = try await setUp(settings, logger: logger)
        } catch {
            runTask.cancel()
            await runTask.value
            throw StoreError(
                "cannot use the PostgreSQL journal at \(settings.redacted): \(describe(error, hiding: settings.password))")
        }
        logger.info(
            "journal: PostgreSQL store ready",
            metadata: ["url": "\(settings.redacted)", "partitions": "\(days.count)", "tls": "disabled"])
        return PostgresJournalStore(
            client: client, runTask: runTask, logger: logger, redactedURL: settings.redacted, days: days)
    }

    /// How long connecting and creating the schema may take.
    static let setUpSeconds = 30

    /// Creates the table and indexes when missing; returns the days that have a partition.
    /// A server that accepts the connection but does not answer within ``setUpSeconds`` is
    /// left (the connection closed under the waiting query).
    private static func setUp(_ settings: Settings, logger: Logger) async throws -> Set<Int64> {
        var configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: settings.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
        let timedOut = Mutex(false)
        let connecting = Task { try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger) }
        let watchdog = Task {
            try await Task.sleep(for: .seconds(setUpSeconds))
            timedOut.withLock { $0 = true }
            connecting.cancel()
            if let connection = try? await connecting.value { try? await connection.close() }
        }
        defer { watchdog.cancel() }
        do {
            let connection = try await connecting.value
            do {
                try await connection.withTransaction(logger: logger) { connection in
                    try await drain(connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger))
                    for statement in schema {
                        try await drain(connection.query(PostgresQuery(unsafeSQL: statement), logger: logger))
                    }
                }
                let partitions = try await partitions(connection.query(partitionsQuery, logger: logger))
                try? await connection.close()
                return Set(partitions.map(\.day))
            } catch {
                try? await connection.close()
                throw error
            }
        } catch {
            if timedOut.withLock({ $0 }) { throw StoreError("no answer within \(setUpSeconds) s") }
            throw error
        }
    }

    /// Reads a statement's result to its end (the connection is free for the next one then).
    static func drain(_ rows: PostgresRowSequence) async throws {
        for try await _ in rows {}
    }

    /// Parses a `postgres://` or `postgresql://` URL; the password is percent-decoded and
    /// never part of an error.
    static func parse(url: String) throws -> Settings {
        let redacted = redact(url)
        func refuse(_ why: String) -> StoreError {
            StoreError(
                "journal.postgres_url '\(redacted)' \(why) (expected postgres://user:password@host:port/database)")
        }
        guard let components = URLComponents(string: url) else { throw refuse("is not a URL") }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw refuse("is not a postgres:// URL")
        }
        guard var host = components.host, !host.isEmpty else { throw refuse("names no host") }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let user = components.user, !user.isEmpty else { throw refuse("names no user") }
        let port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw refuse("has port \(port), outside 1–65535") }
        var database = components.path
        if database.hasPrefix("/") { database.removeFirst() }
        guard !database.contains("/") else { throw refuse("has a path that is not a database name") }
        for item in components.queryItems ?? [] {
            switch (item.name, item.value) {
            case ("sslmode", "disable"):
                continue
            case ("sslmode", _):
                throw refuse("asks for TLS, which this store does not support yet (connections are unencrypted)")
            default:
                throw refuse("has an unsupported parameter '\(item.name)'")
            }
        }
        return Settings(
            host: host, port: port, user: user, password: components.password,
            database: database.isEmpty ? nil : database, redacted: redacted)
    }

    /// `url` with whatever follows the user name in the user information replaced by `****`
    /// (the user information ends at the last `@`, so a password holding `@` or `/` is hidden
    /// whole, even in a URL that does not parse).
    static func redact(_ url: String) -> String {
        let start = url.range(of: "://")?.upperBound ?? url.startIndex
        guard let at = url[start...].lastIndex(of: "@") else { return url }
        let userInfo = url[start..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":****" + String(url[at...])
    }

    /// A message for `error`: the server's own words when it answered, never the password.
    static func describe(_ error: any Error, hiding secret: String? = nil) -> String {
        var text: String
        switch error {
        case let error as PSQLError:
            var parts: [String] = []
            if let info = error.serverInfo {
                if let message = info[.message] { parts.append(message) }
                if let detail = info[.detail] { parts.append(detail) }
                if let state = info[.sqlState] { parts.append("SQLSTATE \(state)") }
            } else {
                parts.append("\(error.code)")
            }
            if let underlying = error.underlying { parts.append(describe(underlying)) }
            text = parts.joined(separator: ": ")
        case let error as PostgresTransactionError:
            if let inner = error.closureError ?? error.beginError ?? error.commitError {
                text = describe(inner)
            } else {
                text = "transaction failed"
            }
        case let error as PostgresDecodingError:
            text = "cannot decode column \(error.columnName) (\(error.postgresType)): \(error.code)"
        default:
            text = "\(error)"
        }
        if let secret, !secret.isEmpty {
            text = text.replacingOccurrences(of: secret, with: "****")
            if let encoded = secret.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed), encoded != secret {
                text = text.replacingOccurrences(of: encoded, with: "****")
            }
        }
        return text
    }

    /// Whether `error` is the server refusing one statement (a damaged partition, a missing
    /// table), as opposed to the connection failing.
    static func isServerError(_ error: any Error) -> Bool {
        switch error {
        case let error as PSQLError: error.code == .server
        case is PostgresDecodingError: true
        default: false
        }
    }

    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    // MARK: Partitions

    /// `journal_messages_YYYYMMDD`.
    static func partition(_ day: Int64) -> String {
        "journal_messages_" + JournalDay.name(day).filter { $0 != "-" }
    }

    /// The day of a partition name, or `nil` for a table that is not a day's partition.
    static func day(ofPartition name: String) -> Int64? {
        guard name.hasPrefix("journal_messages_") else { return nil }
        let digits = name.dropFirst("journal_messages_".count)
        guard digits.count == 8, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        let year = digits.prefix(4)
        let month = digits.dropFirst(4).prefix(2)
        let day = digits.dropFirst(6)
        return JournalDay.parse("\(year)-\(month)-\(day)")
    }

    static let partitionsQuery: PostgresQuery = """
        SELECT c.relname::text, pg_total_relation_size(c.oid) FROM pg_inherits i \
        JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'journal_messages'::regclass
        """

    /// The day partitions in `rows` of ``partitionsQuery``, oldest first.
    private static func partitions(_ rows: PostgresRowSequence) async throws -> [(day: Int64, bytes: Int64)] {
        var result: [(day: Int64, bytes: Int64)] = []
        for try await (name, bytes) in rows.decode((String, Int64).self) {
            if let day = day(ofPartition: name) { result.append((day, bytes)) }
        }
        return result.sorted { $0.day < $1.day }
    }

    /// The day partitions as the server lists them now, oldest first.
    private func partitions() async throws -> [(day: Int64, bytes: Int64)] {
        let found = try await Self.partitions(client.query(Self.partitionsQuery, logger: logger))
        state.withLock { $0.days = Set(found.map(\.day)) }
        return found
    }

    /// Creates the partitions of `days` that are not known to exist.
    private func ensurePartitions(_ days: [Int64]) async throws {
        let missing = state.withLock { state in days.filter { !state.days.contains($0) } }
        guard !missing.isEmpty else { return }
        let logger = logger
        try await client.withTransaction(logger: logger) { connection in
            try await Self.drain(connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger))
            for day in missing {
                let from = Int64(bitPattern: JournalDay.firstID(ofDay: day))
                let to = Int64(bitPattern: JournalDay.firstID(ofDay: day + 1))
                // Names and bounds are numbers computed here; DDL takes no bind parameters.
                try await Self.drain(connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            CREATE TABLE IF NOT EXISTS \(Self.partition(day)) PARTITION OF journal_messages \
                            FOR VALUES FROM (\(from)) TO (\(to))
                            """),
                    logger: logger))
            }
        }
        state.withLock { state in
            for day in missing { state.days.insert(day) }
        }
        for day in missing {
            logger.debug("journal: partition created", metadata: ["partition": "\(Self.partition(day))"])
        }
    }

    private func report(_ partition: String, _ error: any Error) {
        let message = Self.describe(error)
        logger.warning("journal: partition skipped", metadata: ["partition": "\(partition)", "error": "\(message)"])
        state.withLock { state in
            if state.problems.count < 1_000 {
                state.problems.append(JournalProblem(segment: partition, message: message))
            }
        }
    }

    private func checkOpen() throws {
        if state.withLock({ $0.closed }) { throw StoreError("the PostgreSQL journal at \(redactedURL) is closed") }
    }

    // MARK: JournalStore

    public func append(_ records: [JournalRecord]) async throws {
        guard !records.isEmpty else { return }
        try checkOpen()
        var days: [Int64] = []
        for record in records {
            let day = JournalDay.day(ofID: record.id)
            if days.last != day && !days.contains(day) { days.append(day) }
        }
        let query = Self.insert(records)
        try await ensurePartitions(days)
        do {
            try await Self.drain(client.query(query, logger: logger))
        } catch where Self.sqlState(error) == "23514" {
            // No partition for a row: dropped behind this store's back (another journal's
            // maintenance). Learn the partitions again and retry once.
            _ = try await partitions()
            try await ensurePartitions(days)
            try await Self.drain(client.query(query, logger: logger))
        }
        state.withLock { state in
            guard let oldest = state.oldest else { return }
            for record in records {
                let day = JournalDay.day(ofID: record.id)
                if day < oldest.day {
                    state.oldest = nil
                    return
                }
                if day == oldest.day, record.publishNs < (state.oldest?.publishNs ?? .max) {
                    state.oldest = (day, record.publishNs)
                }
            }
        }
    }

    /// One statement for a whole batch: eleven arrays, unnested into rows.
    static func insert(_ records: [JournalRecord]) -> PostgresQuery {
        let count = records.count
        var ids: [Int64] = [], topics: [String] = [], topicFrames: [ByteBuffer] = [], envelopes: [ByteBuffer] = []
        var received: [Int64] = [], published: [Int64] = [], events: [Int64] = []
        var services: [String] = [], instances: [String] = [], started: [Int64] = [], sequences: [Int64] = []
        ids.reserveCapacity(count)
        topics.reserveCapacity(count)
        topicFrames.reserveCapacity(count)
        envelopes.reserveCapacity(count)
        received.reserveCapacity(count)
        published.reserveCapacity(count)
        events.reserveCapacity(count)
        services.reserveCapacity(count)
        instances.reserveCapacity(count)
        started.reserveCapacity(count)
        sequences.reserveCapacity(count)
        // One buffer holds every frame, written whole before the bindings slice it (a slice
        // shares the storage: writing after slicing would copy the buffer every time).
        var frames = ByteBuffer()
        frames.reserveCapacity(records.reduce(0) { $0 + $1.topicFrame.count + $1.envelope.count })
        for record in records {
            frames.writeBytes(record.topicFrame)
            frames.writeBytes(record.envelope)
        }
        for record in records {
            ids.append(Int64(bitPattern: record.id))
            topics.append(text(record.topic))
            topicFrames.append(frames.readSlice(length: record.topicFrame.count) ?? ByteBuffer())
            envelopes.append(frames.readSlice(length: record.envelope.count) ?? ByteBuffer())
            received.append(record.receivedNs)
            published.append(record.publishNs)
            events.append(record.eventNs)
            services.append(text(record.stream.service))
            instances.append(text(record.stream.instance))
            started.append(record.stream.startedAtNs)
            sequences.append(Int64(bitPattern: record.sequence))
        }
        return """
            INSERT INTO journal_messages (id, topic, topic_frame, envelope, received_ns, publish_ns, event_ns, service, \
            instance, started_at_ns, sequence) SELECT * FROM unnest(\(ids)::bigint[], \(topics)::text[], \
            \(topicFrames)::bytea[], \(envelopes)::bytea[], \(received)::bigint[], \(published)::bigint[], \
            \(events)::bigint[], \(services)::text[], \(instances)::text[], \(started)::bigint[], \(sequences)::bigint[]) \
            ON CONFLICT (id) DO NOTHING
            """
    }

    /// PostgreSQL text cannot hold NUL: one would fail the batch on every retry. The frames
    /// keep the bytes exactly; only the query columns see U+FFFD instead.
    static func text(_ value: String) -> String {
        value.utf8.contains(0) ? value.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : value
    }

    public func read(_ query: JournalQuery) async throws -> JournalPage {
        try checkOpen()
        var page = JournalPage()
        page.oldestPublishNs = try await oldestPublishNs()
        let limit = max(1, query.limit)
        let startID = max(query.afterID &+ 1, query.lowestID(skewNs: SQLiteJournalStore.skewNs))
        // Nothing received after `to` plus the skew can have been published before `to`: the
        // days after that one are not read (the SQLite store's bound, to the day).
        var endDay: Int64?
        if query.toPublishNs > 0 {
            let bound = max(0, Nanoseconds.adding(query.toPublishNs, SQLiteJournalStore.skewNs) / 1_000)
            endDay = JournalDay.day(ofID: UInt64(bound))
        }
        var bytes = 0
        /// Adds rows to the page; true when the page is full.
        func take(_ rows: [JournalRecord]) -> Bool {
            for record in rows {
                page.records.append(record)
                bytes += record.envelope.count + record.topicFrame.count + 64
                if page.records.count >= limit || bytes >= query.byteLimit {
                    page.nextID = record.id
                    return true
                }
            }
            return false
        }
        do {
            let rows = try await select(query, from: Self.table, startID: startID, endDay: endDay, limit: limit)
            _ = take(rows)
            return page
        } catch where Self.isServerError(error) {
            logger.warning(
                "journal: reading the partitioned table failed, reading partition by partition",
                metadata: ["error": "\(Self.describe(error))"])
        }
        // One partition at a time, skipping those that fail.
        page.records.removeAll()
        page.nextID = 0
        bytes = 0
        for (day, _) in try await partitions() where JournalDay.firstID(ofDay: day + 1) > startID {
            if let endDay, day > endDay { break }
            let partition = Self.partition(day)
            let rows: [JournalRecord]
            do {
                rows = try await select(
                    query, from: partition, startID: startID, endDay: endDay, limit: limit - page.records.count)
            } catch where Self.isServerError(error) {
                report(partition, error)
                continue
            }
            if take(rows) { return page }
        }
        return page
    }

    /// Records of `query` from `table` (the partitioned table or one partition) in id order.
    private func select(
        _ query: JournalQuery, from table: String, startID: UInt64, endDay: Int64?, limit: Int
    ) async throws -> [JournalRecord] {
        let statement = Self.select(query, from: table, startID: startID, endDay: endDay, limit: limit)
        var records: [JournalRecord] = []
        records.reserveCapacity(min(limit, 10_000))
        let rows = try await client.query(statement, logger: logger)
        for try await row in rows {
            records.append(try Self.record(row))
        }
        return records
    }

    /// The query of ``read(_:)``: the SQLite store's conditions, every value a bind parameter.
    static func select(_ query: JournalQuery, from table: String, startID: UInt64, endDay: Int64?, limit: Int)
        -> PostgresQuery
    {
        var binds = PostgresBindings(capacity: 16)
        func bind(_ value: Int64) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        func bind(_ value: String) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        var conditions = ["id >= \(bind(Int64(bitPattern: startID)))"]
        if let endDay {
            conditions.append("id < \(bind(Int64(bitPattern: JournalDay.firstID(ofDay: endDay + 1))))")
        }
        if query.fromPublishNs > 0 { conditions.append("publish_ns >= \(bind(query.fromPublishNs))") }
        if query.toPublishNs > 0 { conditions.append("publish_ns < \(bind(query.toPublishNs))") }
        if let stream = query.stream {
            conditions.append(
                "service = \(bind(stream.service)) AND instance = \(bind(stream.instance)) AND started_at_ns = "
                    + "\(bind(stream.startedAtNs)) AND topic = \(bind(stream.topic)) AND sequence >= "
                    + "\(bind(Int64(bitPattern: query.fromSequence)))")
            if query.toSequence > 0 {
                conditions.append("sequence <= \(bind(Int64(bitPattern: query.toSequence)))")
            }
        }
        if !query.patterns.isEmpty && !query.patterns.contains(where: { $0.match == .prefix("") }) {
            var alternatives: [String] = []
            for pattern in query.patterns {
                switch pattern.match {
                case .exact(let topic):
                    alternatives.append("topic = \(bind(topic.description))")
                case .prefix(let prefix):
                    // Topics are ASCII below DEL and the column compares bytes (COLLATE "C"),
                    // so [prefix, prefix + DEL) is every topic that starts with it.
                    alternatives.append("(topic >= \(bind(prefix)) AND topic < \(bind(prefix + "\u{7F}")))")
                }
            }
            conditions.append("(" + alternatives.joined(separator: " OR ") + ")")
        }
        let sql = """
            SELECT id, topic, topic_frame, envelope, received_ns, publish_ns, event_ns, service, instance, started_at_ns, \
            sequence FROM \(table) WHERE \(conditions.joined(separator: " AND ")) ORDER BY id LIMIT \(bind(Int64(max(1, limit))))
            """
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    static func record(_ row: PostgresRow) throws -> JournalRecord {
        let (id, topic, topicFrame, envelope, received, published, event, service, instance, started, sequence) =
            try row.decode(
                (Int64, String, ByteBuffer, ByteBuffer, Int64, Int64, Int64, String, String, Int64, Int64).self)
        return JournalRecord(
            id: UInt64(bitPattern: id), topic: topic, topicFrame: Array(topicFrame.readableBytesView),
            envelope: Array(envelope.readableBytesView), receivedNs: received, publishNs: published, eventNs: event,
            stream: JournalStream(service: service, instance: instance, startedAtNs: started, topic: topic),
            sequence: UInt64(bitPattern: sequence))
    }

    /// The smallest publish time of the oldest day that has records (0 when none).
    private func oldestPublishNs() async throws -> Int64 {
        if let cached = state.withLock({ $0.oldest }) { return cached.publishNs }
        for (day, _) in try await partitions() {
            let partition = Self.partition(day)
            do {
                let rows = try await client.query(
                    PostgresQuery(unsafeSQL: "SELECT min(publish_ns) FROM \(partition)"), logger: logger)
                var value: Int64?
                for try await (minimum) in rows.decode((Int64?).self) { value = minimum }
                if let value {
                    state.withLock { $0.oldest = (day, value) }
                    return value
                }
            } catch where Self.isServerError(error) {
                report(partition, error)
            }
        }
        return 0
    }

    public func lastID() async throws -> UInt64 {
        try checkOpen()
        do {
            return try await maxID(from: Self.table)
        } catch where Self.isServerError(error) {
            logger.warning("journal: max(id) failed, reading partition by partition", metadata: ["error": "\(Self.describe(error))"])
        }
        for (day, _) in try await partitions().reversed() {
            let partition = Self.partition(day)
            do {
                let id = try await maxID(from: partition)
                if id != 0 { return id }
            } catch where Self.isServerError(error) {
                report(partition, error)
            }
        }
        return 0
    }

    private func maxID(from table: String) async throws -> UInt64 {
        let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT max(id) FROM \(table)"), logger: logger)
        var result: UInt64 = 0
        for try await (id) in rows.decode((Int64?).self) {
            if let id { result = UInt64(bitPattern: id) }
        }
        return result
    }

    public func lastSequences(afterID: UInt64, limit: Int) async throws -> [JournalStream: UInt64] {
        try checkOpen()
        let afterID = Int64(bitPattern: afterID)
        let limit = Int64(max(1, limit))
        let rows = try await client.query(
            """
            SELECT service, instance, started_at_ns, topic, max(sequence) AS last, max(id) AS newest \
            FROM journal_messages WHERE id > \(afterID) GROUP BY service, instance, started_at_ns, topic \
            ORDER BY newest DESC LIMIT \(limit)
            """, logger: logger)
        var result: [JournalStream: UInt64] = [:]
        for try await (service, instance, started, topic, last, _) in rows.decode(
            (String, String, Int64, String, Int64, Int64).self)
        {
            let stream = JournalStream(service: service, instance: instance, startedAtNs: started, topic: topic)
            if result[stream] == nil { result[stream] = UInt64(bitPattern: last) }
        }
        return result
    }

    public func maintain(nowNs: Int64, retentionNs: Int64, maxBytes: Int64) async throws -> JournalMaintenance {
        try checkOpen()
        var report = JournalMaintenance()
        var partitions = try await partitions()
        state.withLock { $0.oldest = nil }
        let cutoffNs = Nanoseconds.subtracting(nowNs, retentionNs)
        let cutoff = cutoffNs > 0 ? UInt64(cutoffNs / 1_000) : 0
        // A whole day goes when its last instant is older than the cutoff.
        while let oldest = partitions.first, partitions.count > 1, JournalDay.firstID(ofDay: oldest.day + 1) <= cutoff {
            guard try await drop(oldest.day) else { break }
            report.deleted.append(JournalDay.name(oldest.day))
            partitions.removeFirst()
        }
        while let oldest = partitions.first, partitions.count > 1, partitions.reduce(0, { $0 + $1.bytes }) > maxBytes {
            guard try await drop(oldest.day) else { break }
            report.deleted.append(JournalDay.name(oldest.day))
            partitions.removeFirst()
        }
        report.bytes = partitions.reduce(0) { $0 + $1.bytes }
        report.segments = partitions.count
        if !report.deleted.isEmpty {
            logger.info("journal: partitions dropped", metadata: ["days": "\(report.deleted.joined(separator: ","))"])
        }
        return report
    }

    /// Drops `day`'s partition; false (and reported) when the server refuses.
    private func drop(_ day: Int64) async throws -> Bool {
        let partition = Self.partition(day)
        do {
            try await Self.drain(client.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(partition)"), logger: logger))
        } catch where Self.isServerError(error) {
            report(partition, error)
            return false
        }
        state.withLock { state in
            state.days.remove(day)
            state.oldest = nil
        }
        return true
    }

    public func takeProblems() -> [JournalProblem] {
        state.withLock { state in
            defer { state.problems.removeAll() }
            return state.problems
        }
    }

    /// Stops the connection pool (its connections close); the store cannot be used after.
    public func close() async {
        state.withLock { $0.closed = true }
        runTask.cancel()
        await runTask.value
    }
}
