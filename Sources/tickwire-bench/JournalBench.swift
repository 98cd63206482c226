import ArgumentParser
import Contracts
import Foundation
import Journal
import Logging
import ServiceKit
import TestSupport
import Timekeeping

/// The journal's sustained write rate (its store, in the writer's batches) against the bus's
/// direct path, measured in the same run.
struct JournalBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Measure the journal's write rate (SQLite, PostgreSQL) against the bus's direct path."
    )

    @Option(help: "Messages per run.")
    var messages = 200_000

    @Option(help: "Runs per store; the median is reported.")
    var runs = 3

    @Option(help: "Records per transaction, as journal.batch_messages.")
    var batch = 2_000

    @Option(help: "A PostgreSQL server to write to (postgres://…); default: a throwaway local server when postgresql-15 is installed.")
    var postgresURL: String?

    @Flag(help: "Skip PostgreSQL.")
    var noPostgres = false

    mutating func run() async throws {
        let records = try Self.records(count: messages)
        let bytes = records.reduce(0) { $0 + $1.envelope.count + $1.topicFrame.count }
        print(
            "journal bench: \(messages) ticks per run (\(bytes / max(1, messages)) bytes of frames each), batches of \(batch), median of \(runs)")
        var direct: [Double] = []
        var sqlite: [Double] = []
        for _ in 0..<runs {
            direct.append(try await TickwirePath.throughput(messages: messages, proxyExecutable: nil))
            let directory = NSTemporaryDirectory() + "tickwire-bench-journal-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let store = try SQLiteJournalStore(directory: directory)
            sqlite.append(try await Self.appendRate(store, records: records, batch: batch))
            await store.close()
        }
        var postgres: [Double] = []
        var postgresNote = ""
        if !noPostgres {
            do {
                postgres = try await measurePostgres(records: records)
            } catch {
                postgresNote = "PostgreSQL not measured: \(error)"
            }
        }
        let base = median(direct)
        func row(_ name: String, _ values: [Double]) {
            print(
                name.padding(toLength: 44, withPad: " ", startingAt: 0)
                    + String(
                        format: "%10.0f msg/s (%.0f–%.0f)   %5.2f × direct", median(values), values.min() ?? 0,
                        values.max() ?? 0, median(values) / base))
        }
        print("")
        row("bus direct path (encode + decode)", direct)
        row("journal SQLite (WAL, a transaction a batch)", sqlite)
        if !postgres.isEmpty { row("journal PostgreSQL (partitioned by day)", postgres) }
        if !postgresNote.isEmpty { print(postgresNote) }
        let ratio = median(sqlite) / base
        print(String(format: "goal: SQLite ≥ 0.50 × direct → %@ (%.2f)", ratio >= 0.5 ? "met" : "NOT met", ratio))
    }

    func measurePostgres(records: [JournalRecord]) async throws -> [Double] {
        var server: ThrowawayPostgres?
        let url: String
        if let postgresURL {
            url = postgresURL
        } else {
            let started = try await ThrowawayPostgres.start()
            server = started
            url = started.url
        }
        var rates: [Double] = []
        do {
            for run in 0..<runs {
                let store = try await PostgresJournalStore.connect(url: url, logger: Logger(label: "bench"))
                // Each run writes a day of its own (a new partition), as a new day's journal does.
                let shifted = records.map { record in
                    var record = record
                    record.id += UInt64(run + 1) * 2 * JournalDay.microsecondsPerDay
                    return record
                }
                rates.append(try await Self.appendRate(store, records: shifted, batch: batch))
                await store.close()
            }
        } catch {
            await server?.stop()
            throw error
        }
        await server?.stop()
        return rates
    }

    /// Records as the journal makes them from real envelopes: ids today, one stream per topic.
    static func records(count: Int) throws -> [JournalRecord] {
        let trade = BenchMessages.sampleTrade()
        let topics = try ["AAPL", "MSFT", "GOOGL", "AMZN", "META"].map { try Topic.tick($0) }
        let now = WallClock.nanoseconds()
        var ids = JournalIDs(last: 0)
        return try (0..<count).map { index in
            let topic = topics[index % topics.count]
            let envelope = BenchMessages.envelope(trade, sequence: UInt64(index / topics.count + 1))
            let received = now + Int64(index) * 1_000
            return JournalRecord(
                id: ids.next(receivedNs: received), topic: topic.description, topicFrame: topic.wire,
                envelope: try Codec.encode(envelope), receivedNs: received, publishNs: envelope.publishTimeNs,
                eventNs: envelope.eventTimeNs,
                stream: JournalStream(service: "bench", instance: "1", startedAtNs: 0, topic: topic.description),
                sequence: envelope.sequence)
        }
    }

    /// Records per second through `store.append` in batches.
    static func appendRate(_ store: any JournalStore, records: [JournalRecord], batch: Int) async throws -> Double {
        let start = ContinuousClock.now
        var index = 0
        while index < records.count {
            let end = min(records.count, index + batch)
            try await store.append(Array(records[index..<end]))
            index = end
        }
        let seconds = (ContinuousClock.now - start).inSeconds
        return Double(records.count) / max(seconds, 1e-9)
    }
}
