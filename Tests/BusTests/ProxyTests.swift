import Bus
import Testing
import TestSupport

let firstWarm = Array("warm1".utf8) + [0]
let secondWarm = Array("warm2".utf8) + [0]

@Suite("Proxy: the XSUB/XPUB forwarder", .timeLimit(.minutes(1)))
struct ProxyTests {
    @Test("forwards publisher → subscriber in order and counts messages, frames, bytes and subscriptions")
    func forwardsAndCounts() async throws {
        try await withContext { context in
            let proxy = try await Proxy(context: context, frontend: loopbackWildcard, backend: loopbackWildcard)
            #expect(proxy.frontend.hasPrefix("tcp://127.0.0.1:"))
            #expect(proxy.backend.hasPrefix("tcp://127.0.0.1:"))
            #expect(proxy.frontend != proxy.backend)
            let publisher = try await Publisher(context: context, endpoint: proxy.frontend)
            let subscription = try await Subscription(
                context: context, endpoint: proxy.backend, prefixes: [warmTopic, aaplTopic])
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            defer { watchdog.cancel() }
            var iterator = subscription.makeAsyncIterator()
            try await warmUp(&iterator, subscription, from: publisher)
            // Both subscriptions went upstream, each once.
            try await waitUntil("two subscription changes") { proxy.statistics.subscriptionChanges == 2 }

            let count: UInt64 = 200
            for _ in 1...count { publisher.publish(topic: aaplTopic) { encode($0) } }
            // Not subscribed: filtered at the publisher, never reaches the proxy.
            for _ in 1...count { publisher.publish(topic: msftTopic) { encode($0) } }
            let received = try await collect(Int(count), from: &iterator) { $0.topic != warmTopic }
            #expect(received.map { decodeNumber($0.payload) } == (1...count).map { Optional($0) })
            #expect(received.allSatisfy { $0.topic == aaplTopic })

            // Warm-ups that got through are 5-byte topics with empty payloads; ticks are 10 + 8
            // bytes. The byte total matches `warm-ups × 5 + count × 18` only once every tick
            // (and no MSFT message) has been counted.
            try await waitUntil("statistics cover exactly the ticks") {
                let statistics = proxy.statistics
                return statistics.messages > count && statistics.bytes == (statistics.messages - count) * 5 + count * 18
            }
            let statistics = proxy.statistics
            #expect(statistics.frames == 2 * statistics.messages)
            #expect(statistics.malformed == 0)
            #expect(statistics.subscriptionChanges == 2)

            await publisher.close()
            await subscription.close()
            await proxy.close()
            #expect(proxy.failure == nil)
            #expect(proxy.statistics.messages == statistics.messages)
            await proxy.close()  // a second close returns at once
        }
    }

    @Test("counts 1-frame and 3-frame messages as malformed, forwards them, and keeps working")
    func malformedMessages() async throws {
        try await withContext { context in
            let proxy = try await Proxy(context: context, frontend: loopbackWildcard, backend: loopbackWildcard)
            let raw = try await RawPublisher(context: context, endpoint: proxy.frontend)
            let subscription = try await Subscription(
                context: context, endpoint: proxy.backend, prefixes: [warmTopic, Array("tick.".utf8)])
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            defer { watchdog.cancel() }
            var iterator = subscription.makeAsyncIterator()
            try await warmUp(
                &iterator,
                publish: { raw.send([warmTopic, []]) },
                giveUp: { await subscription.close() },
                isWarmUp: { $0.topic == warmTopic })

            raw.send([aaplTopic])
            raw.send([aaplTopic, [1], [2]])
            for index in 1...10 as ClosedRange<UInt64> { raw.send([aaplTopic, encode(index)]) }
            let received = try await collect(12, from: &iterator) { $0.topic != warmTopic }
            #expect(received.map(\.frameCount) == [1, 3] + Array(repeating: 2, count: 10))
            #expect(received[0] == RawMessage(topic: aaplTopic, payload: [], frameCount: 1))
            #expect(received[1] == RawMessage(topic: aaplTopic, payload: [1], frameCount: 3))
            #expect(received.dropFirst(2).map { decodeNumber($0.payload) } == (1...10).map { Optional($0) })

            // Bytes: warm-ups 5 each; the 1-frame message 10; the 3-frame one 10 + 1 + 1; ticks
            // 10 + 8 each. The total fits `5 × warm-ups + 202` only once all 12 are counted.
            try await waitUntil("all twelve counted") {
                let statistics = proxy.statistics
                return statistics.messages >= 12 && statistics.bytes == 5 * (statistics.messages - 12) + 202
            }
            let statistics = proxy.statistics
            #expect(statistics.malformed == 2)
            // Frames: 1 + 3 for the malformed two, 2 for every other message.
            #expect(statistics.frames == 2 * (statistics.messages - 2) + 1 + 3)
            #expect(proxy.failure == nil)

            await raw.close()
            await subscription.close()
            await proxy.close()
        }
    }

