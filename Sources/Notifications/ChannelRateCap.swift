/// At most `limit` messages per channel in each window (a minute): throttling is per key and
/// keys come from the bus, so a flood of distinct keys would otherwise become a flood of
/// messages. What is held back is counted and reported once, as a summary, after the window.
struct ChannelRateCap: Sendable {
    private struct Window: Sendable {
        var start: ContinuousClock.Instant
        var admitted = 0
        var held = 0
    }

    let limit: Int
    let window: Duration
    /// Keyed by channel name: a handful, all ours.
    private var windows: [String: Window] = [:]
    /// Held back in windows that have ended but are not yet summarised.
    private var unreported: [String: Int] = [:]

    init(limit: Int, window: Duration = .seconds(60)) {
        self.limit = max(1, limit)
        self.window = window
    }

    /// Whether one more message may go to `channel` now; counts it either way.
    mutating func admit(_ channel: String, at now: ContinuousClock.Instant) -> Bool {
        var current = windows[channel] ?? Window(start: now)
        if now - current.start >= window {
            if current.held > 0 { unreported[channel, default: 0] += current.held }
            current = Window(start: now)
        }
        let allowed = current.admitted < limit
        if allowed { current.admitted += 1 } else { current.held += 1 }
        windows[channel] = current
        return allowed
    }

    /// Gives back a slot `admit` granted for a message that was not stored after all (a
    /// duplicate id).
    mutating func refund(_ channel: String) {
        guard var current = windows[channel], current.admitted > 0 else { return }
        current.admitted -= 1
        windows[channel] = current
    }

    /// Channels with messages held back in a window that has ended, and how many; each is
    /// reported once.
    mutating func summaries(at now: ContinuousClock.Instant) -> [(channel: String, held: Int)] {
        for (channel, current) in windows where current.held > 0 && now - current.start >= window {
            unreported[channel, default: 0] += current.held
            windows[channel]?.held = 0
        }
        let result = unreported.filter { $0.value > 0 }.map { (channel: $0.key, held: $0.value) }
            .sorted { $0.channel < $1.channel }
        unreported = [:]
        return result
    }
}
