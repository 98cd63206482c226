import Bus
import Contracts
import Timekeeping

/// The last heartbeat of each service instance, to report the ones that go quiet. Heartbeats
/// come from the bus, so both their numbers and their count are checked: an interval that is
/// not a plausible number of seconds is refused, and at most `capacity` instances are watched
/// (the one heard from least recently is evicted).
struct HeartbeatWatch: Sendable {
    struct Beat: Sendable, Equatable {
        var at: ContinuousClock.Instant
        /// Seconds to the next expected heartbeat, checked and at least ``minimumInterval``.
        var interval: Double
        var quiet: Bool
    }

    /// Why a heartbeat was refused; the counter is `rejected.<rawValue>`.
    enum Rejection: String, Sendable, Equatable {
        /// `interval_seconds` NaN, infinite, negative or longer than ``maximumInterval``.
        case interval = "heartbeat_interval"
        /// An empty or over-long service name or instance, or one with control characters.
        case identity = "heartbeat_identity"
    }

    /// What recording a heartbeat did.
    enum Outcome: Sendable, Equatable {
        case recorded
        /// The instance had been reported quiet and is back.
        case back
        case rejected(Rejection)
    }

    static let minimumInterval = 0.5
    static let maximumInterval = 86_400.0
    static let identityLimit = 128

    private(set) var beats: RecencyMap<String, Beat>

    init(capacity: Int = 1_024) {
        beats = RecencyMap(capacity: capacity)
    }

    /// Instances evicted because the watch was full.
    var evictions: UInt64 { beats.evictions }

    /// `service/instance`, or nil when either is not a plausible name.
    static func key(_ status: ServiceStatus) -> String? {
        guard isPlausibleName(status.service), status.instance.isEmpty || isPlausibleName(status.instance) else {
            return nil
        }
        return "\(status.service)/\(status.instance)"
    }

    /// `seconds` as a heartbeat interval (at least ``minimumInterval``), or nil when it is not
    /// finite, negative or longer than ``maximumInterval``.
    static func interval(_ seconds: Double) -> Double? {
        guard seconds.isFinite, seconds >= 0, seconds <= maximumInterval else { return nil }
        return max(seconds, minimumInterval)
    }

    static func isPlausibleName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= identityLimit && !text.unicodeScalars.contains(where: Render.isControl)
    }

    /// Records `status` as heard `now`; a `stopping` status ends the watch of its instance.
    mutating func record(_ status: ServiceStatus, at now: ContinuousClock.Instant) -> Outcome {
        guard let key = Self.key(status) else { return .rejected(.identity) }
        guard let interval = Self.interval(status.intervalSeconds) else { return .rejected(.interval) }
        if status.state == .stopping {
            // A service that says it is stopping is not "gone quiet" when it goes.
            beats.remove(key)
            return .recorded
        }
        let wasQuiet = beats.peek(key)?.quiet ?? false
        beats.set(Beat(at: now, interval: interval, quiet: false), for: key)
        return wasQuiet ? .back : .recorded
    }

    /// Instances silent for more than `factor` intervals that were not reported yet, with how
    /// long they have been silent; each is marked quiet (reported once until it is back).
    mutating func newlyQuiet(at now: ContinuousClock.Instant, factor: Double) -> [(key: String, silent: Duration)] {
        var quiet: [(key: String, silent: Duration)] = []
        for (key, beat) in beats.all where !beat.quiet {
            let silent = now - beat.at
            if silent > Nanoseconds.duration(seconds: beat.interval * factor) {
                beats.modify(key) { $0.quiet = true }
                quiet.append((key, silent))
            }
        }
        return quiet.sorted { $0.key < $1.key }
    }

    /// Watched instances that are alive and quiet, sorted.
    var alive: [String] { beats.all.filter { !$0.value.quiet }.map(\.key).sorted() }
    var quiet: [String] { beats.all.filter { $0.value.quiet }.map(\.key).sorted() }
}
