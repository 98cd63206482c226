import Bus
import Contracts
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Timekeeping

/// Where a consumer stands: the last sequence number it processed of each stream, and the
/// newest publish time among them. Kept in `journal.positions_directory/<service>.json`,
/// written atomically, so that a restart knows what it already did.
public struct ConsumerPositions: Sendable {
    /// Streams remembered at most; the least recently seen are forgotten first.
    public static let capacity = 65_536

    private var last = RecencyMap<StreamID, UInt64>(capacity: capacity)
    /// The newest publish time processed (0: nothing yet).
    public private(set) var watermarkNs: Int64 = 0
    /// Records made, and how many of them the last save held.
    private var changes: UInt64 = 0
    private var savedChanges: UInt64 = 0
    /// Changed since the last save.
    public var dirty: Bool { changes != savedChanges }

    public init() {}

    /// What processing `delivery` would be.
    public enum Verdict: Sendable, Equatable {
        /// Not seen yet, and nothing before it is missing (or its stream is new).
        case next
        /// Processed already.
        case duplicate
        /// Sequence numbers `missing` of its stream were never processed.
        case afterGap(missing: ClosedRange<UInt64>)
    }

    public func verdict(_ delivery: Delivery) -> Verdict {
        guard let previous = last.peek(delivery.stream) else { return .next }
        if delivery.sequence <= previous { return .duplicate }
        if delivery.sequence == previous &+ 1 { return .next }
        return .afterGap(missing: (previous &+ 1)...(delivery.sequence &- 1))
    }

    /// Moves the watermark to `nanoseconds` (a consumer's first start), so a restart replays
    /// from there.
    public mutating func markStart(_ nanoseconds: Int64) {
        watermarkNs = max(watermarkNs, nanoseconds)
        changes &+= 1
    }

    /// Records `delivery` as processed.
    public mutating func record(_ delivery: Delivery) {
        let sequence = delivery.sequence
        last.update(delivery.stream, default: sequence) { stored in stored = max(stored, sequence) }
        watermarkNs = max(watermarkNs, delivery.publishTimeNs)
        changes &+= 1
    }

    // MARK: File

    struct Entry: Codable {
        var service: String
        var instance: String
        var startedAtNs: Int64
        var topic: String
        var sequence: UInt64
    }

    struct File: Codable {
        var version = 1
        var watermarkNs: Int64
        var streams: [Entry]
    }

    /// Reads a saved file; `nil` when there is none. Entries that do not parse are skipped.
    public static func load(path: String) throws -> ConsumerPositions? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let file = try decoder.decode(File.self, from: data)
        var positions = ConsumerPositions()
        positions.watermarkNs = max(0, file.watermarkNs)
        for entry in file.streams.prefix(capacity) {
            guard let topic = try? Topic(wire: Array(entry.topic.utf8) + [Topic.terminator]) else { continue }
            let stream = StreamID(service: entry.service, instance: entry.instance, startedAt: entry.startedAtNs, topic: topic)
            positions.last.set(entry.sequence, for: stream)
        }
        return positions
    }

    /// Writes the file atomically (a temporary file renamed over it).
    public mutating func save(path: String) throws {
        let entries = last.all.map { item in
            Entry(
                service: item.key.service, instance: item.key.instance, startedAtNs: item.key.startedAt,
                topic: item.key.topic.description, sequence: item.value)
        }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = try encoder.encode(File(watermarkNs: watermarkNs, streams: entries))
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        savedChanges = changes
    }
}

