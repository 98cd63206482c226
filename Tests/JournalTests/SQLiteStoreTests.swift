import Contracts
import Foundation
import Journal
import ServiceKit
import SwiftProtobuf
import TestSupport
import Testing

/// Records as the journal would store them: ids on `day` (days since 1970) from `first`.
enum SQLiteFixtures {
    static let day: Int64 = 20_000  // 2024-10-04

    static func record(
        id: UInt64, topic: String = "tick.AAPL", sequence: UInt64 = 1, service: String = "ingestor",
        publishNs: Int64? = nil, size: Int = 120
    ) -> JournalRecord {
        let receivedNs = Int64(id) * 1_000
        return JournalRecord(
            id: id, topic: topic, topicFrame: Array(topic.utf8) + [0],
            envelope: (0..<size).map { UInt8(truncatingIfNeeded: Int(id) &+ $0) }, receivedNs: receivedNs,
            publishNs: publishNs ?? receivedNs - 500, eventNs: receivedNs - 1_000,
            stream: JournalStream(service: service, instance: "1", startedAtNs: 7, topic: topic), sequence: sequence)
    }

    /// `count` records from the first id of `day`, topics cycling through `topics`, each
    /// stream numbered 1, 2, 3, ….
    static func records(count: Int, day: Int64 = day, topics: [String] = ["tick.AAPL", "tick.AAPLX", "signal.AAPL"])
        -> [JournalRecord]
    {
        let first = JournalDay.firstID(ofDay: day)
        var sequences: [String: UInt64] = [:]
        return (0..<count).map { index in
            let topic = topics[index % topics.count]
            sequences[topic, default: 0] += 1
            return record(id: first + UInt64(index) * 1_000 + 1, topic: topic, sequence: sequences[topic] ?? 1)
        }
    }

    static func readAll(_ store: any JournalStore, _ query: JournalQuery) async throws -> [JournalRecord] {
        var query = query
        var all: [JournalRecord] = []
        for _ in 0..<10_000 {
            let page = try await store.read(query)
            all += page.records
            guard page.nextID != 0 else { return all }
            query.afterID = page.nextID
        }
        Issue.record("paging did not end")
        return all
    }
}

@Suite("SQLite journal store", .timeLimit(.minutes(2)))
struct SQLiteStoreTests {
    @Test("records over two days come back page by page, byte for byte and in order")
    func pagesAcrossDays() async throws {
        let directory = try TemporaryDirectory("journal")
        let store = try SQLiteJournalStore(directory: directory.path)
        let first = SQLiteFixtures.records(count: 2_500, day: SQLiteFixtures.day)
        let second = SQLiteFixtures.records(count: 2_500, day: SQLiteFixtures.day + 1)
        try await store.append(first + second)
        #expect(store.days() == [SQLiteFixtures.day, SQLiteFixtures.day + 1])
        var query = JournalQuery()
        query.limit = 700
        let read = try await SQLiteFixtures.readAll(store, query)
        #expect(read == first + second)
        #expect(try await store.lastID() == second.last?.id)
        await store.close()
    }

    @Test("patterns: one topic never matches another that starts with it; prefixes and * do")
    func patterns() async throws {
        let directory = try TemporaryDirectory("journal")
        let store = try SQLiteJournalStore(directory: directory.path)
        let records = SQLiteFixtures.records(count: 300)
        try await store.append(records)
        for (texts, expected) in [
            (["tick.AAPL"], ["tick.AAPL"]), (["tick."], ["tick.AAPL", "tick.AAPLX"]), (["signal.*"], ["signal.AAPL"]),
            (["*"], ["tick.AAPL", "tick.AAPLX", "signal.AAPL"]), (["tick.AAPLX", "signal.AAPL"], ["tick.AAPLX", "signal.AAPL"]),
        ] {
            var query = JournalQuery()
            query.patterns = try texts.map { try TopicPattern($0) }
            let read = try await SQLiteFixtures.readAll(store, query)
            #expect(read == records.filter { expected.contains($0.topic) }, "patterns \(texts)")
            #expect(read.allSatisfy { query.selects($0) })
        }
        await store.close()
    }

