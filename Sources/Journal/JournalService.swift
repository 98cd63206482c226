import Bus
import Contracts
import Logging
import ServiceKit
import ServiceLifecycle
import Synchronization
import Timekeeping

/// The `journal` service: records every frame on `journal.patterns` into a ``JournalStore``
/// and answers catch-up requests on `journal.bind`.
///
/// Reading the bus never waits for the disk: frames go to a bounded queue that a writer
/// drains in batches (one transaction each). A write that fails (a full disk) raises one
/// alert and is retried every second with the same records, so nothing is lost while the
/// queue holds; when it is full the oldest are dropped and counted
/// (`journal.dropped_queue`). Status counters: `journal.written`, `journal.queue`,
/// `journal.lag_ms`, `journal.write_rate`, `journal.bytes`, `journal.missed_while_down`.
public struct JournalService: Service {
    let environment: ServiceEnvironment
    let store: any JournalStore
    let settings: TickwireConfig.Journal

    public init(environment: ServiceEnvironment, store: any JournalStore) {
        self.environment = environment
        self.store = store
        settings = environment.config.journal
    }

    /// Opens the configured store: SQLite under `journal.directory`, or PostgreSQL at
    /// `journal.postgres_url`.
    public static func openStore(_ settings: TickwireConfig.Journal, logger: Logger) async throws -> any JournalStore {
        switch settings.store {
        case "postgres":
            return try await PostgresJournalStore.connect(url: settings.postgresUrl?.value ?? "", logger: logger)
        default:
            do {
                return try SQLiteJournalStore(directory: settings.directory)
            } catch {
                throw ConfigError(path: "journal.directory", message: "cannot create '\(settings.directory)': \(error)")
            }
        }
    }

    /// Records waiting for the writer, shared by the reader and the writer: a FIFO whose taken
    /// head is dropped in chunks, so a long backlog (a disk that was full) costs O(1) a record.
    final class Queue: Sendable {
        struct State {
            var records: [JournalRecord] = []
            /// Records before this index are taken.
            var head = 0
            var dropped: UInt64 = 0

            var count: Int { records.count - head }

            mutating func compact() {
                if head >= 4_096 && head * 2 >= records.count {
                    records.removeFirst(head)
                    head = 0
                }
            }
        }
        let state = Mutex(State())
        let limit: Int

        init(limit: Int) { self.limit = limit }

        func push(_ record: JournalRecord) {
            state.withLock { state in
                if state.count >= limit {
                    // Drop a tenth at once, so a stalled disk costs O(1) per message.
                    let excess = min(max(1, limit / 10), state.count)
                    state.head += excess
                    state.dropped &+= UInt64(excess)
                    state.compact()
                }
                state.records.append(record)
            }
        }

        func take(_ count: Int) -> [JournalRecord] {
            state.withLock { state in
                let n = min(count, state.count)
                let batch = Array(state.records[state.head..<(state.head + n)])
                state.head += n
                if state.head == state.records.count {
                    state.records.removeAll(keepingCapacity: true)
                    state.head = 0
                } else {
                    state.compact()
                }
                return batch
            }
        }

        /// Puts records that could not be written back at the front (rare: a failed write).
        func putBack(_ records: [JournalRecord]) {
            state.withLock { $0.records.insert(contentsOf: records, at: $0.head) }
        }

        var snapshot: (count: Int, oldestReceivedNs: Int64?, dropped: UInt64) {
            state.withLock { state in
                (state.count, state.count > 0 ? state.records[state.head].receivedNs : nil, state.dropped)
            }
        }
    }

    /// What the journal found missing after a restart, until the status loop reports it.
    final class Missed: Sendable {
        struct Report {
            var messages: UInt64 = 0
            var streams = 0
            var examples: [String] = []
        }
        private let report = Mutex<Report?>(nil)

        func add(_ count: UInt64, _ example: String) {
            report.withLock { report in
                var value = report ?? Report()
                value.messages &+= count
                value.streams += 1
                if value.examples.count < 5 { value.examples.append(example) }
                report = value
            }
        }

        func take() -> Report? {
            report.withLock { report in
                defer { report = nil }
                return report
            }
        }
    }

