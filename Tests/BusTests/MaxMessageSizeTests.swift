import Bus
import Testing
import TestSupport

@Suite("ZMQ_MAXMSGSIZE: an oversized message never gets through the proxy", .timeLimit(.minutes(1)))
struct MaxMessageSizeTests {
    @Test("a 64 KiB message to a proxy limited to 4 KiB is dropped, its sender cut off and reconnected; small ones still flow")
    func oversizedDropped() async throws {
        try await withContext { context in
            var limited = SocketOptions()
            limited.maxMessageBytes = 4_096
            let proxy = try await Proxy(context: context, frontend: loopbackWildcard, backend: loopbackWildcard, options: limited)
            let publisher = try await Publisher(context: context, endpoint: proxy.frontend)
            let subscription = try await Subscription(
                context: context, endpoint: proxy.backend, prefixes: [warmTopic, aaplTopic])
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            defer { watchdog.cancel() }
            var iterator = subscription.makeAsyncIterator()
            try await warmUp(&iterator, subscription, from: publisher)

            publisher.publish(topic: aaplTopic) { _ in Array(repeating: 7, count: 65_536) }
            // The proxy drops the publisher's connection on the oversized frame; the publisher
            // reconnects by itself. Keep offering small messages until some come through.
            let sender = Task {
                for _ in 0..<2_000 where !Task.isCancelled {
                    publisher.publish(topic: aaplTopic) { _ in [1, 2, 3] }
                    try? await Task.sleep(for: .milliseconds(10))
                }
            }
            defer { sender.cancel() }
            var small = 0
            while let message = try await iterator.next() {
                guard message.topic == aaplTopic else { continue }
                #expect(message.payload.count <= 4_096)
                if message.payload == [1, 2, 3] { small += 1 }
                if small >= 3 { break }
            }
            #expect(small >= 3)
            sender.cancel()
            await subscription.close()
            await publisher.close()
            await proxy.close()
        }
    }
}