/// A subscription that survives restarts: on start it replays from the journal what was
/// published on its `durable` patterns since it last stood, then goes live with no gap and no
/// duplicate; a sequence gap seen live is filled from the journal before the message after it.
///
/// Messages are handed over in order per stream, each once (by stream and sequence number,
/// against the durable ``ConsumerPositions``). Messages on `live` patterns (heartbeats,
/// timers) are never replayed. Without a journal (`journal.endpoint` empty, or no answer) it
/// is a plain subscription, and says so once.
public final class DurableSubscription: Sendable {
    let environment: ServiceEnvironment
    let durable: [TopicPattern]
    let subscription: MessageSubscription
    let journal: JournalClient?
    /// The positions file.
    public let path: String
    private let positions: Mutex<ConsumerPositions>
    private let lastSave = Mutex<ContinuousClock.Instant?>(nil)
    /// Held while the file is written; counts the saves.
    private let saving = Mutex<UInt64>(0)
    /// A position file from an earlier run: there is something to catch up from.
    private let resumed: Bool
    /// How far before the watermark catch-up starts (producers' clocks differ).
    static let marginNs: Int64 = 120 * Nanoseconds.perSecond

    /// Subscribes to `durable` and `live` now, so nothing published from here on is missed.
    public init(environment: ServiceEnvironment, durable: [TopicPattern], live: [TopicPattern] = []) async throws {
        self.environment = environment
        self.durable = durable
        journal = try JournalClient(environment: environment)
        path = (environment.config.journal.positionsDirectory as NSString).appendingPathComponent("\(environment.name).json")
        var loaded = ConsumerPositions()
        var resumed = false
        do {
            if let saved = try ConsumerPositions.load(path: path) {
                loaded = saved
                resumed = saved.watermarkNs > 0
            }
        } catch {
            environment.logger.warning("positions file \(path) is unreadable (\(error)); starting from live messages only")
            environment.counters.add("catchup.positions_invalid")
        }
        if !resumed {
            // A first start: from now on there is a position to come back to, even if no
            // durable message arrives before the next restart.
            loaded.markStart(WallClock.nanoseconds())
        }
        positions = Mutex(loaded)
        self.resumed = resumed
        subscription = try await environment.subscribe(durable + live)
    }

    /// Whether `topic` is one of the durable patterns.
    func isDurable(_ topic: Topic) -> Bool { durable.contains { $0.matches(topic) } }

