import Contracts

/// Who owns which ticker among elastic processors: rendezvous (highest random weight)
/// hashing over the live members. Every member computes the same owner from the same member
/// list, with no coordinator; when a member leaves, only its tickers move, and when one joins,
/// only the tickers it now wins move to it.
public enum ShardAssignment {
    /// The member that owns `ticker`, or nil when there are no members.
    public static func owner(of ticker: String, members: some Collection<String>) -> String? {
        var best: (member: String, score: UInt64)?
        for member in members {
            let score = weight(member: member, ticker: ticker)
            if let current = best, current.score > score || (current.score == score && current.member < member) { continue }
            best = (member, score)
        }
        return best?.member
    }

    /// A stable 64-bit weight of a (member, ticker) pair: FNV-1a over both names, then a
    /// SplitMix64 finaliser. The same in every process and on every run (Swift's `Hasher` is
    /// seeded per process, so it cannot be used).
    public static func weight(member: String, ticker: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in member.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        hash = (hash ^ 0xff) &* 0x0000_0100_0000_01b3
        for byte in ticker.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
        hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
        return hash ^ (hash >> 31)
    }
}

/// The elastic processors this one has heard from: each `status.processor` heartbeat whose
/// counters carry `shard.elastic` = 1 keeps its sender a member for 3 of its own heartbeat
/// intervals; a `stopping` heartbeat removes it at once. Bounded (``capacity``).
public struct ShardMembership: Sendable {
    public struct Member: Sendable, Equatable {
        public var lastSeen: ContinuousClock.Instant
        /// How long without a heartbeat before the member is gone.
        public var timeout: Duration
    }

    /// This processor's own instance name: always a member.
    public let own: String
    public private(set) var members: [String: Member] = [:]
    /// Goes up whenever a member joins or leaves: the shares need computing again.
    public private(set) var version = 0
    /// The most other members remembered (a hostile sender cannot grow the map).
    public static let capacity = 1_024
    /// Heartbeats that go missing before a member is gone.
    public static let missedHeartbeats = 3.0

    public init(own: String) { self.own = own }

    /// What a heartbeat did to the membership.
    public enum Change: Equatable, Sendable {
        case none
        case joined
        case left
    }

    /// Takes in one `status.processor` heartbeat.
    public mutating func observe(_ status: ServiceStatus, at now: ContinuousClock.Instant) -> Change {
        guard status.service == "processor", status.instance != own, !status.instance.isEmpty,
            status.instance.utf8.count <= 200, status.counters["shard.elastic"] == 1
        else { return .none }
        if status.state == .stopping {
            guard members.removeValue(forKey: status.instance) != nil else { return .none }
            version &+= 1
            return .left
        }
        let interval = status.intervalSeconds.isFinite ? min(max(status.intervalSeconds, 0.05), 3_600) : 5
        let member = Member(lastSeen: now, timeout: .milliseconds(Int64(interval * Self.missedHeartbeats * 1000)))
        if members[status.instance] != nil {
            members[status.instance] = member
            return .none
        }
        guard members.count < Self.capacity else { return .none }
        members[status.instance] = member
        version &+= 1
        return .joined
    }

    /// Removes members not heard from within their timeout; returns them with when each was
    /// last heard.
    public mutating func expire(at now: ContinuousClock.Instant) -> [(instance: String, lastSeen: ContinuousClock.Instant)] {
        var gone: [(instance: String, lastSeen: ContinuousClock.Instant)] = []
        for (instance, member) in members where now - member.lastSeen > member.timeout {
            gone.append((instance, member.lastSeen))
        }
        for entry in gone { members[entry.instance] = nil }
        if !gone.isEmpty { version &+= 1 }
        return gone
    }

    /// Every live member, this one included.
    public var live: [String] { [own] + members.keys }
}
