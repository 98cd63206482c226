import Contracts
import Synchronization

/// A service's counters, reported in its heartbeat. Safe to update from any task.
public final class ServiceCounters: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var state: ServiceState = .starting
        public var messagesIn: UInt64 = 0
        public var messagesOut: UInt64 = 0
        public var sequenceGaps: UInt64 = 0
        public var errors: UInt64 = 0
        public var named: [String: UInt64] = [:]
    }

    private let values = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { values.withLock { $0 } }

    public func setState(_ state: ServiceState) { values.withLock { $0.state = state } }
    public func addIn(_ count: UInt64 = 1) { values.withLock { $0.messagesIn &+= count } }
    public func addOut(_ count: UInt64 = 1) { values.withLock { $0.messagesOut &+= count } }
    public func addGaps(_ count: UInt64 = 1) { values.withLock { $0.sequenceGaps &+= count } }
    public func addError(_ count: UInt64 = 1) { values.withLock { $0.errors &+= count } }

    /// Adds to a service-specific counter, e.g. `provider.ticks` or `skipped.payload`.
    public func add(_ name: String, _ count: UInt64 = 1) {
        values.withLock { $0.named[name, default: 0] &+= count }
    }

    /// Sets a service-specific gauge-like value.
    public func set(_ name: String, _ value: UInt64) {
        values.withLock { $0.named[name] = value }
    }
}
