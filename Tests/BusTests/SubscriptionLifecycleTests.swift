import Bus
import Testing
import TestSupport

@Suite("Subscription: closing, cancellation and shutdown", .timeLimit(.minutes(1)))
struct SubscriptionLifecycleTests {
    @Test("iteration ends with nil after close(), and next() keeps returning nil")
    func iterationEndsAfterClose() async throws {
        try await withContext { context in
            let publisher = try await Publisher(context: context, endpoint: loopbackWildcard, bind: true)
            let subscription = try await Subscription(context: context, endpoint: publisher.endpoint, prefixes: [[]])
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            defer { watchdog.cancel() }
            var iterator = subscription.makeAsyncIterator()
            try await warmUp(&iterator, subscription, from: publisher)
            await publisher.close()

            // A reader suspended in `for try await` finishes once the subscription closes.
            let reader = Task {
                var count = 0
                for try await _ in subscription { count += 1 }
                return count
            }
            try await Task.sleep(for: .milliseconds(50))
            let clock = ContinuousClock()
            let start = clock.now
            await subscription.close()
            // Only late warm-ups can have arrived; the count itself is not the point.
            _ = try await withTimeout(seconds: 5, "reader after close()") { try await reader.value }
            #expect(clock.now - start < .seconds(10))  // loose: pool waits of ~9 s seen on a loaded 2-core CI run

            var after = subscription.makeAsyncIterator()
            #expect(try await after.next() == nil)
            #expect(try await after.next() == nil)
            await subscription.close()  // closing twice is fine
        }
    }

    @Test("cancelling a task suspended in next() returns nil promptly")
    func cancellationIsPrompt() async throws {
        try await withContext { context in
            let publisher = try await Publisher(context: context, endpoint: loopbackWildcard, bind: true)
            let subscription = try await Subscription(context: context, endpoint: publisher.endpoint, prefixes: [aaplTopic])
            let waiting = Task {
                var iterator = subscription.makeAsyncIterator()
                return try await iterator.next()
            }
            try await Task.sleep(for: .milliseconds(100))
            let clock = ContinuousClock()
            let start = clock.now
            waiting.cancel()
            let result = try await withTimeout(seconds: 5, "cancelled next()") { try await waiting.value }
            let elapsed = clock.now - start
            #expect(result == nil)
            #expect(elapsed < .seconds(10), "cancellation took \(elapsed)")  // loose, as above

            // A task cancelled before it asks returns nil at once as well.
            let cancelledEarly = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                var iterator = subscription.makeAsyncIterator()
                return try await iterator.next()
            }
            #expect(try await withTimeout(seconds: 5, "pre-cancelled next()") { try await cancelledEarly.value } == nil)

            // The subscription still works for a new reader afterwards.
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            defer { watchdog.cancel() }
            var iterator = subscription.makeAsyncIterator()
            try await warmUp(
                &iterator,
                publish: { publisher.publish(topic: aaplTopic) { encode($0) } },
                giveUp: { await subscription.close() },
                isWarmUp: { $0.topic == aaplTopic })
            await publisher.close()
            await subscription.close()
        }
    }

    @Test("shutting the context down ends iteration without an error")
    func contextShutdownEndsIteration() async throws {
        try await withContext { context in
            let publisher = try await Publisher(context: context, endpoint: loopbackWildcard, bind: true)
            let subscription = try await Subscription(context: context, endpoint: publisher.endpoint, prefixes: [aaplTopic])
            let reader = Task {
                var count = 0
                for try await _ in subscription { count += 1 }
                return count
            }
            try await Task.sleep(for: .milliseconds(50))
            context.shutdown()
            let count = try await withTimeout(seconds: 5, "reader after shutdown") { try await reader.value }
            #expect(count == 0)
            await publisher.close()
            await subscription.close()
        }
    }

    @Test("received counts the messages handed to the consumer")
    func receivedCounter() async throws {
        try await withContext { context in
            let publisher = try await Publisher(context: context, endpoint: loopbackWildcard, bind: true)
            let subscription = try await Subscription(
                context: context, endpoint: publisher.endpoint, prefixes: [warmTopic, aaplTopic])
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            defer { watchdog.cancel() }
            #expect(subscription.received == 0)
            var iterator = subscription.makeAsyncIterator()
            let skipped = try await warmUp(&iterator, subscription, from: publisher)
            #expect(skipped == 0)
            for _ in 0..<25 { publisher.publish(topic: aaplTopic) { encode($0) } }
            var seen: UInt64 = 1  // the warm-up
            var ticks = 0
            while ticks < 25, let message = try await iterator.next() {
                seen += 1
                if message.topic == aaplTopic { ticks += 1 }
            }
            #expect(ticks == 25)
            // `received` counts whole batches taken, so it may run ahead of what was iterated,
            // but never behind.
            #expect(subscription.received >= seen)
            await publisher.close()
            await subscription.close()
        }
    }
}
