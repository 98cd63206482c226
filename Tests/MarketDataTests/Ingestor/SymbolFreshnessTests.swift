import Testing

@testable import MarketData

@Suite("Symbol freshness: stale is not quiet")
struct SymbolFreshnessTests {
    let start = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant { start + .milliseconds(Int64(seconds * 1000)) }

    @Test("each symbol is judged against its own rate: a busy one that stops is stale, a quiet one is not")
    func ownRate() {
        var freshness = SymbolFreshness(factor: 10, minimum: .seconds(1))
        // BUSY trades every 0.1 s, QUIET every 30 s.
        for step in 0...600 { _ = freshness.record("BUSY", at: at(Double(step) * 0.1)) }
        for step in 0...2 { _ = freshness.record("QUIET", at: at(Double(step) * 30)) }
        for step in 3...6 { _ = freshness.record("QUIET", at: at(Double(step) * 30)) }
        // BUSY last traded at 60 s, QUIET at 180 s. At 180.5 s BUSY is 120 s silent: stale.
        let stale = freshness.check(at: at(180.5))
        #expect(stale.map(\.symbol) == ["BUSY"])
        // QUIET's usual interval is 30 s: stale only after 300 s of silence.
        #expect(freshness.check(at: at(180 + 299)).isEmpty)
        #expect(freshness.check(at: at(180 + 301)).map(\.symbol) == ["QUIET"])
        // Reported once, not every check.
        #expect(freshness.check(at: at(600)).isEmpty)
        #expect(freshness.staleCount == 2)
    }

    @Test("the minimum holds for a very busy symbol; an unlearned rate waits minimum × factor")
    func minimumAndLearning() {
        var freshness = SymbolFreshness(factor: 10, minimum: .seconds(5))
        for step in 0..<100 { _ = freshness.record("HOT", at: at(Double(step) * 0.01)) }
        _ = freshness.record("NEW", at: at(0))
        #expect(freshness.check(at: at(5.9)).isEmpty)  // HOT (last at 0.99 s): its 0.1 s limit is raised to 5 s
        #expect(freshness.check(at: at(6.1)).map(\.symbol) == ["HOT"])
        #expect(freshness.check(at: at(49)).isEmpty)  // NEW: one event, 50 s
        #expect(freshness.check(at: at(51)).map(\.symbol) == ["NEW"])
    }

    @Test("an event clears stale and says so once; a stale spell does not slow the learned rate")
    func recovery() {
        var freshness = SymbolFreshness(factor: 10, minimum: .seconds(1))
        for step in 0...10 { _ = freshness.record("X", at: at(Double(step) * 0.1)) }
        #expect(freshness.check(at: at(10)).count == 1)
        #expect(freshness.record("X", at: at(100)) == true)
        #expect(freshness.record("X", at: at(100.1)) == false)
        let mean = freshness.entries["X"]?.meanInterval ?? 0
        #expect(mean < 0.2, "\(mean)")
    }

    @Test("closed hours do not count: pause resets the clocks and clears stale")
    func pause() {
        var freshness = SymbolFreshness(factor: 10, minimum: .seconds(1))
        for step in 0...10 { _ = freshness.record("X", at: at(Double(step) * 0.1)) }
        #expect(freshness.check(at: at(10)).count == 1)
        freshness.pause(at: at(1000))
        #expect(freshness.staleCount == 0)
        #expect(freshness.check(at: at(1000.5)).isEmpty)
        #expect(freshness.ages(at: at(1000.5)).first?.age == 0.5)
    }
}
