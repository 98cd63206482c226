@testable import Journal
import Testing

@Suite("The journal's write queue")
struct JournalQueueTests {
    func record(_ id: UInt64) -> JournalRecord { SQLiteFixtures.record(id: id) }

    @Test("first in, first out across many takes; putBack goes to the front")
    func order() {
        let queue = JournalService.Queue(limit: 1_000_000)
        for id in 1...20_000 { queue.push(record(UInt64(id))) }
        var taken: [UInt64] = []
        taken += queue.take(7_000).map(\.id)
        let failed = queue.take(2_000)
        queue.putBack(failed)
        while case let batch = queue.take(3_000), !batch.isEmpty { taken += batch.map(\.id) }
        #expect(taken == Array(1...20_000))
        #expect(queue.snapshot.count == 0)
        queue.push(record(99))
        #expect(queue.snapshot.oldestReceivedNs == record(99).receivedNs)
    }

    @Test("beyond the limit the oldest go, counted")
    func limit() {
        let queue = JournalService.Queue(limit: 100)
        for id in 1...250 { queue.push(record(UInt64(id))) }
        let snapshot = queue.snapshot
        #expect(snapshot.count <= 100)
        #expect(snapshot.dropped == UInt64(250 - snapshot.count))
        let kept = queue.take(1_000).map(\.id)
        #expect(kept == Array((251 - UInt64(kept.count))...250))
    }
}
