import Bus
import Contracts
import Foundation
import Testing

@testable import Notifications

/// The notifier's state keyed by what arrives from the bus stays bounded, and the numbers it
/// takes from heartbeats and signals are checked before any arithmetic.
@Suite("Bounded state and checked numbers")
struct BoundedStateTests {
    func status(_ service: String, instance: String = "1", interval: Double = 5) -> ServiceStatus {
        var status = ServiceStatus()
        status.service = service
        status.instance = instance
        status.state = .running
        status.intervalSeconds = interval
        return status
    }

    @Test(
        "a heartbeat interval that is not a plausible number of seconds is refused",
        arguments: [Double.nan, .infinity, -.infinity, -1e300, 1e300, -1, 86_401, .greatestFiniteMagnitude])
    func absurdIntervals(_ interval: Double) {
        var watch = HeartbeatWatch()
        let now = ContinuousClock.now
        let outcome = watch.record(status("x", interval: interval), at: now)
        #expect(outcome == .rejected(.interval))
        #expect(watch.beats.isEmpty)
        // Nothing to trap on later either.
        let quiet = watch.newlyQuiet(at: now + .seconds(1_000_000), factor: 1_000)
        #expect(quiet.isEmpty)
    }

    @Test("plausible intervals are kept (0 and tiny ones count as 0.5 s) and go quiet after factor × interval")
    func plausibleIntervals() throws {
        var watch = HeartbeatWatch()
        let start = ContinuousClock.now
        let first = [
            watch.record(status("a", interval: 0), at: start), watch.record(status("b", interval: 86_400), at: start),
        ]
        #expect(first == [.recorded, .recorded])
        #expect(watch.beats.peek("a/1")?.interval == 0.5)
        let early = watch.newlyQuiet(at: start + .seconds(1), factor: 3)
        #expect(early.isEmpty)
        let quiet = watch.newlyQuiet(at: start + .seconds(2), factor: 3)
        #expect(quiet.map(\.key) == ["a/1"])
        let again = watch.newlyQuiet(at: start + .seconds(3), factor: 3)
        #expect(again.isEmpty, "reported once")
        let back = watch.record(status("a", interval: 0.5), at: start + .seconds(4))
        #expect(back == .back)
        // The longest interval times the largest factor fits a Duration.
        let longest = watch.newlyQuiet(at: start + .seconds(10), factor: 1_000)
        #expect(longest.isEmpty)
    }

    @Test(
        "an empty, over-long or control-character service name is refused",
        arguments: ["", String(repeating: "s", count: 129), "a\r\nBcc: x@example.com", "esc\u{1B}[31m", "bidi\u{202E}"])
    func absurdNames(_ name: String) {
        var watch = HeartbeatWatch()
        let service = watch.record(status(name), at: .now)
        let instance = watch.record(status("ok", instance: name), at: .now)
        #expect(service == .rejected(.identity))
        #expect(instance == (name.isEmpty ? .recorded : .rejected(.identity)))
    }

    @Test("a flood of distinct service names keeps at most the capacity, the most recent, and counts evictions")
    func heartbeatFlood() {
        var watch = HeartbeatWatch(capacity: 100)
        let start = ContinuousClock.now
        _ = watch.record(status("kept"), at: start)
        for index in 0..<5_000 {
            _ = watch.record(status("svc-\(index)"), at: start)
            // "kept" keeps beating, so it is never the least recently heard.
            if index % 50 == 0 { _ = watch.record(status("kept"), at: start) }
        }
        #expect(watch.beats.count == 100)
        #expect(watch.evictions == 4_901)
        #expect(watch.beats.peek("kept/1") != nil)
        #expect(watch.beats.peek("svc-4999/1") != nil && watch.beats.peek("svc-0/1") == nil)
    }

    @Test("the rate cap admits `limit` a minute per channel, counts the rest and reports them once")
    func rateCap() {
        var cap = ChannelRateCap(limit: 3)
        let start = ContinuousClock.now
        let email = (0..<5).map { _ in cap.admit("email", at: start) }
        #expect(email == [true, true, true, false, false])
        let sms = cap.admit("sms", at: start)
        #expect(sms, "each channel has its own budget")
        cap.refund("email")
        let refunded = cap.admit("email", at: start + .seconds(1))
        let full = cap.admit("email", at: start + .seconds(2))
        #expect(refunded && !full, "a refunded slot can be used again, once")
        let early = cap.summaries(at: start + .seconds(59))
        #expect(early.isEmpty, "not before the minute ends")
        let summaries = cap.summaries(at: start + .seconds(60))
        #expect(summaries.map(\.channel) == ["email"] && summaries.map(\.held) == [3])
        let again = cap.summaries(at: start + .seconds(61))
        #expect(again.isEmpty, "reported once")
        let next = cap.admit("email", at: start + .seconds(61))
        #expect(next, "a new minute, a new budget")
    }

    @Test("held-back messages of a window that a new message already replaced are still reported")
    func rateCapCarry() {
        var cap = ChannelRateCap(limit: 1)
        let start = ContinuousClock.now
        let outcomes = [
            cap.admit("email", at: start), cap.admit("email", at: start), cap.admit("email", at: start + .seconds(70)),
        ]
        #expect(outcomes == [true, false, true])
        let summaries = cap.summaries(at: start + .seconds(71))
        #expect(summaries.map(\.held) == [1])
    }

    static func signal() -> Signal {
        var signal = Signal()
        signal.symbol = "AAPL"
        signal.action = .buy
        signal.confidence = 0.8
        signal.price = 231.5
        signal.shares = 10
        signal.suggestedPositionSize = 0.05
        signal.stopLoss = 225
        signal.riskAmount = 65
        signal.horizonSeconds = 3_600
        var vote = ModelVote()
        vote.model = "gbt"
        vote.probability = 0.7
        vote.weight = 0.5
        signal.votes = [vote]
        return signal
    }

    @Test("a signal with an implausible number or symbol is refused, naming the reason")
    func signalChecks() {
        #expect(BusInput.rejection(Self.signal()) == nil)
        let broken: [(String, (inout Signal) -> Void)] = [
            ("signal_value", { $0.confidence = .nan }), ("signal_value", { $0.confidence = 1.5 }),
            ("signal_value", { $0.price = .infinity }), ("signal_value", { $0.price = -1e300 }),
            ("signal_value", { $0.shares = -1 }), ("signal_value", { $0.suggestedPositionSize = .nan }),
            ("signal_value", { $0.stopLoss = 1e300 }), ("signal_value", { $0.riskAmount = .nan }),
            ("signal_value", { $0.votes[0].probability = .nan }), ("signal_value", { $0.votes[0].weight = -.infinity }),
            ("signal_symbol", { $0.symbol = "" }), ("signal_symbol", { $0.symbol = "AA\r\nPL" }),
            ("signal_symbol", { $0.symbol = String(repeating: "A", count: 1_000_000) }),
        ]
        for (reason, breakIt) in broken {
            var signal = Self.signal()
            breakIt(&signal)
            #expect(BusInput.rejection(signal) == reason, "\(signal)")
        }
    }
}
