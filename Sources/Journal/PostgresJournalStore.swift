import Logging
import PostgresNIO

/// The journal in PostgreSQL: one table range-partitioned by day on the id (placeholder until
/// the store lands).
public final class PostgresJournalStore: JournalStore {
    public static func connect(url: String, logger: Logger) async throws -> PostgresJournalStore {
        throw PlaceholderError()
    }
    struct PlaceholderError: Error {}
    public func append(_ records: [JournalRecord]) async throws { throw PlaceholderError() }
    public func read(_ query: JournalQuery) async throws -> JournalPage { throw PlaceholderError() }
    public func lastID() async throws -> UInt64 { 0 }
    public func lastSequences(afterID: UInt64, limit: Int) async throws -> [JournalStream: UInt64] { [:] }
    public func maintain(nowNs: Int64, retentionNs: Int64, maxBytes: Int64) async throws -> JournalMaintenance { .init() }
    public func takeProblems() -> [JournalProblem] { [] }
    public func close() async {}
}