    /// Catches up, then hands every live message to `handle` until shutdown; saves the
    /// positions after each message (at most every 20 ms), every 200 ms, and at the end.
    public func run(handle: @escaping @Sendable (Delivery) async -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.saveLoop() }
            group.addTask {
                // SIGTERM during the catch-up (e.g. while waiting for a silent journal) ends it.
                await cancelWhenGracefulShutdown { await self.catchUp(handle: handle) }
                for try await delivery in self.subscription.cancelOnGracefulShutdown() {
                    await self.process(delivery, handle: handle)
                }
            }
            while try await group.next() != nil {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
            }
            group.cancelAll()
        }
        await subscription.close()
        save()
    }

    /// Replays what was missed since the saved watermark.
    func catchUp(handle: @Sendable (Delivery) async -> Void) async {
        guard let journal, resumed, !durable.isEmpty else {
            if !resumed { environment.logger.info("no saved position (\(path)): starting from live messages") }
            return
        }
        let watermark = positions.withLock { $0.watermarkNs }
        let oldest = Nanoseconds.subtracting(
            WallClock.nanoseconds(), Nanoseconds.clampingSeconds(environment.config.journal.catchUpMaxSeconds))
        let from = max(Nanoseconds.subtracting(watermark, Self.marginNs), oldest)
        let started = ContinuousClock.now
        var handled = 0
        do {
            let tally = try await journal.messages(.patterns(durable, fromNs: from)) { delivery in
                if await self.process(delivery, handle: handle, fillGaps: false) { handled += 1 }
            }
            for (reason, count) in tally.rejected { environment.counters.add("catchup.rejected.\(reason)", count) }
            environment.counters.add("catchup.replayed", UInt64(handled))
            environment.logger.info(
                "caught up from the journal: \(handled) missed message(s) since \(ISO8601Instant.format(nanoseconds: from)) in \((ContinuousClock.now - started).inSeconds) s (\(tally.delivered) read)"
            )
        } catch JournalClient.Failure.noReply(let endpoint, let timeout) {
            // Stopping (SIGTERM cancelled the wait): nothing to report.
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            // The journal is down or elsewhere: its own silence is reported by the heartbeat
            // watch; this consumer goes live and says what it could not do.
            environment.counters.add("catchup.failed")
            environment.logger.warning(
                "no journal at \(endpoint) within \(timeout): messages published while \(environment.name) was down are not replayed")
        } catch {
            environment.counters.add("catchup.failed")
            environment.raiseAlert(
                .warning, category: "journal.catchup_failed", title: "could not catch up",
                message: "\(error); messages published while \(environment.name) was down may be missing")
        }
    }

    /// Hands `delivery` over unless it was processed already; fills a gap before it from the
    /// journal first. Returns whether it was handed over.
    @discardableResult
    func process(_ delivery: Delivery, handle: @Sendable (Delivery) async -> Void, fillGaps: Bool = true) async -> Bool {
        guard isDurable(delivery.topic) else {
            await handle(delivery)
            return true
        }
        switch positions.withLock({ $0.verdict(delivery) }) {
        case .duplicate:
            environment.counters.add("catchup.duplicates_skipped")
            return false
        case .afterGap(let missing):
            if fillGaps { await fill(missing, of: delivery.stream, handle: handle) }
        case .next:
            break
        }
        positions.withLock { $0.record(delivery) }
        await handle(delivery)
        saveIfDue()
        return true
    }

    /// Saves now unless the last save was under 20 ms ago (a burst: the save loop follows),
    /// so a kill -9 right after a message rarely makes it processed twice.
    func saveIfDue() {
        let now = ContinuousClock.now
        let due = lastSave.withLock { last -> Bool in
            guard last.map({ now - $0 >= .milliseconds(20) }) ?? true else { return false }
            last = now
            return true
        }
        if due { save() }
    }

    /// Asks the journal for a stream's missing sequence numbers and hands them over. The
    /// journal writes in batches, so a gap just seen may need a moment to be on disk.
    func fill(_ missing: ClosedRange<UInt64>, of stream: StreamID, handle: @Sendable (Delivery) async -> Void) async {
        guard let journal else { return }
        let count = missing.upperBound - missing.lowerBound + 1
        let threshold = environment.config.journal.gapAlertMessages
        var filled: UInt64 = 0
        for attempt in 0..<3 {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(300)) }
            do {
                _ = try await journal.messages(.gap(stream, sequences: missing)) { delivery in
                    guard delivery.stream == stream, missing.contains(delivery.sequence) else { return }
                    if positions.withLock({ $0.verdict(delivery) }) == .duplicate { return }
                    positions.withLock { $0.record(delivery) }
                    filled += 1
                    await handle(delivery)
                }
            } catch {
                environment.logger.warning("gap fill on \(stream.topic) failed: \(error)")
                break
            }
            if filled >= count { break }
        }
        environment.counters.add("gap.filled", filled)
        if filled < count {
            environment.counters.add("gap.unfilled", count - filled)
            if threshold > 0 && count - filled >= UInt64(threshold) {
                environment.raiseAlert(
                    .warning, category: "bus.gap", title: "messages lost",
                    message: "\(count - filled) message(s) on \(stream.topic) from \(stream.service)/\(stream.instance) "
                        + "never arrived and the journal does not have them")
            }
        }
    }

    func saveLoop() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(200)) }
            save()
        }
    }

    /// Writes the positions file if anything changed. One save at a time, so an older copy
    /// never lands after a newer one.
    public func save() {
        saving.withLock { saves in
            var copy = positions.withLock { $0 }
            guard copy.dirty else { return }
            do {
                try copy.save(path: path)
                saves &+= 1
                positions.withLock { $0.markSaved(through: copy) }
            } catch {
                environment.counters.add("catchup.save_failed")
                environment.logger.error("cannot save positions to \(path): \(error)")
            }
        }
    }
}

extension ConsumerPositions {
    /// Notes that `saved`, a copy of these positions, was written: what was recorded since
    /// the copy was taken is still to be saved.
    mutating func markSaved(through saved: ConsumerPositions) {
        savedChanges = max(savedChanges, saved.savedChanges)
    }
}
