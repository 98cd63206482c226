/// Counts gaps and duplicates in per-(producer, topic) sequence numbers.
///
/// Publishers number each topic's messages 1, 2, 3, …. The first number seen from a stream
/// only starts tracking (the reader may have joined late); after that, a jump forward is a
/// gap of the numbers skipped and a number not above the last is a duplicate or reordering.
public struct SequenceTracker<Stream: Hashable>: Sendable where Stream: Sendable {
    /// What one sequence number meant.
    public enum Outcome: Sendable, Equatable {
        case first
        case inOrder
        /// `missing` messages were lost before this one.
        case gap(missing: UInt64)
        /// Seen already, or arrived after a later one.
        case duplicate
    }

    /// Totals across every stream.
    public struct Totals: Sendable, Equatable {
        public var messages: UInt64 = 0
        /// Number of gap events.
        public var gaps: UInt64 = 0
        /// Messages lost in those gaps.
        public var missing: UInt64 = 0
        public var duplicates: UInt64 = 0
        public init() {}
    }

    private var last: [Stream: UInt64] = [:]
    public private(set) var totals = Totals()

    public init() {}

    /// Records `sequence` for `stream` and says what it meant.
    @discardableResult
    public mutating func record(_ sequence: UInt64, for stream: Stream) -> Outcome {
        totals.messages &+= 1
        guard let previous = last[stream] else {
            last[stream] = sequence
            return .first
        }
        if sequence == previous &+ 1 {
            last[stream] = sequence
            return .inOrder
        }
        if sequence > previous {
            last[stream] = sequence
            let missing = sequence - previous - 1
            totals.gaps &+= 1
            totals.missing &+= missing
            return .gap(missing: missing)
        }
        totals.duplicates &+= 1
        return .duplicate
    }

    /// Forgets `stream`, e.g. when its producer restarted.
    public mutating func reset(_ stream: Stream) {
        last[stream] = nil
    }

    /// Forgets every stream matching `predicate`.
    public mutating func reset(where predicate: (Stream) -> Bool) {
        for key in last.keys where predicate(key) { last[key] = nil }
    }

    /// Number of streams tracked.
    public var streamCount: Int { last.count }
}
