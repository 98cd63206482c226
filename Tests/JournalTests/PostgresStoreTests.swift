import Contracts
import Foundation
import Journal
import Logging
import TestSupport
import Testing

/// The PostgreSQL store against a real server (PostgreSQL 15, one throwaway cluster per
/// test), and against the SQLite store, whose answers are the reference.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct PostgresStoreTests {
    static let logger = Logger(label: "journal-postgres-test")

    // MARK: Fixtures

    /// 2024-03-04, a day like any.
    static let firstDay: Int64 = JournalDay.parse("2024-03-04") ?? 19_786

    static func record(
        id: UInt64, topic: String, service: String = "ingestor", instance: String = "a", startedAtNs: Int64 = 7,
        sequence: UInt64, publishNs: Int64? = nil, envelopeBytes: Int = 200
    ) -> JournalRecord {
        // Deterministic, varied bytes (every value 0…255 appears), so a byte out of place shows.
        let envelope = (0..<envelopeBytes).map { UInt8(truncatingIfNeeded: Int(id) &* 31 &+ $0 &* 7) }
        let receivedNs = Int64(id) * 1_000
        return JournalRecord(
            id: id, topic: topic, topicFrame: Array(topic.utf8) + [0], envelope: envelope, receivedNs: receivedNs,
            publishNs: publishNs ?? receivedNs - 5_000, eventNs: receivedNs - 9_000,
            stream: JournalStream(service: service, instance: instance, startedAtNs: startedAtNs, topic: topic),
            sequence: sequence)
    }

    /// `count` records over `days` days from ``firstDay``, spread evenly, on a few topics and
    /// streams, with envelopes of 20…400 bytes.
    static func records(count: Int, days: Int64 = 2, topics: [String] = ["tick.AAPL", "tick.AAPLX", "tick.MSFT", "bar.AAPL"])
        -> [JournalRecord]
    {
        let span = JournalDay.microsecondsPerDay * UInt64(days)
        let step = span / UInt64(count)
        let start = JournalDay.firstID(ofDay: firstDay) + 1_000
        var sequences: [String: UInt64] = [:]
        return (0..<count).map { index in
            let topic = topics[index % topics.count]
            let sequence = (sequences[topic] ?? 0) + 1
            sequences[topic] = sequence
            return record(
                id: start + UInt64(index) * step, topic: topic, sequence: sequence,
                envelopeBytes: 20 + (index * 37) % 381)
        }
    }

    /// Appends `records` in batches of `batch`.
    static func append(_ records: [JournalRecord], to stores: [any JournalStore], batch: Int = 500) async throws {
        var start = 0
        while start < records.count {
            let slice = Array(records[start..<min(start + batch, records.count)])
            for store in stores { try await store.append(slice) }
            start += batch
        }
    }

    /// Every page of `query`, following `nextID`.
    static func pages(_ query: JournalQuery, from store: any JournalStore) async throws -> [JournalPage] {
        var query = query
        var pages: [JournalPage] = []
        while pages.count < 10_000 {
            let page = try await store.read(query)
            pages.append(page)
            guard page.nextID != 0 else { break }
            query.afterID = page.nextID
        }
        return pages
    }

    /// A running server, a connected store on it and a SQLite store beside it.
    static func withStores<T: Sendable>(
        _ body: (ThrowawayPostgres, PostgresJournalStore, SQLiteJournalStore) async throws -> T
    ) async throws -> T {
        try await ThrowawayPostgres.with { server in
            let directory = try TemporaryDirectory("journal-reference")
            let reference = try SQLiteJournalStore(directory: directory.path)
            let store = try await PostgresJournalStore.connect(url: server.url, logger: logger)
            do {
                let result = try await body(server, store, reference)
                await store.close()
                await reference.close()
                return result
            } catch {
                await store.close()
                await reference.close()
                throw error
            }
        }
    }

    // MARK: Tests

    @Test("a few thousand records over two days come back page by page, exact")
    func appendAndPage() async throws {
        try await Self.withStores { _, store, reference in
            let records = Self.records(count: 3_000)
            #expect(Set(records.map { JournalDay.day(ofID: $0.id) }).count == 2)
            // Batches of 700 cross the day boundary (record 1500).
            try await Self.append(records, to: [store, reference], batch: 700)

            var query = JournalQuery()
            query.limit = 450
            let pages = try await Self.pages(query, from: store)
            #expect(pages.flatMap(\.records) == records)
            #expect(pages.dropLast().allSatisfy { $0.records.count == 450 && $0.nextID == $0.records.last?.id })
            #expect(pages.last?.nextID == 0)
            #expect(pages.first?.oldestPublishNs == records.first?.publishNs)
            #expect(try await Self.pages(query, from: reference) == pages)

            // Cut by bytes: about 20 kB a page.
            query.limit = 1_000
            query.byteLimit = 20_000
            let small = try await Self.pages(query, from: store)
            #expect(small.flatMap(\.records) == records)
            #expect(small.count > 10)
            for page in small.dropLast() {
                let bytes = page.records.reduce(0) { $0 + $1.envelope.count + $1.topicFrame.count + 64 }
                let withoutLast = bytes - (page.records.last.map { $0.envelope.count + $0.topicFrame.count + 64 } ?? 0)
                #expect(bytes >= 20_000 && withoutLast < 20_000)
                #expect(page.nextID == page.records.last?.id)
            }
            #expect(try await Self.pages(query, from: reference) == small)

            // From the middle, after an id.
            query = JournalQuery()
            query.afterID = records[1_234].id
            query.limit = 100_000
            #expect(try await store.read(query).records == Array(records[1_235...]))
            #expect(try await store.lastID() == records.last?.id)
        }
    }

    @Test("patterns: exact topics, prefixes, everything; AAPL never matches AAPLX")
    func patterns() async throws {
        try await Self.withStores { _, store, reference in
            let records = Self.records(count: 800, topics: ["tick.AAPL", "tick.AAPLX", "tick.MSFT", "bar.AAPL", "status.ingestor"])
            try await Self.append(records, to: [store, reference])
            let cases: [[TopicPattern]] = [
                [TopicPattern(exact: try Topic.tick("AAPL"))],
                [TopicPattern(prefix: "tick.")],
                [TopicPattern(prefix: "tick.AAPL")],
                [TopicPattern(prefix: "")],
                [],
                [TopicPattern(exact: try Topic.tick("MSFT")), TopicPattern(prefix: "bar.")],
                [TopicPattern(prefix: "status."), TopicPattern(prefix: "")],
                [TopicPattern(exact: try Topic.tick("NONE"))],
            ]
            for patterns in cases {
                var query = JournalQuery()
                query.patterns = patterns
                query.limit = 97
                let pages = try await Self.pages(query, from: store)
                let expected = records.filter(query.selects)
                #expect(pages.flatMap(\.records) == expected, "\(patterns)")
                #expect(try await Self.pages(query, from: reference) == pages, "\(patterns)")
            }
            var exact = JournalQuery()
            exact.patterns = [TopicPattern(exact: try Topic.tick("AAPL"))]
            exact.limit = 10_000
            let aapl = try await store.read(exact).records
            #expect(aapl.count == 160)
            #expect(aapl.allSatisfy { $0.topic == "tick.AAPL" })
        }
    }

    @Test("one stream's sequence range, as a gap fill asks for it")
    func streamAndSequenceRange() async throws {
        try await Self.withStores { _, store, reference in
            let start = JournalDay.firstID(ofDay: Self.firstDay) + 5_000
            var records: [JournalRecord] = []
            for index in 0..<600 {
                let instance = index % 2 == 0 ? "a" : "b"
                let topic = index % 3 == 0 ? "tick.AAPL" : "tick.MSFT"
                let sequence = UInt64(records.filter { $0.stream.instance == instance && $0.topic == topic }.count + 1)
                records.append(Self.record(id: start + UInt64(index) * 10, topic: topic, instance: instance, sequence: sequence))
            }
            try await Self.append(records, to: [store, reference], batch: 128)
            let stream = JournalStream(service: "ingestor", instance: "b", startedAtNs: 7, topic: "tick.MSFT")
            for (from, to) in [(UInt64(10), UInt64(20)), (150, 0), (1, 1), (0, 0), (500, 0), (21, 10)] {
                var query = JournalQuery()
                query.stream = stream
                query.fromSequence = from
                query.toSequence = to
                query.limit = 7
                let got = try await Self.pages(query, from: store).flatMap(\.records)
                let expected = records.filter(query.selects)
                #expect(got == expected, "\(from)…\(to)")
                #expect(try await Self.pages(query, from: reference).flatMap(\.records) == got)
            }
            var gap = JournalQuery()
            gap.stream = stream
            gap.fromSequence = 10
            gap.toSequence = 20
            let filled = try await store.read(gap).records
            #expect(filled.map(\.sequence) == Array(10...20))
            #expect(filled.allSatisfy { $0.stream == stream })

            let last = try await store.lastSequences(afterID: 0, limit: 10)
            let expectedLast = Dictionary(records.map { ($0.stream, $0.sequence) }, uniquingKeysWith: max)
            #expect(last == expectedLast)
            #expect(try await store.lastSequences(afterID: 0, limit: 2).count == 2)
            #expect(try await store.lastSequences(afterID: records[590].id, limit: 10).count == 4)
        }
    }

    @Test("publish-time ranges, across the day boundary")
    func timeRange() async throws {
        try await Self.withStores { _, store, reference in
            let records = Self.records(count: 2_000)
            try await Self.append(records, to: [store, reference], batch: 333)
            let publish = records.map(\.publishNs)
            let ranges: [(Int64, Int64)] = [
                (publish[100], publish[200]),
                (publish[900], publish[1_100]),  // across the boundary
                (0, publish[50]),
                (publish[1_950], 0),
                (publish[10] + 1, publish[10] + 2),  // nothing
            ]
            for (from, to) in ranges {
                var query = JournalQuery()
                query.fromPublishNs = from
                query.toPublishNs = to
                query.limit = 64
                let got = try await Self.pages(query, from: store).flatMap(\.records)
                #expect(got == records.filter(query.selects), "\(from)..<\(to)")
                #expect(try await Self.pages(query, from: reference).flatMap(\.records) == got)
            }
            var query = JournalQuery()
            query.fromPublishNs = publish[900]
            query.toPublishNs = publish[1_100]
            query.limit = 10_000
            #expect(try await store.read(query).records.map(\.id) == records[900..<1_100].map(\.id))
        }
    }

    @Test("the data outlives the connection: lastID and reads after a new connect")
    func durableAcrossReconnect() async throws {
        try await ThrowawayPostgres.with { server in
            let empty = try await PostgresJournalStore.connect(url: server.url, logger: Self.logger)
            #expect(try await empty.lastID() == 0)
            #expect(try await empty.read(JournalQuery()) == JournalPage())
            #expect(try await empty.lastSequences(afterID: 0, limit: 10) == [:])
            await empty.close()
            let records = Self.records(count: 1_000)
            let first = try await PostgresJournalStore.connect(url: server.url, logger: Self.logger)
            try await Self.append(records, to: [first])
            await first.close()
            await #expect(throws: (any Error).self) { try await first.lastID() }

            let second = try await PostgresJournalStore.connect(url: server.url, logger: Self.logger)
            #expect(try await second.lastID() == records.last?.id)
            var query = JournalQuery()
            query.limit = 5_000
            #expect(try await second.read(query).records == records)
            // It goes on writing into the partitions it found, and a third day.
            let more = Self.record(id: JournalDay.firstID(ofDay: Self.firstDay + 2) + 3, topic: "tick.AAPL", sequence: 1)
            try await second.append([more])
            // The same batch again (a retry after a lost acknowledgement) is not an error.
            try await second.append([more])
            #expect(try await second.lastID() == more.id)
            #expect(try await second.read(query).records == records + [more])
            await second.close()
        }
    }

    @Test("retention drops the old day's partition; the size cap drops the oldest, never the newest")
    func maintenance() async throws {
        try await Self.withStores { server, store, _ in
            let records = Self.records(count: 3_000, days: 3)
            try await Self.append(records, to: [store], batch: 1_000)
            func partitions() async throws -> [String] {
                try await server.psql(
                    "SELECT relname FROM pg_class WHERE relname LIKE 'journal\\_messages\\_2%' AND relkind = 'r' ORDER BY 1"
                ).split(separator: "\n").map(String.init)
            }
            #expect(try await partitions() == ["journal_messages_20240304", "journal_messages_20240305", "journal_messages_20240306"])

            let day = Int64(86_400) * 1_000_000_000
            let midnightAfter = Int64(JournalDay.firstID(ofDay: Self.firstDay + 3)) * 1_000
            // Nothing is old enough yet.
            var report = try await store.maintain(nowNs: midnightAfter - 1, retentionNs: 2 * day, maxBytes: .max)
            #expect(report.deleted == [])
            #expect(report.segments == 3)
            #expect(report.bytes > 3_000 * 200)
            // The first day ended more than two days ago: gone.
            report = try await store.maintain(nowNs: midnightAfter, retentionNs: 2 * day, maxBytes: .max)
            #expect(report.deleted == ["2024-03-04"])
            #expect(report.segments == 2)
            #expect(try await partitions() == ["journal_messages_20240305", "journal_messages_20240306"])
            var all = JournalQuery()
            all.limit = 10_000
            let remaining = try await store.read(all)
            #expect(remaining.records == records.filter { JournalDay.day(ofID: $0.id) > Self.firstDay })
            #expect(remaining.oldestPublishNs == remaining.records.first?.publishNs)

            // The size cap: a little under the two days left drops the older one.
            report = try await store.maintain(nowNs: midnightAfter, retentionNs: 30 * day, maxBytes: report.bytes - 1)
            #expect(report.deleted == ["2024-03-05"])
            #expect(report.segments == 1)
            // Never the newest, even over the cap.
            report = try await store.maintain(nowNs: midnightAfter + 400 * day, retentionNs: day, maxBytes: 0)
            #expect(report.deleted == [])
            #expect(report.segments == 1)
            #expect(try await partitions() == ["journal_messages_20240306"])
            #expect(try await store.lastID() == records.last?.id)
            // A dropped day can be written again (its partition is made anew).
            let late = Self.record(id: JournalDay.firstID(ofDay: Self.firstDay) + 17, topic: "tick.AAPL", sequence: 9)
            try await store.append([late])
            #expect(try await store.read(all).records.first == late)
            #expect(store.takeProblems() == [])
        }
    }

    @Test("a password in the URL never appears in an error")
    func passwordNeverInErrors() async throws {
        let secret = "Sup3r-S3cret"
        let urls = [
            "postgres://tickwire:\(secret)@127.0.0.1:1/journal",  // nothing listens
            "mysql://tickwire:\(secret)@127.0.0.1:5432/journal",  // not postgres
            "postgres://tickwire:\(secret)@/journal",  // no host
            "postgres://tickwire:\(secret)@127.0.0.1:5432/journal?sslmode=require",  // TLS asked for
            "postgres://tickwire:\(secret)%40x@127.0.0.1:1/journal",  // percent-encoded
            "tickwire:\(secret)@127.0.0.1/journal",  // no scheme
            "postgres://tickwire:\(secret)@127.0.0.1:1/jour nal",  // not a URL
        ]
        for url in urls {
            do {
                let store = try await PostgresJournalStore.connect(url: url, logger: Self.logger)
                await store.close()
                Issue.record("\(url) connected")
            } catch {
                for text in ["\(error)", String(reflecting: error), error.localizedDescription] {
                    #expect(!text.contains(secret), "\(text)")
                    #expect(!text.contains("3cret"), "\(text)")
                }
                #expect("\(error)".contains("tickwire:****@") || "\(error)".contains("tickwire@"), "\(error)")
            }
        }
        // A server that answers, refusing: no such database.
        try await ThrowawayPostgres.with { server in
            let url = "postgres://tickwire:\(secret)@127.0.0.1:\(server.port)/missing"
            do {
                let store = try await PostgresJournalStore.connect(url: url, logger: Self.logger)
                await store.close()
                Issue.record("connected to a missing database")
            } catch {
                #expect(!"\(error)".contains(secret) && !String(reflecting: error).contains(secret))
                #expect("\(error)".contains("missing"), "\(error)")
                #expect("\(error)".contains("127.0.0.1:\(server.port)"), "\(error)")
            }
            // The password is decoded and sent (trust accepts any): a working store.
            let store = try await PostgresJournalStore.connect(
                url: "postgresql://tickwire:\(secret)%2F%40@127.0.0.1:\(server.port)/journal", logger: Self.logger)
            #expect(try await store.lastID() == 0)
            #expect(store.redactedURL == "postgresql://tickwire:****@127.0.0.1:\(server.port)/journal")
            await store.close()
        }
    }

    @Test("a damaged partition is reported and skipped, never a crash")
    func damagedPartition() async throws {
        try await ThrowawayPostgres.with { server in
            let records = Self.records(count: 2_000)
            let store = try await PostgresJournalStore.connect(url: server.url, logger: Self.logger)
            try await Self.append(records, to: [store])
            await store.close()
            let file = try await server.psql("SELECT pg_relation_filepath('journal_messages_20240304')")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            try await server.pause()
            // Garbage over the first page's header: the server refuses to read that page.
            let path = server.dataDirectory + "/" + file
            let handle = try #require(FileHandle(forUpdatingAtPath: path))
            try handle.write(contentsOf: [UInt8](repeating: 0xA5, count: 64))
            try handle.close()
            try await server.startAgain()

            let reopened = try await PostgresJournalStore.connect(url: server.url, logger: Self.logger)
            var query = JournalQuery()
            query.limit = 10_000
            let page = try await reopened.read(query)
            #expect(page.records == records.filter { JournalDay.day(ofID: $0.id) == Self.firstDay + 1 })
            let problems = reopened.takeProblems()
            #expect(problems.contains { $0.segment == "journal_messages_20240304" }, "\(problems)")
            #expect(reopened.takeProblems() == [])
            #expect(try await reopened.lastID() == records.last?.id)
            await reopened.close()
        }
    }

    @Test("append rate: 100k records of 200-byte envelopes in batches of 2000 (printed, not asserted)")
    func appendRate() async throws {
        try await ThrowawayPostgres.with { server in
            let store = try await PostgresJournalStore.connect(url: server.url, logger: Self.logger)
            let start = JournalDay.firstID(ofDay: Self.firstDay)
            let topics = (0..<50).map { "tick.SYM\($0)" }
            let records = (0..<100_000).map { index in
                Self.record(
                    id: start + UInt64(index) * 100, topic: topics[index % topics.count],
                    sequence: UInt64(index / topics.count + 1), envelopeBytes: 200)
            }
            let clock = ContinuousClock()
            let elapsed = try await clock.measure {
                try await Self.append(records, to: [store], batch: 2_000)
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            var query = JournalQuery()
            query.limit = 5_000
            var read = 0
            let readTime = try await clock.measure {
                read = try await Self.pages(query, from: store).reduce(0) { $0 + $1.records.count }
            }
            let readSeconds = Double(readTime.components.seconds) + Double(readTime.components.attoseconds) / 1e18
            #if DEBUG
                let build = "debug build"
            #else
                let build = "release build"
            #endif
            print(
                "PostgresJournalStore (\(build)): appended 100000 records (200-byte envelopes, batches of 2000) in "
                    + String(format: "%.2f s = %.0f records/s; read back in pages of 5000 at %.0f records/s", seconds,
                        100_000 / seconds, Double(read) / readSeconds))
            #expect(read == 100_000)
            #expect(try await store.lastID() == records.last?.id)
            await store.close()
        }
    }
}

