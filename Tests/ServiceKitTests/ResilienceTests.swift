import ServiceKit
import Testing
import TestSupport

struct Failure: Error, Equatable {
    var attempt: UInt64
}

@Suite("RetryPolicy")
struct RetryPolicyTests {
    @Test("the default policy waits 1 s, 2 s, 4 s before retries 1, 2, 3")
    func exponentialDelays() {
        let policy = RetryPolicy()
        #expect(policy.maxRetries == 3)
        #expect(policy.delay(beforeRetry: 1, unit: 0) == .seconds(1))
        #expect(policy.delay(beforeRetry: 2, unit: 0) == .seconds(2))
        #expect(policy.delay(beforeRetry: 3, unit: 0) == .seconds(4))
        #expect(policy.delay(beforeRetry: 0, unit: 0) == .seconds(1))  // clamped to the first
    }

    @Test("jitter adds up to +25 %: the unit scales it linearly")
    func jitterBounds() {
        let policy = RetryPolicy()
        #expect(policy.delay(beforeRetry: 1, unit: 1) == .milliseconds(1_250))
        #expect(policy.delay(beforeRetry: 1, unit: 0.5) == .milliseconds(1_125))
        #expect(policy.delay(beforeRetry: 3, unit: 1) == .seconds(5))
        for retry in 1...3 {
            let base = policy.delay(beforeRetry: retry, unit: 0)
            for step in 0..<100 {
                let delay = policy.delay(beforeRetry: retry, unit: Double(step) / 100)
                #expect(delay >= base)
                #expect(delay < base * 1.25)
            }
        }
    }

    @Test("delays are capped at maximumDelay before jitter")
    func cap() {
        let policy = RetryPolicy()
        #expect(policy.delay(beforeRetry: 7, unit: 0) == .seconds(60))  // 64 s capped
        #expect(policy.delay(beforeRetry: 7, unit: 1) == .seconds(75))
        #expect(policy.delay(beforeRetry: 60, unit: 0) == .seconds(60))
        let custom = RetryPolicy(
            maxRetries: 5, initialDelay: .milliseconds(100), multiplier: 3, maximumDelay: .seconds(1), jitter: 0)
        #expect((1...4).map { custom.delay(beforeRetry: $0, unit: 0.9) } == [
            .milliseconds(100), .milliseconds(300), .milliseconds(900), .seconds(1),
        ])
    }
}

@Suite("withRetry on a manual clock", .timeLimit(.minutes(1)))
struct WithRetryTests {
    /// Waits until the task under test sleeps on `clock`, checks its deadline is `delay` away
    /// and advances exactly that far.
    func expectSleep(on clock: ManualClock, for delay: Duration, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await waitUntil(seconds: 5, "a sleeper on the manual clock", sourceLocation: sourceLocation) {
            clock.sleeperCount == 1
        }
        let deadline = try #require(clock.nextDeadline, sourceLocation: sourceLocation)
        #expect(clock.now.duration(to: deadline) == delay, sourceLocation: sourceLocation)
        clock.advance(by: delay)
    }