    @Test("a stream's sequence range fills a gap; a time range bounds publish times")
    func streamAndTime() async throws {
        let directory = try TemporaryDirectory("journal")
        let store = try SQLiteJournalStore(directory: directory.path)
        let records = SQLiteFixtures.records(count: 600)
        try await store.append(records)
        var query = JournalQuery()
        query.stream = records[0].stream
        query.fromSequence = 10
        query.toSequence = 19
        let gap = try await SQLiteFixtures.readAll(store, query)
        #expect(gap.map(\.sequence) == Array(10...19))
        #expect(gap.allSatisfy { $0.topic == "tick.AAPL" })

        var times = JournalQuery()
        times.fromPublishNs = records[100].publishNs
        times.toPublishNs = records[200].publishNs
        #expect(try await SQLiteFixtures.readAll(store, times) == Array(records[100..<200]))
        await store.close()
    }

    @Test("ids, the last sequences and the data survive reopening")
    func reopen() async throws {
        let directory = try TemporaryDirectory("journal")
        let records = SQLiteFixtures.records(count: 90)
        do {
            let store = try SQLiteJournalStore(directory: directory.path)
            try await store.append(records)
            await store.close()
        }
        let store = try SQLiteJournalStore(directory: directory.path)
        #expect(try await store.lastID() == records.last?.id)
        let last = try await store.lastSequences(afterID: 0, limit: 100)
        #expect(last.count == 3)
        #expect(last[records[0].stream] == 30)
        #expect(try await SQLiteFixtures.readAll(store, JournalQuery()) == records)
        var ids = JournalIDs(last: try await store.lastID())
        #expect(ids.next(receivedNs: 0) == (records.last?.id ?? 0) + 1)
        await store.close()
    }

    @Test("a stream's key is the same in every process and differs with any field")
    func streamKey() {
        let stream = JournalStream(service: "ingestor", instance: "1", startedAtNs: 7, topic: "tick.AAPL")
        // Pinned: segments written by one version are read by the next.
        #expect(stream.key == -8_332_854_657_681_689_225)
        let others = [
            JournalStream(service: "ingestor", instance: "2", startedAtNs: 7, topic: "tick.AAPL"),
            JournalStream(service: "ingestor", instance: "1", startedAtNs: 8, topic: "tick.AAPL"),
            JournalStream(service: "ingestor", instance: "1", startedAtNs: 7, topic: "tick.AAPLX"),
            JournalStream(service: "ingestor1", instance: "", startedAtNs: 7, topic: "tick.AAPL"),
        ]
        for other in others { #expect(other.key != stream.key, "\(other)") }
    }

    @Test("retention deletes whole old days and the size cap the oldest, never the newest")
    func retentionAndCap() async throws {
        let directory = try TemporaryDirectory("journal")
        let store = try SQLiteJournalStore(directory: directory.path)
        for offset in 0..<4 {
            try await store.append(SQLiteFixtures.records(count: 200, day: SQLiteFixtures.day + Int64(offset)))
        }
        let now = Int64(JournalDay.firstID(ofDay: SQLiteFixtures.day + 3)) * 1_000 + 3_600_000_000_000
        let day: Int64 = 86_400_000_000_000
        let aged = try await store.maintain(nowNs: now, retentionNs: 2 * day, maxBytes: 1 << 40)
        #expect(aged.deleted == [JournalDay.name(SQLiteFixtures.day)])
        #expect(store.days() == [SQLiteFixtures.day + 1, SQLiteFixtures.day + 2, SQLiteFixtures.day + 3])
        let capped = try await store.maintain(nowNs: now, retentionNs: 100 * day, maxBytes: 1)
        #expect(capped.deleted.count == 2)
        #expect(store.days() == [SQLiteFixtures.day + 3])
        #expect(capped.segments == 1)
        // What is left still reads.
        #expect(try await SQLiteFixtures.readAll(store, JournalQuery()).count == 200)
        await store.close()
    }

    @Test("a corrupt or truncated segment is reported and skipped; a corrupt current day is set aside")
    func corruptSegments() async throws {
        let directory = try TemporaryDirectory("journal")
        let good = SQLiteFixtures.records(count: 300, day: SQLiteFixtures.day + 2)
        do {
            let store = try SQLiteJournalStore(directory: directory.path)
            try await store.append(SQLiteFixtures.records(count: 3_000, day: SQLiteFixtures.day + 1))
            try await store.append(good)
            await store.close()
        }
        let probe = try SQLiteJournalStore(directory: directory.path)
        // Day 0: not a database at all. Day 1: a real segment cut in half.
        try Data(repeating: 0x5A, count: 8_192).write(to: URL(fileURLWithPath: probe.path(ofDay: SQLiteFixtures.day)))
        let truncated = probe.path(ofDay: SQLiteFixtures.day + 1)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: truncated + suffix) }
        let handle = try #require(FileHandle(forUpdatingAtPath: truncated))
        let size = try handle.seekToEnd()
        try handle.truncate(atOffset: size / 2)
        try handle.close()

