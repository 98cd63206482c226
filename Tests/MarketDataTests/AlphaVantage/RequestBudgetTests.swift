import MarketData
import ServiceKit
import Synchronization
import Testing
import TestSupport

/// Instants of a manual clock, in whole seconds since it started.
private func seconds(_ instants: [ManualClock.Instant]) -> [Double] {
    instants.map { $0.offset.inSeconds }
}

private func at(_ seconds: Double) -> ManualClock.Instant {
    ManualClock.Instant(offset: .nanoseconds(Int64((seconds * 1e9).rounded())))
}

/// Acquires `count` slots in a task, advancing the manual clock to each deadline the task
/// sleeps until, and returns the start times (seconds).
private func acquireAll(_ budget: RequestBudget<ManualClock>, _ clock: ManualClock, count: Int) async throws -> [Double] {
    let starts = Collector<Double>()
    let done = Atomic<Bool>(false)
    let task = Task {
        defer { done.store(true, ordering: .releasing) }
        for _ in 0..<count {
            try await budget.acquire()
            starts.append(clock.now.offset.inSeconds)
        }
    }
    try await withTimeout(seconds: 20, "acquiring \(count) slots") {
        while !done.load(ordering: .acquiring) {
            try await waitUntil(seconds: 10, "the budget to wait or finish") {
                done.load(ordering: .acquiring) || clock.sleeperCount > 0
            }
            if let next = clock.nextDeadline { clock.advance(to: next) }
        }
    }
    try await task.value
    return starts.values
}

@Suite("RequestBudget")
struct RequestBudgetTests {
    @Test("the spacing is max(60 s / per minute, 86 400 s / per day), whole rates from 1 up")
    func intervals() {
        let clock = ManualClock()
        let free = RequestBudget(requestsPerMinute: 5, requestsPerDay: 25, clock: clock)
        #expect(free.interval == .seconds(3456))
        #expect(free.minuteCapacity == 5)
        #expect(free.dayCapacity == 25)
        #expect(RequestBudget(requestsPerMinute: 5, requestsPerDay: 1_000_000, clock: clock).interval == .seconds(12))
        #expect(RequestBudget(requestsPerMinute: 75, requestsPerDay: 1e9, clock: clock).interval == .milliseconds(800))
        let fractional = RequestBudget(requestsPerMinute: 2.5, requestsPerDay: 1_000_000, clock: clock)
        #expect(fractional.interval == .seconds(30))
        #expect(fractional.minuteCapacity == 2)
        let slow = RequestBudget(requestsPerMinute: 0.5, requestsPerDay: 1_000_000, clock: clock)
        #expect(slow.interval == .seconds(120))
        #expect(slow.minuteCapacity == 1)
        let unlimitedDay = RequestBudget(requestsPerMinute: 6, requestsPerDay: .infinity, clock: clock)
        #expect(unlimitedDay.interval == .seconds(10))
        #expect(unlimitedDay.dayCapacity == nil)
    }

    @Test("requests are spaced evenly: the first at once, then one per interval")
    func spacing() async throws {
        let clock = ManualClock()
        let budget = RequestBudget(requestsPerMinute: 5, requestsPerDay: 1_000_000, clock: clock)
        let starts = try await acquireAll(budget, clock, count: 4)
        #expect(starts == [0, 12, 24, 36])
        #expect(seconds(clock.sleepLog) == [12, 24, 36])
        #expect(seconds(budget.recentStarts) == [0, 12, 24, 36])
        #expect(budget.nextStart() == at(48))
    }

    @Test("free tier over three days: one request every 3456 s, 25 in every 24 h window, never 26")
    func freeTierDays() async throws {
        let clock = ManualClock()
        let budget = RequestBudget(requestsPerMinute: 5, requestsPerDay: 25, clock: clock)
        let starts = try await acquireAll(budget, clock, count: 76)
        #expect(starts == (0..<76).map { Double($0) * 3456 })
        for (index, start) in starts.enumerated() {
            let inDay = starts[...index].filter { $0 > start - 86_400 }.count
            let inMinute = starts[...index].filter { $0 > start - 60 }.count
            #expect(inDay <= 25)
            #expect(inMinute <= 5)
        }
        // The 26th start is exactly one day after the first: (t − 24 h, t] then holds 25.
        #expect(starts[25] == 86_400)
    }

