import Contracts
import Foundation
import ServiceKit
import TestSupport
import Testing

@Suite("Consumer positions")
struct ConsumerPositionsTests {
    func delivery(_ sequence: UInt64, topic: String = "signal.AAPL", instance: String = "1", published: Int64 = 1_000) throws
        -> Delivery
    {
        var envelope = Envelope()
        envelope.schemaVersion = 1
        envelope.producer = Producer(service: "signal-generator", instance: instance)
        envelope.producer.startedAtNs = 5
        envelope.sequence = sequence
        envelope.publishTimeNs = published
        return Delivery(topic: try Topic(wire: Array(topic.utf8) + [0]), envelope: envelope)
    }

    @Test("next, duplicate and the missing range after a gap, per stream")
    func verdicts() throws {
        var positions = ConsumerPositions()
        #expect(positions.verdict(try delivery(7)) == .next)  // a stream not seen yet
        positions.record(try delivery(7))
        #expect(positions.verdict(try delivery(8)) == .next)
        #expect(positions.verdict(try delivery(7)) == .duplicate)
        #expect(positions.verdict(try delivery(3)) == .duplicate)
        #expect(positions.verdict(try delivery(12)) == .afterGap(missing: 8...11))
        #expect(positions.verdict(try delivery(1, instance: "2")) == .next)
        #expect(positions.verdict(try delivery(1, topic: "signal.AAPLX")) == .next)
    }

    @Test("saved and loaded again: positions and watermark survive; a broken file is an error")
    func file() throws {
        let directory = try TemporaryDirectory("positions")
        let path = directory.file("nested/notifier.json")
        var positions = ConsumerPositions()
        positions.markStart(500)
        positions.record(try delivery(41, published: 2_000))
        positions.record(try delivery(9, topic: "alert.error", published: 1_500))
        #expect(positions.dirty)
        try positions.save(path: path)
        #expect(!positions.dirty)
        let loaded = try #require(try ConsumerPositions.load(path: path))
        #expect(loaded.watermarkNs == 2_000)
        #expect(loaded.verdict(try delivery(41)) == .duplicate)
        #expect(loaded.verdict(try delivery(42)) == .next)
        #expect(loaded.verdict(try delivery(10, topic: "alert.error")) == .next)
        #expect(try ConsumerPositions.load(path: directory.file("absent.json")) == nil)
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: directory.file("bad.json")))
        #expect(throws: (any Error).self) { try ConsumerPositions.load(path: directory.file("bad.json")) }
    }
}