    /// Messages written since start.
    final class Tally: Sendable {
        private let count = Mutex<UInt64>(0)
        func add(_ n: Int) { count.withLock { $0 &+= UInt64(n) } }
        var value: UInt64 { count.withLock { $0 } }
    }

    public func run() async throws {
        let patterns = try settings.patterns.map { text in
            do { return try TopicPattern(text) } catch {
                throw ConfigError(path: "journal.patterns", message: "'\(text)' is not a topic pattern: \(error)")
            }
        }
        let logger = environment.logger
        let queue = Queue(limit: settings.queueLimit)
        let lastID = try await store.lastID()
        // Where each stream stood when the journal last wrote (the last hour), to see what it
        // missed while it was down.
        let oneHourAgo = UInt64(max(0, Nanoseconds.subtracting(WallClock.nanoseconds(), Nanoseconds.perHour)) / 1_000)
        let before = (try? await store.lastSequences(afterID: oneHourAgo, limit: 65_536)) ?? [:]
        let server = JournalServer(
            store: store, producer: environment.producer, maxMessages: settings.maxReplyMessages,
            // A reply must fit what clients accept (64 MiB, `Requester`), with room to spare.
            maxBytes: min(environment.config.bus.maxMessageBytes * 32, 48 << 20),
            timeout: Nanoseconds.duration(seconds: settings.requestTimeoutSeconds))
        let options = try await environment.serverOptions(binding: settings.bind)
        let replier = try await Replier(context: environment.context, bind: settings.bind, options: options) { frames in
            server.handle(frames: frames)
        }
        let subscription = try await environment.subscribe(patterns)
        logger.info(
            "journal: recording \(settings.patterns.joined(separator: ", ")) into \(describeStore()); catch-up on \(replier.endpoint)"
        )
        let environment = self.environment
        let written = Tally()
        let missed = Missed()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var iterator = subscription.makeAsyncIterator()
                var ids = JournalIDs(last: lastID)
                var seen = RecencyMap<JournalStream, Bool>(capacity: 65_536)
                let checkUntil = ContinuousClock.now + .seconds(600)
                while let (delivery, frames) = try await iterator.nextWithFrames() {
                    if Task.isCancelled { break }
                    environment.counters.addIn()
                    var record = JournalRecord(delivery: delivery, frames: frames, receivedNs: WallClock.nanoseconds())
                    record.id = ids.next(receivedNs: record.receivedNs)
                    // The first message of a stream the journal knew: did it miss any? (Only
                    // while streams from before the restart may still come back.)
                    if !before.isEmpty, ContinuousClock.now < checkUntil, seen.value(for: record.stream) == nil {
                        seen.set(true, for: record.stream)
                        if let last = before[record.stream], last < UInt64.max, record.sequence > last + 1 {
                            let count = record.sequence - last - 1
                            environment.counters.add("journal.missed_while_down", count)
                            missed.add(
                                count,
                                "\(count) on \(record.topic) from \(record.stream.service)/\(record.stream.instance) "
                                    + "(sequence \(last + 1)–\(record.sequence - 1))")
                        }
                    }
                    queue.push(record)
                }
            }
            group.addTask { try await writeLoop(queue: queue, written: written) }
            group.addTask { await statusLoop(queue: queue, written: written, missed: missed) }
            while try await group.next() != nil {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
            }
            group.cancelAll()
        }
        await subscription.close()
        // What is still queued goes to disk before the store closes.
        let rest = queue.take(Int.max)
        if !rest.isEmpty {
            do {
                try await store.append(rest)
                written.add(rest.count)
            } catch {
                logger.error("journal: \(rest.count) queued message(s) not written at stop: \(error)")
            }
        }
        let served = replier.statistics
        await replier.close()
        await store.close()
        logger.info(
            "journal stopped: \(written.value) written, \(served.answered) requests answered (\(served.malformed) malformed)")
    }

    func describeStore() -> String {
        settings.store == "postgres" ? "PostgreSQL" : "\(settings.directory) (SQLite, a file per day)"
    }

    /// Drains the queue in batches until shutdown. A failed batch goes back to the front and is
    /// retried every second; the first failure raises an alert, the recovery another.
    func writeLoop(queue: Queue, written: Tally) async throws {
        let interval = Nanoseconds.duration(seconds: settings.batchIntervalSeconds)
        var failing = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if queue.snapshot.count < settings.batchMessages {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            }
            let batch = queue.take(settings.batchMessages)
            if batch.isEmpty { continue }
            do {
                try await store.append(batch)
                written.add(batch.count)
                environment.counters.addOut(UInt64(batch.count))
                if failing {
                    failing = false
                    environment.raiseAlert(
                        .info, category: "journal.write_resumed", title: "journal writing again",
                        message: "the journal store accepts writes again; \(queue.snapshot.count) message(s) still queued")
                }
            } catch {
                queue.putBack(batch)
                environment.counters.add("journal.write_errors")
                if !failing {
                    failing = true
                    let full = "\(error)".lowercased().contains("full")
                    environment.raiseAlert(
                        full ? .critical : .error, category: full ? "journal.disk_full" : "journal.write_failed",
                        title: full ? "journal disk full" : "journal cannot write",
                        message: "\(error); messages are queued (up to \(settings.queueLimit)) and written when the store recovers")
                }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            }
        }
    }

    /// Every second: queue, lag and write rate into the status counters; every minute (and at
    /// start) retention, the size cap and skipped segments.
    func statusLoop(queue: Queue, written: Tally, missed: Missed) async {
        let counters = environment.counters
        var lastWritten: UInt64 = 0
        var lastTime = ContinuousClock.now
        var lastMaintenance: ContinuousClock.Instant?
        var lastMissedAlert: ContinuousClock.Instant?
        let started = ContinuousClock.now
        let retentionNs = Nanoseconds.clampingSeconds(settings.retentionDays * 86_400)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let now = ContinuousClock.now
            let total = written.value
            let elapsed = (now - lastTime).inSeconds
            if elapsed > 0 {
                counters.set("journal.write_rate", UInt64((Double(total &- lastWritten) / elapsed).rounded()))
            }
            lastWritten = total
            lastTime = now
            counters.set("journal.written", total)
            let snapshot = queue.snapshot
            counters.set("journal.queue", UInt64(snapshot.count))
            counters.set("journal.dropped_queue", snapshot.dropped)
            let lagNs = snapshot.oldestReceivedNs.map { Nanoseconds.subtracting(WallClock.nanoseconds(), $0) } ?? 0
            counters.set("journal.lag_ms", UInt64(max(0, lagNs / 1_000_000)))
            if lastMaintenance.map({ now - $0 >= .seconds(60) }) ?? true {
                lastMaintenance = now
                do {
                    let report = try await store.maintain(
                        nowNs: WallClock.nanoseconds(), retentionNs: retentionNs, maxBytes: settings.maxBytes)
                    counters.set("journal.bytes", UInt64(max(0, report.bytes)))
                    counters.set("journal.segments", UInt64(max(0, report.segments)))
                    if !report.deleted.isEmpty {
                        environment.logger.info("journal: deleted \(report.deleted.joined(separator: ", ")) (retention or size cap)")
                    }
                } catch {
                    environment.logger.error("journal: maintenance failed: \(error)")
                }
            }
            // What was published while the journal was down, in one alert: streams show up over
            // the first seconds, so it waits a little and then sums them up (again at most once
            // a minute for streams seen later).
            if now - started >= .seconds(5), lastMissedAlert.map({ now - $0 >= .seconds(60) }) ?? true,
                let report = missed.take()
            {
                lastMissedAlert = now
                environment.raiseAlert(
                    .warning, category: "journal.gap", title: "journal missed messages",
                    message: "\(report.messages) message(s) on \(report.streams) stream(s) were published while the journal was "
                        + "down and are not in it: \(report.examples.joined(separator: "; "))"
                        + (report.streams > report.examples.count ? "; …" : ""))
            }
            for problem in store.takeProblems() {
                counters.add("journal.segments_skipped")
                environment.raiseAlert(
                    .error, category: "journal.segment_skipped", title: "journal segment skipped",
                    message: "\(problem.segment) cannot be used and is skipped: \(problem.message)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
    }
}
