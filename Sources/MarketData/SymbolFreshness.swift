import ServiceKit

/// How fresh each symbol's data is, judged against that symbol's own recent rate: a symbol
/// whose feed died (while the connection still says "connected") is stale; one that trades
/// rarely is only quiet. Kept by ``ProviderService`` under its lock; bounded by the symbols
/// it publishes (``MarketLimits/maximumSymbols``).
///
/// A symbol is stale when nothing came for it for `factor` × its usual interval between
/// events (an exponentially weighted mean of the last few), and at least `minimum`. Until
/// ``eventsToLearnRate`` events have set its rate, only `minimum` × `factor` counts. Time
/// with the market closed does not count.
struct SymbolFreshness {
    struct Entry {
        var lastEventAt: ContinuousClock.Instant
        /// The usual interval between events, seconds (weighted mean); nil until learned.
        var meanInterval: Double?
        var events = 0
        var stale = false

        /// An event at `now`; true when it ends a stale spell.
        mutating func record(at now: ContinuousClock.Instant) -> Bool {
            // A stale spell is not a normal interval: it would teach the rate to be slow.
            if !stale {
                let interval = max(0, (now - lastEventAt).inSeconds)
                meanInterval = meanInterval.map { $0 + SymbolFreshness.smoothing * (interval - $0) } ?? interval
            }
            events = min(events + 1, Int.max - 1)
            lastEventAt = now
            defer { stale = false }
            return stale
        }
    }

    /// Events before a symbol's own rate is trusted.
    static let eventsToLearnRate = 5
    /// Weight of the newest interval in the mean.
    static let smoothing = 0.2

    let factor: Double
    let minimum: Duration
    private(set) var entries: [String: Entry] = [:]

    init(factor: Double, minimum: Duration) {
        self.factor = factor
        self.minimum = minimum
    }

    /// Records an event of `symbol` at `now`; true when the symbol was stale until now. One
    /// hash of the symbol per event (it is on every event's path).
    mutating func record(_ symbol: String, at now: ContinuousClock.Instant) -> Bool {
        guard let index = entries.index(forKey: symbol) else {
            entries[symbol] = Entry(lastEventAt: now, events: 1)
            return false
        }
        return entries.values[index].record(at: now)
    }

    /// How long `entry` may go without an event before it is stale.
    func limit(of entry: Entry) -> Duration {
        guard entry.events >= Self.eventsToLearnRate, let mean = entry.meanInterval else { return minimum * factor }
        let seconds = min(mean * factor, 86_400 * 7)
        return max(minimum, .nanoseconds(Int64(seconds * 1e9)))
    }

    /// Marks symbols stale that are past their limit at `now`; returns the newly stale ones
    /// with how long each has been silent.
    mutating func check(at now: ContinuousClock.Instant) -> [(symbol: String, silentFor: Duration)] {
        var newlyStale: [(symbol: String, silentFor: Duration)] = []
        for (symbol, entry) in entries where !entry.stale {
            let silent = now - entry.lastEventAt
            if silent >= limit(of: entry) {
                entries[symbol]?.stale = true
                newlyStale.append((symbol, silent))
            }
        }
        return newlyStale.sorted { $0.symbol < $1.symbol }
    }

    /// The market is closed: silence from now on does not count, and no symbol is stale.
    mutating func pause(at now: ContinuousClock.Instant) {
        for symbol in entries.keys {
            entries[symbol]?.lastEventAt = now
            entries[symbol]?.stale = false
        }
    }

    /// Seconds since each symbol's last event, and whether it is stale.
    func ages(at now: ContinuousClock.Instant) -> [(symbol: String, age: Double, stale: Bool)] {
        entries.map { ($0.key, max(0, (now - $0.value.lastEventAt).inSeconds), $0.value.stale) }
    }

    var staleCount: Int { entries.values.reduce(0) { $0 + ($1.stale ? 1 : 0) } }
}
