import Contracts
import Testing

@testable import Processing

@Suite("Elastic sharding: rendezvous hashing and membership")
struct ShardingTests {
    let tickers = (0..<3_000).map { "T\($0)" }

    func owners(_ members: [String]) -> [String: String] {
        var owners: [String: String] = [:]
        for ticker in tickers { owners[ticker] = ShardAssignment.owner(of: ticker, members: members) }
        return owners
    }

    @Test("every ticker has exactly one owner, the shares are even, and the answer is the same in any member order")
    func balanced() {
        let members = ["p-a", "p-b", "p-c", "p-d"]
        let owners = owners(members)
        #expect(owners.count == tickers.count)
        var shares: [String: Int] = [:]
        for owner in owners.values { shares[owner, default: 0] += 1 }
        for member in members {
            let share = shares[member] ?? 0
            #expect(share > 600 && share < 900, "\(member): \(share) of 3000")
        }
        #expect(self.owners(members.reversed()) == owners)
        #expect(ShardAssignment.owner(of: "AAPL", members: [String]()) == nil)
    }

    @Test("the weights are fixed across processes and runs (not Swift's seeded Hasher)")
    func stableWeights() {
        // Values fixed once; a change here would move every ticker on upgrade.
        // Computed independently (FNV-1a, 0xff separator, SplitMix64 finaliser).
        #expect(ShardAssignment.weight(member: "p1", ticker: "AAPL") == 0xb40e_858d_7a39_2cad)
        #expect(ShardAssignment.weight(member: "p2", ticker: "AAPL") == 0x6873_1962_efdd_5592)
        // The separator keeps "p1" + "AAPL" apart from "p1A" + "APL".
        #expect(ShardAssignment.weight(member: "p1", ticker: "AAPL") != ShardAssignment.weight(member: "p1A", ticker: "APL"))
    }

    @Test("a member leaving moves only its tickers; one joining takes only tickers it wins, about 1/n")
    func minimalMoves() {
        let before = owners(["p-a", "p-b", "p-c"])
        let after = owners(["p-a", "p-c"])
        for ticker in tickers where before[ticker] != "p-b" {
            #expect(after[ticker] == before[ticker])
        }
        let joined = owners(["p-a", "p-b", "p-c", "p-d"])
        var moved = 0
        for ticker in tickers where joined[ticker] != before[ticker] {
            #expect(joined[ticker] == "p-d")
            moved += 1
        }
        #expect(moved > 600 && moved < 900, "\(moved)")
    }

    func heartbeat(_ instance: String, state: ServiceState = .running, elastic: Bool = true, interval: Double = 1)
        -> ServiceStatus
    {
        var status = ServiceStatus()
        status.service = "processor"
        status.instance = instance
        status.state = state
        status.intervalSeconds = interval
        if elastic { status.counters["shard.elastic"] = 1 }
        return status
    }

    @Test("members join on an elastic heartbeat, leave on stopping or after 3 missed intervals; others are ignored")
    func membership() {
        let start = ContinuousClock.now
        var membership = ShardMembership(own: "me")
        #expect(membership.live == ["me"])
        #expect(membership.observe(heartbeat("a"), at: start) == .joined)
        #expect(membership.observe(heartbeat("a"), at: start) == .none)
        #expect(membership.observe(heartbeat("fixed", elastic: false), at: start) == .none)
        #expect(membership.observe(heartbeat("me"), at: start) == .none)
        var other = heartbeat("x")
        other.service = "ingestor"
        #expect(membership.observe(other, at: start) == .none)
        #expect(membership.observe(heartbeat("b", interval: .nan), at: start) == .joined)
        #expect(Set(membership.live) == ["me", "a", "b"])
        // a: 1 s heartbeats, gone after 3 s; b: a NaN interval counts as 5 s.
        #expect(membership.expire(at: start + .milliseconds(2_900)).isEmpty)
        #expect(membership.expire(at: start + .milliseconds(3_100)).map(\.instance) == ["a"])
        #expect(membership.observe(heartbeat("b", state: .stopping), at: start) == .left)
        #expect(membership.live == ["me"])
    }

    @Test("a flood of made-up members is bounded")
    func bounded() {
        var membership = ShardMembership(own: "me")
        let now = ContinuousClock.now
        for index in 0..<5_000 { _ = membership.observe(heartbeat("m\(index)"), at: now) }
        #expect(membership.members.count == ShardMembership.capacity)
        #expect(membership.observe(heartbeat(String(repeating: "x", count: 500)), at: now) == .none)
    }
}