    @Test("retries 3 times, sleeping 1 s, 2 s and 4 s, then throws the last error")
    func givesUpAfterMaxRetries() async throws {
        let clock = ManualClock()
        let attempts = Counter()
        let retries = Collector<String>()
        let task = Task {
            try await withRetry(
                RetryPolicy(), clock: clock, random: { 0 },
                onRetry: { retry, delay, error in retries.append("\(retry) \(delay) \(error)") }
            ) { () async throws -> Int in
                throw Failure(attempt: attempts.next())
            }
        }
        for delay in [Duration.seconds(1), .seconds(2), .seconds(4)] {
            try await expectSleep(on: clock, for: delay)
        }
        let result = try await withTimeout(seconds: 5, "withRetry to give up") { await task.result }
        #expect(throws: Failure(attempt: 4)) { try result.get() }
        #expect(attempts.current == 4)
        #expect(clock.now.offset == .seconds(7))
        #expect(clock.sleepLog.map(\.offset) == [.seconds(1), .seconds(3), .seconds(7)])
        #expect(
            retries.values == [
                "1 1.0 seconds Failure(attempt: 1)", "2 2.0 seconds Failure(attempt: 2)",
                "3 4.0 seconds Failure(attempt: 3)",
            ])
    }

    @Test("stops at the first success, having slept only the delays before it")
    func stopsOnSuccess() async throws {
        let clock = ManualClock()
        let attempts = Counter()
        let task = Task {
            try await withRetry(RetryPolicy(), clock: clock, random: { 0.5 }) { () async throws -> String in
                let attempt = attempts.next()
                if attempt < 3 { throw Failure(attempt: attempt) }
                return "ok on \(attempt)"
            }
        }
        try await expectSleep(on: clock, for: .milliseconds(1_125))
        try await expectSleep(on: clock, for: .milliseconds(2_250))
        let value = try await withTimeout(seconds: 5, "withRetry to succeed") { try await task.value }
        #expect(value == "ok on 3")
        #expect(attempts.current == 3)
        #expect(clock.now.offset == .milliseconds(3_375))
        #expect(clock.sleeperCount == 0)
    }

    @Test("an error shouldRetry refuses is thrown at once, without sleeping")
    func nonRetryableError() async throws {
        let clock = ManualClock()
        let attempts = Counter()
        await #expect(throws: Failure(attempt: 1)) {
            try await withRetry(RetryPolicy(), clock: clock, shouldRetry: { _ in false }) { () async throws -> Int in
                throw Failure(attempt: attempts.next())
            }
        }
        #expect(attempts.current == 1)
        #expect(clock.sleepLog.isEmpty)
        #expect(clock.now.offset == .zero)
    }

    @Test("cancelling the task during a backoff sleep ends it promptly with CancellationError")
    func cancellationDuringSleep() async throws {
        let clock = ManualClock()
        let attempts = Counter()
        let task = Task {
            try await withRetry(RetryPolicy(), clock: clock, random: { 0 }) { () async throws -> Int in
                throw Failure(attempt: attempts.next())
            }
        }
        try await waitUntil(seconds: 5, "first backoff sleep") { clock.sleeperCount == 1 }
        task.cancel()
        let result = try await withTimeout(seconds: 5, "cancelled withRetry") { await task.result }
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(attempts.current == 1)
        #expect(clock.sleeperCount == 0)
        #expect(clock.now.offset == .zero)
    }
}

@Suite("ManualClock")
struct ManualClockTests {
    @Test("a sleeper wakes when the clock reaches its deadline, not before")
    func wakesAtDeadline() async throws {
        let clock = ManualClock()
        let woke = Counter()
        let sleeper = Task {
            try await clock.sleep(for: .seconds(10))
            _ = woke.next()
        }
        try await waitUntil(seconds: 5) { clock.sleeperCount == 1 }
        clock.advance(by: .seconds(9))
        #expect(clock.sleeperCount == 1)
        #expect(woke.current == 0)
        clock.advance(by: .seconds(1))
        try await withTimeout(seconds: 5, "sleeper") { try await sleeper.value }
        #expect(woke.current == 1)
        #expect(clock.now == ManualClock.Instant(offset: .seconds(10)))
    }

    @Test("a deadline already passed returns at once; cancellation throws")
    func immediateAndCancelled() async throws {
        let clock = ManualClock(now: .init(offset: .seconds(5)))
        try await clock.sleep(until: .init(offset: .seconds(5)))
        #expect(clock.sleeperCount == 0)

        let sleeper = Task { try await clock.sleep(for: .seconds(1)) }
        try await waitUntil(seconds: 5) { clock.sleeperCount == 1 }
        sleeper.cancel()
        let result = try await withTimeout(seconds: 5, "cancelled sleeper") { await sleeper.result }
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(clock.sleeperCount == 0)
    }

