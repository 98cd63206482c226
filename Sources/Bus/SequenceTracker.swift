/// Counts gaps and duplicates in per-(producer, topic) sequence numbers.
///
/// Publishers number each topic's messages 1, 2, 3, …. The first number seen from a stream
/// only starts tracking (the reader may have joined late); after that, a jump forward is a
/// gap of the numbers skipped and a number not above the last is a duplicate or reordering.
///
/// Streams are keyed by what senders put in their messages, so at most `capacity` are
/// tracked: a flood of new producers or topics evicts the streams seen least recently
/// (counted in ``Totals/evictions``); an evicted stream that comes back starts afresh.
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
        /// Streams forgotten to stay within the capacity.
        public var evictions: UInt64 = 0
        public init() {}
    }

    /// The last sequence number of each stream (`nil` only while a first one is recorded).
    private var last: RecencyMap<Stream, UInt64?>
    private var counts = Totals()

    /// A tracker of at most `capacity` streams.
    public init(capacity: Int = 65_536) {
        last = RecencyMap(capacity: capacity)
    }

    /// Totals across every stream.
    public var totals: Totals {
        var totals = counts
        totals.evictions = last.evictions
        return totals
    }

    /// Records `sequence` for `stream` and says what it meant.
    @discardableResult
    public mutating func record(_ sequence: UInt64, for stream: Stream) -> Outcome {
        counts.messages &+= 1
        let outcome = last.update(stream, default: nil) { stored -> Outcome in
            guard let previous = stored else {
                stored = sequence
                return .first
            }
            if sequence == previous &+ 1 {
                stored = sequence
                return .inOrder
            }
            if sequence > previous {
                stored = sequence
                return .gap(missing: sequence - previous - 1)
            }
            return .duplicate
        }
        switch outcome {
        case .gap(let missing):
            counts.gaps &+= 1
            counts.missing &+= missing
        case .duplicate:
            counts.duplicates &+= 1
        case .first, .inOrder:
            break
        }
        return outcome
    }

    /// Forgets `stream`, e.g. when its producer restarted.
    public mutating func reset(_ stream: Stream) {
        last.remove(stream)
    }

    /// Forgets every stream matching `predicate`.
    public mutating func reset(where predicate: (Stream) -> Bool) {
        last.removeAll(where: predicate)
    }

    /// Number of streams tracked.
    public var streamCount: Int { last.count }
}
