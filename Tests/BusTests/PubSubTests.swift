import Bus
import Testing
import TestSupport

/// Eight little-endian bytes.
func encode(_ number: UInt64) -> [UInt8] { withUnsafeBytes(of: number.littleEndian) { Array($0) } }

/// The inverse of ``encode(_:)``; nil unless exactly eight bytes.
func decodeNumber(_ bytes: [UInt8]) -> UInt64? {
    guard bytes.count == 8 else { return nil }
    return bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
}

let warmTopic = Array("warm".utf8) + [0]

/// Reads `subscription` past a warm-up that `publisher` sends on ``warmTopic`` until it
/// arrives (the slow-joiner hand-shake), closing the subscription if it never does.
/// Returns how many other messages came first.
@discardableResult
func warmUp(_ iterator: inout Subscription.Iterator, _ subscription: Subscription, from publisher: Publisher) async throws -> Int {
    try await warmUp(
        &iterator,
        publish: { publisher.publish(topic: warmTopic) { _ in [] } },
        giveUp: { await subscription.close() },
        isWarmUp: { $0.topic == warmTopic })
}
let aaplTopic = Array("tick.AAPL".utf8) + [0]
let amznTopic = Array("tick.AMZN".utf8) + [0]
let msftTopic = Array("tick.MSFT".utf8) + [0]

