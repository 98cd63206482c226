import Foundation
import GRDB
import Synchronization

/// The notifier's durable outbox, in SQLite: every alert is stored (once per channel) before it
/// is sent, and stays until a channel confirms it. A restart resumes what was pending; the
/// (message id, channel) key means a message confirmed before a crash is never sent again
/// through that channel — at-least-once delivery, deduplicated by key. Every query is async:
/// GRDB runs it on its own queue, so SQLite I/O never blocks the cooperative pool.
public final class Outbox: Sendable {
    /// One message waiting for (or done with) one channel.
    public struct Delivery: Sendable, Equatable {
        public var id: String
        public var channel: String
        public var message: OutgoingMessage
        public var attempts: Int
        /// Recorded in the throttle table when this delivery succeeds.
        public var throttleKey: String?
    }

    public enum State: String, Sendable {
        case pending, sent, failed
    }

    private let database: DatabaseQueue
    public let path: String
    private let unreadable = Mutex<UInt64>(0)

    /// Opens (or creates) the outbox at `path`, creating its directory, and checks that it is
    /// an intact SQLite database that can be written. Throws ``OutboxError`` (naming the path)
    /// when it cannot be used. A query waits up to `busyTimeout` seconds for a lock.
    public init(path: String, busyTimeout: TimeInterval = 5) throws(OutboxError) {
        self.path = path
        do {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        } catch {
            throw OutboxError(path: path, reason: "its directory cannot be created: \(error.localizedDescription)")
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            try Self.migrator.migrate(database)
            let check = try database.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
            guard check == ["ok"] else {
                throw OutboxError(
                    path: path, reason: "the database is damaged: \(check.prefix(3).joined(separator: "; "))")
            }
            // SQLite opens a file it may not write read-only, silently: try a write now.
            try database.write { db in try db.execute(sql: "PRAGMA user_version = 1") }
        } catch let error as OutboxError {
            throw error
        } catch {
            throw OutboxError(path: path, reason: "\(error)")
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "delivery") { t in
                t.column("id", .text).notNull()
                t.column("channel", .text).notNull()
                t.column("message", .text).notNull()  // OutgoingMessage as JSON
                t.column("priority", .text).notNull()
                t.column("state", .text).notNull().defaults(to: State.pending.rawValue)
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("createdAt", .double).notNull()
                t.column("nextAttemptAt", .double).notNull()
                t.column("sentAt", .double)
                t.column("lastError", .text)
                t.column("throttleKey", .text)
                t.primaryKey(["id", "channel"])
            }
            try db.create(index: "delivery_due", on: "delivery", columns: ["channel", "state", "nextAttemptAt"])
            try db.create(table: "throttle") { t in
                t.primaryKey("key", .text)
                t.column("lastSentAt", .double).notNull()
            }
        }
        return migrator
    }

    /// Stores `message` for each of `channels`; a (message id, channel) already stored is left
    /// alone. Returns the channels it was newly stored for.
    @discardableResult
    public func enqueue(_ message: OutgoingMessage, channels: [String], throttleKey: String? = nil, now: Date = Date())
        async throws -> [String]
    {
        let json = String(decoding: try JSONEncoder().encode(message), as: UTF8.self)
        return try await database.write { db in
            var added: [String] = []
            for channel in channels {
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO delivery (id, channel, message, priority, createdAt, nextAttemptAt, throttleKey)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        message.id, channel, json, message.priority, now.timeIntervalSince1970,
                        now.timeIntervalSince1970, throttleKey,
                    ])
                if db.changesCount > 0 { added.append(channel) }
            }
            return added
        }
    }

    /// Pending deliveries for `channel` that are due, oldest first. A row that cannot be read
    /// back (a damaged or hand-edited database) is marked failed and counted in
    /// ``unreadableRows``, so it never blocks the rows behind it.
    public func due(channel: String, now: Date = Date(), limit: Int = 20) async throws -> [Delivery] {
        let (deliveries, bad) = try await database.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, channel, message, attempts, throttleKey FROM delivery
                    WHERE channel = ? AND state = 'pending' AND nextAttemptAt <= ?
                    ORDER BY createdAt LIMIT ?
                    """,
                arguments: [channel, now.timeIntervalSince1970, limit])
            var deliveries: [Delivery] = []
            var bad: [(id: DatabaseValue, channel: DatabaseValue)] = []
            for row in rows {
                if let delivery = Self.delivery(row) {
                    deliveries.append(delivery)
                } else {
                    bad.append((row["id"], row["channel"]))
                }
            }
            return (deliveries, bad)
        }
        if !bad.isEmpty {
            unreadable.withLock { $0 &+= UInt64(bad.count) }
            try await database.write { db in
                for row in bad {
                    try db.execute(
                        sql:
                            "UPDATE delivery SET state = 'failed', lastError = 'unreadable row' WHERE id = ? AND channel = ?",
                        arguments: [row.id, row.channel])
                }
            }
        }
        return deliveries
    }

    /// Rows found unreadable (and marked failed) since the outbox was opened.
    public var unreadableRows: UInt64 { unreadable.withLock { $0 } }

    private static func delivery(_ row: Row) -> Delivery? {
        do {
            let text = try row.decode(String.self, forColumn: "message")
            let attempts = try row.decode(Int.self, forColumn: "attempts")
            return Delivery(
                id: try row.decode(String.self, forColumn: "id"),
                channel: try row.decode(String.self, forColumn: "channel"),
                message: try JSONDecoder().decode(OutgoingMessage.self, from: Data(text.utf8)),
                attempts: min(max(attempts, 0), maximumAttempts),
                throttleKey: try row.decode(String?.self, forColumn: "throttleKey"))
        } catch {
            return nil
        }
    }

    /// Attempt counts read back are clamped to this (a damaged row must not overflow a count).
    static let maximumAttempts = 1_000_000

    public func markSent(_ delivery: Delivery, at now: Date = Date()) async throws {
        try await markSent(id: delivery.id, channel: delivery.channel, at: now)
    }

    /// Records that (`id`, `channel`) was delivered at `now`.
    public func markSent(id: String, channel: String, at now: Date = Date()) async throws {
        try await database.write { db in
            try db.execute(
                sql:
                    "UPDATE delivery SET state = 'sent', sentAt = ?, attempts = attempts + 1 WHERE id = ? AND channel = ?",
                arguments: [now.timeIntervalSince1970, id, channel])
        }
    }

    /// Records a failed attempt: retried at `retryAt`, or given up (`failed`) when nil.
    public func markFailed(_ delivery: Delivery, error: String, retryAt: Date?) async throws {
        try await markFailed(id: delivery.id, channel: delivery.channel, error: error, retryAt: retryAt)
    }

    /// Records a failed attempt of (`id`, `channel`): retried at `retryAt`, or given up when nil.
    public func markFailed(id: String, channel: String, error: String, retryAt: Date?, now: Date = Date()) async throws
    {
        try await database.write { db in
            try db.execute(
                sql: """
                    UPDATE delivery SET attempts = attempts + 1, lastError = ?, state = ?, nextAttemptAt = ?
                    WHERE id = ? AND channel = ?
                    """,
                arguments: [
                    error, retryAt == nil ? State.failed.rawValue : State.pending.rawValue,
                    (retryAt ?? now).timeIntervalSince1970, id, channel,
                ])
        }
    }

    /// Deliveries in each state, for heartbeats and tests.
    public func counts() async throws -> [State: Int] {
        try await database.read { db in
            var result: [State: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM delivery GROUP BY state") {
                if let state = State(rawValue: try row.decode(String.self, forColumn: "state")) {
                    result[state] = try row.decode(Int.self, forColumn: "n")
                }
            }
            return result
        }
    }

    /// Deliveries waiting to be sent (first try or retry), by channel.
    public func pendingByChannel() async throws -> [String: Int] {
        try await database.read { db in
            var result: [String: Int] = [:]
            let rows = try Row.fetchAll(
                db, sql: "SELECT channel, COUNT(*) AS n FROM delivery WHERE state = 'pending' GROUP BY channel")
            for row in rows {
                result[try row.decode(String.self, forColumn: "channel")] = try row.decode(Int.self, forColumn: "n")
            }
            return result
        }
    }

    /// Deletes deliveries sent or given up before `deliveredBefore` and throttle times older
    /// than `throttledBefore` (they hold nothing back any more). Returns the deliveries deleted.
    @discardableResult
    public func prune(deliveredBefore: Date, throttledBefore: Date) async throws -> Int {
        try await database.write { db in
            try db.execute(
                sql: """
                    DELETE FROM delivery WHERE state IN ('sent', 'failed') AND COALESCE(sentAt, nextAttemptAt) < ?
                    """,
                arguments: [deliveredBefore.timeIntervalSince1970])
            let deleted = db.changesCount
            try db.execute(
                sql: "DELETE FROM throttle WHERE lastSentAt < ?", arguments: [throttledBefore.timeIntervalSince1970])
            return deleted
        }
    }

    /// The state of one delivery, if stored.
    public func state(id: String, channel: String) async throws -> State? {
        try await database.read { db in
            try String.fetchOne(
                db, sql: "SELECT state FROM delivery WHERE id = ? AND channel = ?", arguments: [id, channel]
            )
            .flatMap(State.init(rawValue:))
        }
    }

    // MARK: Throttle

    /// When a message with throttle key `key` was last delivered.
    public func lastSent(key: String) async throws -> Date? {
        try await database.read { db in
            try Double.fetchOne(db, sql: "SELECT lastSentAt FROM throttle WHERE key = ?", arguments: [key])
                .map { Date(timeIntervalSince1970: $0) }
        }
    }

    /// Records a successful delivery of a message with throttle key `key`.
    public func recordSent(key: String, at now: Date = Date()) async throws {
        try await database.write { db in
            try db.execute(
                sql:
                    "INSERT INTO throttle (key, lastSentAt) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET lastSentAt = excluded.lastSentAt",
                arguments: [key, now.timeIntervalSince1970])
        }
    }
}

/// The outbox cannot be used: its file is damaged, not a database, or cannot be written.
public struct OutboxError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "the outbox \(path) cannot be used: \(reason)" }
}