    @Test("both windows hold whatever the demand and however the clock jumps")
    func windowsHold() async throws {
        let clock = ManualClock()
        let budget = RequestBudget(requestsPerMinute: 4, requestsPerDay: 30, clock: clock)
        #expect(budget.interval == .seconds(2880))
        let starts = Collector<Double>()
        let done = Atomic<Bool>(false)
        let task = Task {
            defer { done.store(true, ordering: .releasing) }
            for _ in 0..<70 {
                try await budget.acquire()
                starts.append(clock.now.offset.inSeconds)
            }
        }
        try await withTimeout(seconds: 30, "70 acquisitions") {
            var generator = SeededGenerator(seed: 7)
            while !done.load(ordering: .acquiring) {
                try await waitUntil(seconds: 10) { done.load(ordering: .acquiring) || clock.sleeperCount > 0 }
                // Jumps that land before, on and past deadlines.
                clock.advance(by: .seconds(Int64(generator.unit() * 5000) + 1))
            }
        }
        try await task.value
        let values = starts.values
        #expect(values.count == 70)
        for (index, start) in values.enumerated() {
            if index > 0 { #expect(start - values[index - 1] >= 2880) }
            #expect(values[...index].filter { $0 > start - 60 }.count <= 4)
            #expect(values[...index].filter { $0 > start - 86_400 }.count <= 30)
        }
    }

    @Test("a fractional rate: 2.5/min means at most 2 in any minute, 30 s apart")
    func fractional() async throws {
        let clock = ManualClock()
        let budget = RequestBudget(requestsPerMinute: 2.5, requestsPerDay: 1_000_000, clock: clock)
        let starts = try await acquireAll(budget, clock, count: 5)
        #expect(starts == [0, 30, 60, 90, 120])
    }

    @Test("back-off .minute: nothing for 60 s after the throttle, not just one interval")
    func backOffMinute() async throws {
        let clock = ManualClock()
        let budget = RequestBudget(requestsPerMinute: 5, requestsPerDay: 1_000_000, clock: clock)
        try await budget.acquire()
        clock.advance(by: .seconds(1))
        #expect(budget.nextStart() == at(12))
        budget.backOff(.minute)
        #expect(budget.nextStart() == at(61))
        // A later, shorter back-off does not shorten it.
        clock.advance(by: .seconds(10))
        budget.backOff(.minute)
        #expect(budget.nextStart() == at(71))
        let starts = try await acquireAll(budget, clock, count: 2)
        #expect(starts == [71, 83])
    }

    @Test("back-off .day: nothing until the oldest start of the last 24 h leaves the window")
    func backOffDay() async throws {
        let clock = ManualClock()
        let budget = RequestBudget(requestsPerMinute: 5, requestsPerDay: 25, clock: clock)
        try await budget.acquire()  // t = 0
        clock.advance(by: .seconds(3456))
        try await budget.acquire()  // t = 3456
        clock.advance(by: .seconds(100))
        budget.backOff(.day)
        #expect(budget.nextStart() == at(86_400))
        clock.advance(to: at(86_400))
        try await budget.acquire()
        #expect(seconds(budget.recentStarts) == [3456, 86_400])
    }

    @Test("a cancelled wait throws CancellationError and records nothing")
    func cancelledWait() async throws {
        let clock = ManualClock()
        let budget = RequestBudget(requestsPerMinute: 5, requestsPerDay: 1_000_000, clock: clock)
        try await budget.acquire()
        let task = Task { try await budget.acquire() }
        try await waitUntil(seconds: 10) { clock.sleeperCount == 1 }
        #expect(clock.nextDeadline == at(12))
        task.cancel()
        let result = try await withTimeout(seconds: 5) { await task.result }
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(seconds(budget.recentStarts) == [0])
        #expect(budget.nextStart() == at(12))
    }
}

@Suite("PollPlan")
struct PollPlanTests {
    @Test("the defaults (5 tickers, 60 s, 5/min, 25/day) do not fit; the warning gives the numbers")
    func defaultsDoNotFit() throws {
        let plan = PollPlan(symbols: 5, updateInterval: 60, requestsPerMinute: 5, requestsPerDay: 25, backfill: true)
        #expect(!plan.fits)
        #expect(plan.requestInterval == 3456)
        #expect(plan.slotsPerCycle == 0)
        #expect(plan.intradayPerCycle == 0)
        #expect(plan.neededPerMinute == 5)
        #expect(plan.neededPerDay == 7200)
        #expect(plan.minimumUpdateInterval == 17_280)
        #expect(plan.effectiveQuoteInterval == 17_280)
        #expect(plan.backfillRequests == 5)
        let warning = try #require(plan.warning)
        #expect(
            warning
                == "alphavantage: the polling plan does not fit the request budget. 5 tickers × 1 GLOBAL_QUOTE every 60 s needs 5 requests/min and 7200 requests/day (plus 5 backfill requests at start), but the budget (rate_limit) allows 5/min and 25/day, i.e. one request every 3456 s. Requests stay within the budget, so each ticker will be quoted only every 17280 s and no live intraday bars will be polled. To fit, set update_interval to at least 17280 s, follow fewer tickers, or raise rate_limit if your key allows more."
        )
    }