    @Test("advance(to:) wakes every sleeper due, earliest first, and leaves later ones asleep")
    func advanceTo() async throws {
        let clock = ManualClock()
        let order = Collector<Int>()
        let sleepers = (1...3).map { index in
            Task {
                try await clock.sleep(until: .init(offset: .seconds(index)))
                order.append(index)
            }
        }
        try await waitUntil(seconds: 5) { clock.sleeperCount == 3 }
        clock.advance(to: .init(offset: .seconds(2)))
        try await withTimeout(seconds: 5, "first two sleepers") {
            try await sleepers[0].value
            try await sleepers[1].value
        }
        #expect(Set(order.values) == [1, 2])
        #expect(clock.sleeperCount == 1)
        clock.advance(to: .init(offset: .seconds(1)))  // never goes back
        #expect(clock.now.offset == .seconds(2))
        clock.advance(by: .seconds(1))
        try await withTimeout(seconds: 5, "last sleeper") { try await sleepers[2].value }
        #expect(order.count == 3)
    }
}

@Suite("CircuitBreaker")
struct CircuitBreakerTests {
    typealias Breaker = CircuitBreaker<ManualClock>
    let start = ManualClock.Instant(offset: .seconds(100))

    @Test("trips on the 5th consecutive failure and rejects until 60 s have passed")
    func tripsAndRejects() {
        var breaker = Breaker()
        for failure in 1...4 {
            #expect(breaker.recordFailure(at: start) == false)
            #expect(breaker.state == .closed(consecutiveFailures: failure))
            #expect(breaker.decide(at: start) == .proceed)
        }
        #expect(breaker.recordFailure(at: start) == true)
        #expect(breaker.state == .open(until: start.advanced(by: .seconds(60))))
        #expect(breaker.isOpen)
        #expect(breaker.trips == 1)
        #expect(breaker.decide(at: start) == .reject(retryAfter: .seconds(60)))
        #expect(breaker.decide(at: start.advanced(by: .seconds(59))) == .reject(retryAfter: .seconds(1)))
        #expect(
            breaker.decide(at: start.advanced(by: .milliseconds(59_999))) == .reject(retryAfter: .milliseconds(1)))
        #expect(breaker.state == .open(until: start.advanced(by: .seconds(60))))
    }

    @Test("after the open period one trial call goes through; success closes the circuit")
    func halfOpenSuccess() {
        var breaker = Breaker()
        for _ in 1...5 { breaker.recordFailure(at: start) }
        let reopen = start.advanced(by: .seconds(60))
        #expect(breaker.decide(at: reopen) == .proceed)
        #expect(breaker.state == .halfOpen)
        // Only one trial at a time.
        #expect(breaker.decide(at: reopen) == .reject(retryAfter: .zero))
        breaker.recordSuccess()
        #expect(breaker.state == .closed(consecutiveFailures: 0))
        #expect(!breaker.isOpen)
        #expect(breaker.decide(at: reopen) == .proceed)
        #expect(breaker.trips == 1)
    }

    @Test("a failed trial call opens the circuit again for a full period")
    func halfOpenFailure() {
        var breaker = Breaker()
        for _ in 1...5 { breaker.recordFailure(at: start) }
        let trial = start.advanced(by: .seconds(61))
        #expect(breaker.decide(at: trial) == .proceed)
        #expect(breaker.recordFailure(at: trial) == true)
        #expect(breaker.state == .open(until: trial.advanced(by: .seconds(60))))
        #expect(breaker.trips == 2)
        #expect(breaker.decide(at: trial.advanced(by: .seconds(30))) == .reject(retryAfter: .seconds(30)))
    }

    @Test("a success resets the count: failures must be consecutive")
    func successResets() {
        var breaker = Breaker(failureThreshold: 3, openDuration: .seconds(5))
        breaker.recordFailure(at: start)
        breaker.recordFailure(at: start)
        breaker.recordSuccess()
        #expect(breaker.recordFailure(at: start) == false)
        #expect(breaker.recordFailure(at: start) == false)
        #expect(breaker.state == .closed(consecutiveFailures: 2))
        #expect(breaker.recordFailure(at: start) == true)
        #expect(breaker.state == .open(until: start.advanced(by: .seconds(5))))
    }
}
