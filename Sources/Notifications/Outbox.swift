import Foundation
import GRDB

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

    /// Opens (or creates) the outbox at `path`, creating its directory.
    public init(path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        database = try DatabaseQueue(path: path, configuration: configuration)
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
        try migrator.migrate(database)
    }

    /// Stores `message` for each of `channels`; a (message id, channel) already stored is left
    /// alone. Returns the channels it was newly stored for.
    @discardableResult
    public func enqueue(_ message: OutgoingMessage, channels: [String], throttleKey: String? = nil, now: Date = Date()) async throws -> [String] {
        let json = String(decoding: try JSONEncoder().encode(message), as: UTF8.self)
        return try await database.write { db in
            var added: [String] = []
            for channel in channels {
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO delivery (id, channel, message, priority, createdAt, nextAttemptAt, throttleKey)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [message.id, channel, json, message.priority, now.timeIntervalSince1970, now.timeIntervalSince1970, throttleKey])
                if db.changesCount > 0 { added.append(channel) }
            }
            return added
        }
    }

    /// Pending deliveries for `channel` that are due, oldest first.
    public func due(channel: String, now: Date = Date(), limit: Int = 20) async throws -> [Delivery] {
        try await database.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, channel, message, attempts, throttleKey FROM delivery
                    WHERE channel = ? AND state = 'pending' AND nextAttemptAt <= ?
                    ORDER BY createdAt LIMIT ?
                    """,
                arguments: [channel, now.timeIntervalSince1970, limit])
            return try rows.map { row in
                let text: String = row["message"]
                return Delivery(
                    id: row["id"], channel: row["channel"],
                    message: try JSONDecoder().decode(OutgoingMessage.self, from: Data(text.utf8)), attempts: row["attempts"],
                    throttleKey: row["throttleKey"])
            }
        }
    }

    public func markSent(_ delivery: Delivery, at now: Date = Date()) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE delivery SET state = 'sent', sentAt = ?, attempts = attempts + 1 WHERE id = ? AND channel = ?",
                arguments: [now.timeIntervalSince1970, delivery.id, delivery.channel])
        }
    }

    /// Records a failed attempt: retried at `retryAt`, or given up (`failed`) when nil.
    public func markFailed(_ delivery: Delivery, error: String, retryAt: Date?) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    UPDATE delivery SET attempts = attempts + 1, lastError = ?, state = ?, nextAttemptAt = ?
                    WHERE id = ? AND channel = ?
                    """,
                arguments: [
                    error, retryAt == nil ? State.failed.rawValue : State.pending.rawValue,
                    (retryAt ?? Date()).timeIntervalSince1970, delivery.id, delivery.channel,
                ])
        }
    }

    /// Deliveries in each state, for heartbeats and tests.
    public func counts() async throws -> [State: Int] {
        try await database.read { db in
            var result: [State: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM delivery GROUP BY state") {
                if let state = State(rawValue: row["state"]) { result[state] = row["n"] }
            }
            return result
        }
    }

    /// The state of one delivery, if stored.
    public func state(id: String, channel: String) async throws -> State? {
        try await database.read { db in
            try String.fetchOne(db, sql: "SELECT state FROM delivery WHERE id = ? AND channel = ?", arguments: [id, channel])
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
                sql: "INSERT INTO throttle (key, lastSentAt) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET lastSentAt = excluded.lastSentAt",
                arguments: [key, now.timeIntervalSince1970])
        }
    }
}