        let store = try SQLiteJournalStore(directory: directory.path)
        let read = try await SQLiteFixtures.readAll(store, JournalQuery())
        #expect(read.suffix(good.count) == ArraySlice(good))
        let problems = store.takeProblems()
        #expect(problems.contains { $0.segment.contains(JournalDay.name(SQLiteFixtures.day)) })
        #expect(store.takeProblems().isEmpty)

        // Writing into the corrupt day moves it aside and starts afresh.
        let more = SQLiteFixtures.records(count: 10, day: SQLiteFixtures.day)
        try await store.append(more)
        var query = JournalQuery()
        query.patterns = [try TopicPattern("tick.AAPL")]
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(files.contains { $0.contains(".corrupt-") })
        _ = try await store.maintain(nowNs: 0, retentionNs: Int64.max, maxBytes: Int64.max)
        let again = try await SQLiteFixtures.readAll(store, JournalQuery())
        #expect(again.prefix(more.count) == ArraySlice(more))
        await store.close()
    }
}

@Suite("Journal server requests", .timeLimit(.minutes(1)))
struct JournalServerTests {
    func server(_ store: any JournalStore, maxMessages: Int = 100) -> JournalServer {
        JournalServer(
            store: store, producer: Producer(), maxMessages: maxMessages, maxBytes: 1 << 20, timeout: .seconds(5))
    }

    func reply(_ server: JournalServer, _ frames: [[UInt8]]) throws -> JournalReply {
        let answer = server.handle(frames: frames)
        #expect(answer.count == 1)
        return try JournalReply(serializedBytes: answer[0])
    }

    @Test("garbage, a bad pattern, a wrong version or an inverted range get an error, not a crash")
    func refusals() async throws {
        let directory = try TemporaryDirectory("journal")
        let store = try SQLiteJournalStore(directory: directory.path)
        let server = server(store)
        #expect(try !reply(server, [[0xFF, 0xFF, 0xFF]]).error.isEmpty)
        #expect(try !reply(server, [[], []]).error.isEmpty)
        var request = JournalRequest.patterns([])
        request.patterns = ["no dot here"]
        #expect(try !reply(server, [try request.serializedBytes()]).error.isEmpty)
        request = JournalRequest.patterns([])
        request.schemaVersion = 99
        #expect(try !reply(server, [try request.serializedBytes()]).error.isEmpty)
        request = JournalRequest.patterns([])
        request.stream.topic = "tick.AAPL"
        request.fromSequence = 10
        request.toSequence = 2
        #expect(try !reply(server, [try request.serializedBytes()]).error.isEmpty)
        request = JournalRequest.patterns([])
        request.fromPublishTimeNs = -5
        #expect(try !reply(server, [try request.serializedBytes()]).error.isEmpty)
        await store.close()
    }

    @Test("a request is answered in capped pages that resume where they stopped")
    func pages() async throws {
        let directory = try TemporaryDirectory("journal")
        let store = try SQLiteJournalStore(directory: directory.path)
        let records = SQLiteFixtures.records(count: 250)
        try await store.append(records)
        let server = server(store, maxMessages: 100)
        var request = JournalRequest.patterns([try TopicPattern("tick.AAPL")])
        request.maxMessages = 1_000_000
        var ids: [UInt64] = []
        for _ in 0..<10 {
            let answer = try reply(server, [try request.serializedBytes()])
            #expect(answer.error.isEmpty)
            #expect(answer.messages.count <= 100)
            ids += answer.messages.map(\.id)
            if answer.nextID == 0 { break }
            request.afterID = answer.nextID
        }
        #expect(ids == records.filter { $0.topic == "tick.AAPL" }.map(\.id))
        await store.close()
    }
}