    @Test("one ticker hourly fits the free tier, with no room for intraday polls")
    func hourlyFits() {
        let plan = PollPlan(symbols: 1, updateInterval: 3600, requestsPerMinute: 5, requestsPerDay: 25, backfill: false)
        #expect(plan.fits)
        #expect(plan.slotsPerCycle == 1)
        #expect(plan.intradayPerCycle == 0)
        #expect(plan.warning == nil)
        #expect(plan.description == "1 × GLOBAL_QUOTE every 3600 s; budget one request every 3456 s (5/min, 25/day), fits")
    }

    @Test("spare slots go to intraday polls, at most one per symbol per cycle")
    func spareSlots() {
        let premium = PollPlan(symbols: 5, updateInterval: 60, requestsPerMinute: 75, requestsPerDay: 1e9, backfill: true)
        #expect(premium.fits)
        #expect(premium.requestInterval == 0.8)
        #expect(premium.slotsPerCycle == 75)
        #expect(premium.intradayPerCycle == 5)
        let tight = PollPlan(symbols: 5, updateInterval: 60, requestsPerMinute: 7, requestsPerDay: 1e6, backfill: false)
        #expect(tight.slotsPerCycle == 7)
        #expect(tight.intradayPerCycle == 2)
        // Exactly 5 slots of 12 s in 60 s: fits, nothing to spare.
        let exact = PollPlan(symbols: 5, updateInterval: 60, requestsPerMinute: 5, requestsPerDay: 1e6, backfill: false)
        #expect(exact.fits)
        #expect(exact.slotsPerCycle == 5)
        #expect(exact.intradayPerCycle == 0)
    }

    @Test("a non-integral need is printed with its decimals")
    func decimals() throws {
        let plan = PollPlan(symbols: 1, updateInterval: 45, requestsPerMinute: 1, requestsPerDay: 1000, backfill: false)
        #expect(!plan.fits)
        #expect(plan.neededPerMinute == 60.0 / 45.0)
        let warning = try #require(plan.warning)
        #expect(warning.contains("1 ticker × 1 GLOBAL_QUOTE every 45 s needs 1.33 requests/min and 1920 requests/day"))
        #expect(warning.contains("set update_interval to at least 86.4 s"))
    }
}