    @Test("inproc endpoints come back unchanged and forward within one context")
    func inprocProxy() async throws {
        try await withContext { context in
            let frontend = uniqueInprocEndpoint("proxy-front")
            let backend = uniqueInprocEndpoint("proxy-back")
            let proxy = try await Proxy(context: context, frontend: frontend, backend: backend)
            #expect(proxy.frontend == frontend)
            #expect(proxy.backend == backend)
            let publisher = try await Publisher(context: context, endpoint: frontend)
            let subscription = try await Subscription(context: context, endpoint: backend, prefixes: [warmTopic, msftTopic])
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            defer { watchdog.cancel() }
            var iterator = subscription.makeAsyncIterator()
            try await warmUp(&iterator, subscription, from: publisher)
            for _ in 0..<5 { publisher.publish(topic: msftTopic) { encode($0) } }
            let received = try await collect(5, from: &iterator) { $0.topic != warmTopic }
            #expect(received.map { decodeNumber($0.payload) } == [1, 2, 3, 4, 5])
            await publisher.close()
            await subscription.close()
            await proxy.close()
        }
    }

    @Test("two publishers through the proxy keep separate, ordered streams")
    func twoPublishers() async throws {
        try await withContext { context in
            let proxy = try await Proxy(context: context, frontend: loopbackWildcard, backend: loopbackWildcard)
            let first = try await Publisher(context: context, endpoint: proxy.frontend)
            let second = try await Publisher(context: context, endpoint: proxy.frontend)
            let subscription = try await Subscription(
                context: context, endpoint: proxy.backend, prefixes: [warmTopic, aaplTopic, msftTopic])
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            var iterator = subscription.makeAsyncIterator()
            // Warm up each publisher's own path through the proxy.
            subscription.subscribe(firstWarm)
            subscription.subscribe(secondWarm)
            try await warmUp(
                &iterator,
                publish: { first.publish(topic: firstWarm) { _ in [] } },
                giveUp: { await subscription.close() },
                isWarmUp: { $0.topic == firstWarm })
            try await warmUp(
                &iterator,
                publish: { second.publish(topic: secondWarm) { _ in [] } },
                giveUp: { await subscription.close() },
                isWarmUp: { $0.topic == secondWarm })
            for _ in 0..<100 {
                first.publish(topic: aaplTopic) { encode($0) }
                second.publish(topic: msftTopic) { encode($0) }
            }
            let received = try await collect(200, from: &iterator) { [aaplTopic, msftTopic].contains($0.topic) }
            let aapl = received.filter { $0.topic == aaplTopic }.compactMap { decodeNumber($0.payload) }
            let msft = received.filter { $0.topic == msftTopic }.compactMap { decodeNumber($0.payload) }
            #expect(aapl == Array(1...100))
            #expect(msft == Array(1...100))
            watchdog.cancel()
            await first.close()
            await second.close()
            await subscription.close()
            await proxy.close()
        }
    }
}
