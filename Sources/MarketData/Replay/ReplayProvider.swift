import Contracts
import Logging
import ServiceKit
import Timekeeping

/// The `replay` provider: plays CSV files of bars or trades as if they were a live feed.
///
/// - Formats (see ``ReplayFormat``; detected from each file's header): Alpha Vantage intraday
///   CSV, generic OHLCV bars and trades. Files without a symbol column take the symbol from
///   their name or a `#symbol=` option (see ``ReplayFile``).
/// - Several files are merged in time order (ties: the file listed first, then row order).
/// - Events keep their original timestamps; the wall-clock gap between two events is their
///   time difference divided by `replay.speed` (0 = as fast as possible, yielding regularly).
/// - Bars are published as `live` bars (`provider` = `replay`): downstream, a replay stands in
///   for a live feed; `backfill` is for history fetched at start.
/// - Symbols: with `tickers` left at the built-in default, every symbol in the files plays;
///   with tickers of your own, only those.
/// - Malformed rows are reported (`malformed_payload`, naming `file:line`) and skipped.
/// - At the end: with `replay.loop`, the files play again with every time moved forward by
///   the length of one pass, so time never runs backwards downstream (and the ingestor's
///   duplicate filter does not drop the repeat); without it, `run` idles until cancelled,
///   because returning would make the ingestor reconnect, which for a replay means starting over.
public struct ReplayProvider: MarketDataProvider {
    public static let providerName = "replay"
    public let name = ReplayProvider.providerName
    public let files: [ReplayFile]
    public let speed: Double
    public let loop: Bool

    /// Checks `replay.files` (each exists, is readable and has a known header) and
    /// `replay.speed`; errors name the config path, e.g. `replay.files[1]`.
    public init(config: TickwireConfig) throws(ConfigError) {
        let replay = config.replay
        guard !replay.files.isEmpty else {
            throw ConfigError(path: "replay.files", message: "no files to replay: list one or more CSV files")
        }
        var files: [ReplayFile] = []
        for (index, entry) in replay.files.enumerated() {
            files.append(try ReplayFile(entry: entry, configPath: "replay.files[\(index)]"))
        }
        guard replay.speed >= 0, replay.speed.isFinite else {
            throw ConfigError(path: "replay.speed", message: "must be 0 (as fast as possible) or more")
        }
        self.files = files
        speed = replay.speed
        loop = replay.loop
    }

    /// The symbols to play: all of them when `symbols` is empty or the built-in default list
    /// (the deployment never chose tickers), else exactly `symbols`.
    static func filter(for symbols: [String]) -> Set<String>? {
        symbols.isEmpty || symbols == TickwireConfig().tickers ? nil : Set(symbols)
    }

    /// Every symbol in the files when tickers are the default (see ``filter(for:)``).
    public func acceptedSymbols(for symbols: [String]) -> Set<String>? { Self.filter(for: symbols) }

    /// A replay keeps the files' own times.
    public var eventTimesFollowWallClock: Bool { false }

    public func run(symbols: [String], sink: ProviderSink) async throws {
        do {
            try await play(filter: Self.filter(for: symbols), sink: sink)
        } catch is CancellationError {
            return
        }
    }