func topicName(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

@Suite("Publisher and Subscription over real sockets", .timeLimit(.minutes(1)))
struct PubSubTests {
    @Test("tcp: N messages per topic arrive in order, stamped 1…N with a counter per topic")
    func inOrderWithPerTopicSequences() async throws {
        try await withContext { context in
            let publisher = try await Publisher(context: context, endpoint: loopbackWildcard, bind: true)
            #expect(publisher.endpoint.hasPrefix("tcp://127.0.0.1:"))
            #expect(publisher.endpoint != loopbackWildcard)
            let subscription = try await Subscription(
                context: context, endpoint: publisher.endpoint, prefixes: [warmTopic, aaplTopic, msftTopic])
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            defer { watchdog.cancel() }
            var iterator = subscription.makeAsyncIterator()
            let warmUps = Counter()
            try await warmUp(
                &iterator,
                publish: { publisher.publish(topic: warmTopic) { _ in _ = warmUps.next(); return [] } },
                giveUp: { await subscription.close() },
                isWarmUp: { $0.topic == warmTopic })
            #expect(warmUps.current >= 1)

            let count: UInt64 = 500
            var results: [[UInt8]: [PublishResult]] = [:]
            for _ in 1...count {
                for topic in [aaplTopic, msftTopic] {
                    // The payload carries the sequence number the publisher handed out.
                    let result = publisher.publish(topic: topic) { sequence in encode(sequence) }
                    results[topic, default: []].append(result)
                }
            }
            // Each topic counts from 1, untouched by the warm-up topic's numbers.
            let expected = (1...count).map { PublishResult.queued(sequence: $0) }
            #expect(results[aaplTopic] == expected)
            #expect(results[msftTopic] == expected)

            let received = try await collect(Int(count) * 2, from: &iterator) { $0.topic != warmTopic }
            var sequences: [String: [UInt64]] = [:]
            for message in received {
                #expect(message.frameCount == 2)
                sequences[topicName(message.topic), default: []].append(decodeNumber(message.payload) ?? 0)
            }
            #expect(sequences[topicName(aaplTopic)] == Array(1...count))
            #expect(sequences[topicName(msftTopic)] == Array(1...count))

            await publisher.close()
            let statistics = publisher.statistics
            #expect(statistics.queued == warmUps.current + 2 * count)
            #expect(statistics.sent == statistics.queued)
            #expect(statistics.dropped == 0)
            #expect(statistics.sendErrors == 0)
            #expect(publisher.lastError == nil)
            await subscription.close()
        }
    }

    @Test("inproc: a bound publisher reaches a subscriber in the same context")
    func inprocDelivery() async throws {
        try await withContext { context in
            let endpoint = uniqueInprocEndpoint("pubsub")
            let publisher = try await Publisher(context: context, endpoint: endpoint, bind: true)
            #expect(publisher.endpoint == endpoint)
            let subscription = try await Subscription(context: context, endpoint: endpoint, prefixes: [warmTopic, aaplTopic])
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            defer { watchdog.cancel() }
            var iterator = subscription.makeAsyncIterator()
            try await warmUp(&iterator, subscription, from: publisher)
            for _ in 0..<10 { publisher.publish(topic: aaplTopic) { encode($0) } }
            let received = try await collect(10, from: &iterator) { $0.topic != warmTopic }
            #expect(received.map { decodeNumber($0.payload) } == (1...10).map { Optional($0) })
            #expect(received.allSatisfy { $0.topic == aaplTopic && $0.frameCount == 2 })
            await publisher.close()
            await subscription.close()
        }
    }

    @Test("the socket filters by byte prefix: tick.A receives AAPL and AMZN, never MSFT")
    func prefixFiltering() async throws {
        try await withContext { context in
            let publisher = try await Publisher(context: context, endpoint: loopbackWildcard, bind: true)
            let subscription = try await Subscription(
                context: context, endpoint: publisher.endpoint, prefixes: [warmTopic, Array("tick.A".utf8)])
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            defer { watchdog.cancel() }
            var iterator = subscription.makeAsyncIterator()
            try await warmUp(&iterator, subscription, from: publisher)

            for _ in 0..<50 {
                for topic in [aaplTopic, msftTopic, amznTopic] { publisher.publish(topic: topic) { encode($0) } }
            }
            // One publisher, one connection: everything sent before the fence arrives before it.
            let fence = Array("tick.AZZZ".utf8) + [0]
            publisher.publish(topic: fence) { _ in [] }

            var counts: [String: Int] = [:]
            var sawFence = false
            while let message = try await iterator.next() {
                if message.topic == warmTopic { continue }
                if message.topic == fence {
                    sawFence = true
                    break
                }
                counts[topicName(message.topic), default: 0] += 1
            }
            #expect(sawFence)
            #expect(counts == [topicName(aaplTopic): 50, topicName(amznTopic): 50])
            await publisher.close()
            await subscription.close()
        }
    }

    @Test("subscribe and unsubscribe while running change what arrives")
    func subscribeAndUnsubscribeWhileRunning() async throws {
        try await withContext { context in
            let publisher = try await Publisher(context: context, endpoint: loopbackWildcard, bind: true)
            let subscription = try await Subscription(
                context: context, endpoint: publisher.endpoint, prefixes: [warmTopic, aaplTopic])
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            defer { watchdog.cancel() }
            var iterator = subscription.makeAsyncIterator()
            try await warmUp(&iterator, subscription, from: publisher)

            // MSFT is not subscribed yet; once subscribed it starts arriving.
            subscription.subscribe(msftTopic)
            try await warmUp(
                &iterator,
                publish: { publisher.publish(topic: msftTopic) { encode($0) } },
                giveUp: { await subscription.close() },
                isWarmUp: { $0.topic == msftTopic })

            // Unsubscribe, then publish (MSFT i, AAPL i) pairs until an AAPL i arrives without
            // its MSFT i: from then on the publisher filters MSFT out.
            subscription.unsubscribe(msftTopic)
            let pairs = Counter()
            let pump = Task {
                for _ in 0..<5_000 {
                    if Task.isCancelled { break }
                    let index = pairs.next()
                    publisher.publish(topic: msftTopic) { _ in encode(index) }
                    publisher.publish(topic: aaplTopic) { _ in encode(index) }
                    try? await Task.sleep(for: .milliseconds(2))
                }
            }
            var lastMSFT: UInt64 = 0
            var filteredFrom: UInt64?
            while let message = try await iterator.next() {
                guard let index = decodeNumber(message.payload) else { continue }
                if message.topic == msftTopic { lastMSFT = index }
                if message.topic == aaplTopic && lastMSFT != index {
                    filteredFrom = index
                    break
                }
            }
            pump.cancel()
            await pump.value
            let firstFiltered = try #require(filteredFrom, "unsubscribe never took effect")

            let fence = Array("tick.AAPL".utf8) + [0]
            for _ in 0..<20 { publisher.publish(topic: msftTopic) { _ in encode(0) } }
            publisher.publish(topic: fence) { _ in encode(UInt64.max) }
            var lateMSFT = 0
            while let message = try await iterator.next() {
                if message.topic == msftTopic { lateMSFT += 1 }
                if message.topic == fence && decodeNumber(message.payload) == UInt64.max { break }
            }
            #expect(lateMSFT == 0, "MSFT arrived after pair \(firstFiltered) showed it filtered")
            await publisher.close()
            await subscription.close()
        }
    }

    @Test("multipart messages report their frame count: 1, 2, 3 and 4 frames")
    func multipartFrameCount() async throws {
        try await withContext { context in
            let raw = try await RawPublisher(context: context, endpoint: loopbackWildcard, bind: true)
            let subscription = try await Subscription(context: context, endpoint: raw.endpoint, prefixes: [[]])
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            defer { watchdog.cancel() }
            var iterator = subscription.makeAsyncIterator()
            try await warmUp(
                &iterator,
                publish: { raw.send([warmTopic, []]) },
                giveUp: { await subscription.close() },
                isWarmUp: { $0.topic == warmTopic })

            let payload: [UInt8] = [1, 2, 3]
            raw.send([aaplTopic])
            raw.send([aaplTopic, payload])
            raw.send([aaplTopic, payload, [9]])
            raw.send([aaplTopic, payload, [9], [10, 11]])
            let received = try await collect(4, from: &iterator) { $0.topic != warmTopic }
            #expect(
                received == [
                    RawMessage(topic: aaplTopic, payload: [], frameCount: 1),
                    RawMessage(topic: aaplTopic, payload: payload, frameCount: 2),
                    RawMessage(topic: aaplTopic, payload: payload, frameCount: 3),
                    RawMessage(topic: aaplTopic, payload: payload, frameCount: 4),
                ])
            await raw.close()
            #expect(raw.failure == nil)
            await subscription.close()
        }
    }

    @Test("a publisher with a full queue drops, still using the sequence number, and counts it")
    func droppedWhenQueueFullOrClosed() async throws {
        try await withContext { context in
            let full = try await Publisher(context: context, endpoint: loopbackWildcard, bind: true, queueLimit: 0)
            #expect(full.publish(topic: aaplTopic) { encode($0) } == .dropped(sequence: 1))
            #expect(full.publish(topic: aaplTopic) { encode($0) } == .dropped(sequence: 2))
            #expect(full.publish(topic: msftTopic) { encode($0) } == .dropped(sequence: 1))
            #expect(full.statistics.dropped == 3)
            #expect(full.statistics.queued == 0)
            await full.close()

            let publisher = try await Publisher(context: context, endpoint: loopbackWildcard, bind: true)
            #expect(publisher.publish(topic: aaplTopic) { encode($0) } == .queued(sequence: 1))
            await publisher.close()
            // Closed: dropped, and the number is still used up.
            #expect(publisher.publish(topic: aaplTopic) { encode($0) } == .dropped(sequence: 2))
            #expect(publisher.statistics == {
                var expected = Publisher.Statistics()
                expected.queued = 1
                expected.sent = 1
                expected.dropped = 1
                return expected
            }())
        }
    }

    @Test("an error thrown by the payload closure propagates and queues nothing")
    func payloadErrorPropagates() async throws {
        struct EncodeFailed: Error, Equatable {}
        try await withContext { context in
            let publisher = try await Publisher(context: context, endpoint: loopbackWildcard, bind: true)
            #expect(throws: EncodeFailed()) {
                try publisher.publish(topic: aaplTopic) { (_) throws(EncodeFailed) -> [UInt8] in throw EncodeFailed() }
            }
            #expect(publisher.statistics.queued == 0)
            // The failed attempt used no sequence number, so subscribers see no false gap.
            #expect(publisher.publish(topic: aaplTopic) { encode($0) } == .queued(sequence: 1))
            await publisher.close()
        }
    }
}
