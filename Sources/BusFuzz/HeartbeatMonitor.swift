import Bus
import Contracts
import Synchronization

/// One `status.<service>` heartbeat, as bus-fuzz keeps it.
public struct Heartbeat: Sendable, Equatable {
    public var service: String
    public var instance: String
    /// The producer's start time: another value means the process restarted.
    public var startedAtNs: Int64
    public var state: ServiceState
    public var messagesIn: UInt64
    public var counters: [String: UInt64]
    /// When bus-fuzz received it.
    public var receivedAt: ContinuousClock.Instant
    /// Heartbeats received from this service and instance so far.
    public var count: Int
    /// Times the start time changed.
    public var restarts: Int

    /// `process.rss_bytes`.
    public var residentBytes: UInt64? { counters["process.rss_bytes"] }

    /// Sum of the counters the bus boundary keeps (`rejected.<RejectReason>`), by reason.
    public var boundaryRejections: [String: UInt64] {
        var rejected: [String: UInt64] = [:]
        for reason in RejectReason.allCases { rejected[reason.rawValue] = counters[reason.counterName] ?? 0 }
        return rejected
    }
}

/// Listens to `status.<service>` for the given services and keeps each instance's newest
/// heartbeat. Its subscription is checked like any service's (`statistics`), which tells
/// what reached bus-fuzz itself.
final class HeartbeatMonitor: Sendable {
    struct Key: Hashable, Sendable {
        var service: String
        var instance: String
    }

    private let latest = Mutex<[Key: Heartbeat]>([:])
    let subscription: MessageSubscription
    /// The patterns subscribed: one exact `status.<service>` per service.
    let patterns: [TopicPattern]

    init(context: Context, endpoint: String, services: [String], options: SocketOptions, limits: EnvelopeLimits)
        async throws(FuzzError)
    {
        var patterns: [TopicPattern] = []
        for service in Set(services).sorted() {
            do {
                patterns.append(TopicPattern(exact: try Topic.status(service)))
            } catch {
                throw FuzzError("status.\(service): \(error)")
            }
        }
        self.patterns = patterns
        var configuration = Subscription.Configuration()
        configuration.socket = options
        do {
            subscription = try await MessageSubscription(
                context: context, endpoint: endpoint, patterns: patterns, configuration: configuration, limits: limits)
        } catch {
            throw FuzzError("subscribing to \(endpoint): \(error)")
        }
    }

    /// Reads heartbeats until the subscription closes.
    func consume() async {
        do {
            for try await delivery in subscription {
                guard case .status(let status) = delivery.payload else { continue }
                let key = Key(service: status.service, instance: status.instance)
                let now = ContinuousClock.now
                latest.withLock { latest in
                    let previous = latest[key]
                    let restarted = previous.map { $0.startedAtNs != delivery.producer.startedAtNs } ?? false
                    latest[key] = Heartbeat(
                        service: status.service, instance: status.instance, startedAtNs: delivery.producer.startedAtNs,
                        state: status.state, messagesIn: status.messagesIn, counters: status.counters, receivedAt: now,
                        count: (previous?.count ?? 0) + 1, restarts: (previous?.restarts ?? 0) + (restarted ? 1 : 0))
                }
            }
        } catch {
            return
        }
    }

    /// The newest heartbeat of every instance heard.
    var heartbeats: [Key: Heartbeat] { latest.withLock { $0 } }

    func close() async { await subscription.close() }
}