    func play(filter: Set<String>?, sink: ProviderSink) async throws {
        let reporter = ReplayReporter(sink: sink)
        var pacer = ReplayPacer(speed: speed)
        var shift: Int64 = 0
        var pass = 0
        let playing = files.enumerated().filter { _, file in
            guard let symbol = file.symbol, let filter, !filter.contains(symbol) else { return true }
            sink.logger.info("replay: skipping \(file.path): its symbol \(symbol) is not in tickers")
            return false
        }
        sink.logger.info(
            "replay: \(playing.map { $0.element.path }.joined(separator: ", ")) at \(speed == 0 ? "full speed" : "\(speed)x")\(loop ? ", looping" : "")"
        )
        while true {
            reporter.startPass(pass)
            var cursors: [ReplayCursor] = []
            var heads: [ReplayEvent?] = []
            for (index, file) in playing {
                let cursor: ReplayCursor
                do {
                    cursor = try await ReplayCursor.open(file, index: index, reporter: reporter, filter: filter)
                    heads.append(try await cursor.next())
                } catch {
                    throw ProviderIssue(.invalidRequest, "replay: \(error)", isFatal: true)
                }
                cursors.append(cursor)
            }
            if pass == 0 { sink.connected() }

            var first: Int64?
            var last: Int64 = 0
            var smallestGap: Int64?
            var emitted = 0
            while let position = Self.earliest(heads), let head = heads[position] {
                do {
                    heads[position] = try await cursors[position].next()
                } catch {
                    throw ProviderIssue(.invalidRequest, "replay: \(error)", isFatal: true)
                }
                try await pacer.wait(until: Nanoseconds.adding(head.time, shift))
                sink.emit(head.shifted(by: shift))
                emitted += 1
                if first == nil { first = head.time }
                if head.time > last, emitted > 1 {
                    let gap = Nanoseconds.subtracting(head.time, last)
                    smallestGap = min(smallestGap ?? gap, gap)
                }
                last = head.time
            }
            sink.count("replay_passes")
            sink.logger.info("replay: pass \(pass + 1) done, \(emitted) events")
            guard loop else { break }
            guard let first, emitted > 0 else {
                sink.logger.warning("replay: the files hold nothing to play; not looping")
                break
            }
            // The next pass starts one step (the smallest gap seen, else a second) after this one
            // ended; looping stops before times would leave the range events may have.
            let step = Nanoseconds.adding(Nanoseconds.subtracting(last, first), smallestGap ?? Nanoseconds.perSecond)
            guard let next = Nanoseconds.checkedAdding(shift, step),
                MarketLimits.isPlausible(time: Nanoseconds.adding(last, next))
            else {
                sink.logger.warning("replay: another pass would move times past the year 2200; not looping further")
                break
            }
            shift = next
            pass += 1
        }
        sink.logger.info("replay: finished; idling until shutdown")
        while true { try await Task.sleep(for: .seconds(3_600)) }
    }

    /// The head to play next: the earliest time; on a tie, the file listed first.
    static func earliest(_ heads: [ReplayEvent?]) -> Int? {
        var best: Int?
        for (index, head) in heads.enumerated() {
            guard let head else { continue }
            if let current = best, let bestHead = heads[current], bestHead.time <= head.time { continue }
            best = index
        }
        return best
    }
}

/// Spaces events on the wall clock: an event `Δt` after the first one is due `Δt / speed`
/// after it was played (deadlines from the start, so waits do not drift). At speed 0, or when
/// behind, nothing waits, but the task yields every ``yieldEvery`` events so it never holds a
/// cooperative thread for long. Cancellation ends a wait at once.
struct ReplayPacer {
    static let yieldEvery = 256

    let speed: Double
    let clock = ContinuousClock()
    private var anchor: (wall: ContinuousClock.Instant, time: Int64)?
    private var sinceYield = 0

    init(speed: Double) { self.speed = speed }

    mutating func wait(until time: Int64) async throws {
        try Task.checkCancellation()
        if speed > 0 {
            if let anchor {
                let ahead = Nanoseconds.seconds(Nanoseconds.subtracting(time, anchor.time)) / speed
                let due = anchor.wall + Nanoseconds.duration(seconds: ahead)
                if due > clock.now {
                    try await Task.sleep(until: due, tolerance: nil, clock: clock)
                    sinceYield = 0
                    return
                }
            } else {
                anchor = (clock.now, time)
            }
        }
        sinceYield += 1
        if sinceYield >= Self.yieldEvery {
            sinceYield = 0
            await Task.yield()
            try Task.checkCancellation()
        }
    }
}
