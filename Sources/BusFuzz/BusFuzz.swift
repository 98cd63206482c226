import Bus
import Contracts
import Foundation
import ServiceKit

/// How a run goes.
public struct FuzzOptions: Sendable {
    /// Frames to send (the oversize ones not included).
    public var frames = 1_000_000
    public var seed: UInt64 = 1
    /// Frames per second at most.
    public var rate = 20_000.0
    /// The largest RSS growth allowed per process, in MiB.
    public var maxRSSGrowthMiB = 64.0
    /// Messages above `bus.max_message_bytes`, each on a connection of its own.
    public var oversizeFrames = 10
    /// How long to wait for every service's heartbeats and subscriptions.
    public var startupTimeoutSeconds = 120.0
    /// How long, after the last frame, the counters may take to add up.
    public var settleTimeoutSeconds = 60.0

    public init() {}
}

/// The bus flood: sends hostile frames into a running stack through bus-proxy and checks
/// that every process survived, that its memory stayed bounded, and that it refused exactly
/// what reached it (see ``SubscriptionTable``, ``FrameFactory`` and docs in README "Fuzzing").
public enum BusFuzz {
    /// The socket options bus-fuzz connects its publisher and subscriber with: the config's
    /// `bus` settings. The flood needs an unsecured loopback bus (`bus.security: none`): on a
    /// secured one bus-proxy refuses every forged producer before a service could see it, so
    /// the services' own checks would go untested. The proxy's gate has a libFuzzer target.
    public static func connectOptions(config: TickwireConfig) throws(FuzzError) -> SocketOptions {
        guard config.bus.security == .none else {
            throw FuzzError(
                "the flood needs bus.security \"none\" (a loopback bus): on a secured bus bus-proxy refuses "
                    + "forged producers before any service sees them (make fuzz writes such a config)")
        }
        return config.socketOptions
    }

    /// Runs the flood against the stack `config` describes; `log` receives progress lines.
    /// Throws when the run could not be made (services not up, bus unreachable); findings
    /// about the stack are in the report's ``FuzzReport/failures``.
    public static func run(
        config: TickwireConfig, options: FuzzOptions, log: @escaping @Sendable (String) -> Void
    ) async throws(FuzzError) -> FuzzReport {
        let listeners = try SubscriptionTable.listeners(config: config)
        let context: Context
        do {
            context = try Context()
        } catch {
            throw FuzzError("cannot create a ZeroMQ context: \(error)")
        }
        var subscriberOptions = try connectOptions(config: config)
        // As services do: a subscriber allows more than the proxy accepts (see ServiceEnvironment.subscribe).
        subscriberOptions.maxMessageBytes = min(subscriberOptions.maxMessageBytes, Int64.max / 4) * 4
        let monitor: HeartbeatMonitor
        do {
            monitor = try await HeartbeatMonitor(
                context: context, endpoint: config.bus.subscribeEndpoint,
                services: listeners.filter(\.hasHeartbeat).map(\.service), options: subscriberOptions,
                limits: config.envelopeLimits)
        } catch {
            await context.terminate()
            throw error
        }
        let consumer = Task { await monitor.consume() }
        let result: Result<FuzzReport, FuzzError>
        do throws(FuzzError) {
            result = .success(
                try await flood(
                    config: config, options: options, listeners: listeners, monitor: monitor, context: context, log: log
                ))
        } catch {
            result = .failure(error)
        }
        await monitor.close()
        consumer.cancel()
        await consumer.value
        await context.terminate()
        return try result.get()
    }

    static func flood(
        config: TickwireConfig, options: FuzzOptions, listeners: [Listener], monitor: HeartbeatMonitor,
        context: Context,
        log: @escaping @Sendable (String) -> Void
    ) async throws(FuzzError) -> FuzzReport {
        let checked = listeners.indices.filter { listeners[$0].hasHeartbeat }
        log("waiting for the heartbeats of \(checked.map { listeners[$0].label }.joined(separator: ", "))")
        let startupDeadline = ContinuousClock.now + .seconds(options.startupTimeoutSeconds)
        var baseline: [Int: Heartbeat] = [:]
        while true {
            // Twice each: every process has run for at least one heartbeat interval (and subscribed).
            baseline = match(listeners, heard: monitor.heartbeats).filter { $0.value.count >= 2 }
            if checked.allSatisfy({ baseline[$0] != nil }) { break }
            guard ContinuousClock.now < startupDeadline else {
                let missing = checked.filter { baseline[$0] == nil }.map { listeners[$0].label }
                throw FuzzError(
                    "no heartbeats (two each) within \(options.startupTimeoutSeconds) s from: "
                        + missing.joined(separator: ", ")
                )
            }
            try? await Task.sleep(for: .milliseconds(200))
        }

        // bus-fuzz's own subscriber is a listener too: what it refuses tells whether the proxy
        // forwards messages that are not two frames.
        let own = Listener(service: "bus-fuzz", sockets: [monitor.patterns], hasHeartbeat: false)
        let all = listeners + [own]
        var job = SendJob(
            endpoint: config.bus.publishEndpoint, options: try connectOptions(config: config), frames: options.frames,
            rate: options.rate, oversize: options.oversizeFrames, seed: options.seed,
            settings: FrameFactory.Settings(config: config, listeners: listeners), listeners: all,
            requiredPrefixes: Set(all.flatMap { $0.sockets.joined().map(\.subscriptionPrefix) }),
            subscriptionTimeout: .seconds(options.startupTimeoutSeconds))
        // Frames still queued when the sender closes are flushed while the context lives.
        job.options.lingerMilliseconds = 30_000
        let ownBefore = monitor.subscription.statistics.rejected
        log(
            "sending \(options.frames) frames at up to \(Int(options.rate))/s (seed \(options.seed)) to \(job.endpoint)"
        )
        let progress = SendProgress()
        let reporter = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(10))
                if !Task.isCancelled { log("sent \(progress.sent) of \(options.frames)") }
            }
        }
        let sendStart = ContinuousClock.now
        let sent = await FrameSender.run(job, context: context, progress: progress)
        let sendEnd = ContinuousClock.now
        reporter.cancel()
        let tally: SendTally
        switch sent {
        case .success(let value): tally = value
        case .failure(let error): throw error
        }
        log(
            "sent \(tally.sent) frames (+\(tally.oversizeSent) oversize) in \(format(seconds(sendEnd - sendStart))) s; "
                + "waiting for the counters"
        )

        let ownIndex = all.count - 1
        var evaluation = Evaluation(
            listeners: all, baseline: baseline, tally: tally, ownBefore: ownBefore, sendEnd: sendEnd,
            bound: options.maxRSSGrowthMiB)
        let settleDeadline = sendEnd + .seconds(options.settleTimeoutSeconds)
        while true {
            evaluation.update(
                heard: monitor.heartbeats, own: monitor.subscription.statistics,
                ownIndex: ownIndex)
            if evaluation.settled || ContinuousClock.now >= settleDeadline { break }
            try? await Task.sleep(for: .milliseconds(250))
        }
        var report = evaluation.report
        report.seed = options.seed
        report.framesRequested = options.frames
        report.sendSeconds = seconds(sendEnd - sendStart)
        report.settleSeconds = seconds(ContinuousClock.now - sendEnd)
        report.ratePerSecond = report.sendSeconds > 0 ? Double(tally.sent) / report.sendSeconds : 0
        return report
    }

    /// The heartbeat of each listener: its own instance when it names one, else an instance of
    /// its service no other listener took (in name order).
    static func match(_ listeners: [Listener], heard: [HeartbeatMonitor.Key: Heartbeat]) -> [Int: Heartbeat] {
        var matched: [Int: Heartbeat] = [:]
        var taken = Set<HeartbeatMonitor.Key>()
        for (index, listener) in listeners.enumerated() where listener.hasHeartbeat {
            guard let instance = listener.instance else { continue }
            let key = HeartbeatMonitor.Key(service: listener.service, instance: instance)
            if let beat = heard[key] {
                matched[index] = beat
                taken.insert(key)
            }
        }
        for (index, listener) in listeners.enumerated() where listener.hasHeartbeat && listener.instance == nil {
            let free = heard.keys.filter { $0.service == listener.service && !taken.contains($0) }
                .sorted { $0.instance < $1.instance }
            guard let key = free.first, let beat = heard[key] else { continue }
            matched[index] = beat
            taken.insert(key)
        }
        return matched
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }

    static func format(_ value: Double, decimals: Int = 1) -> String { String(format: "%.\(decimals)f", value) }
}

/// Compares what each listener refused with what it was owed, and the rest of the checks.
struct Evaluation {
    let listeners: [Listener]
    let baseline: [Int: Heartbeat]
    let tally: SendTally
    let ownBefore: [String: UInt64]
    let sendEnd: ContinuousClock.Instant
    let bound: Double
    var report = FuzzReport()
    var settled = false

    init(
        listeners: [Listener], baseline: [Int: Heartbeat], tally: SendTally, ownBefore: [String: UInt64],
        sendEnd: ContinuousClock.Instant, bound: Double
    ) {
        self.listeners = listeners
        self.baseline = baseline
        self.tally = tally
        self.ownBefore = ownBefore
        self.sendEnd = sendEnd
        self.bound = bound
    }

    /// Recomputes every row from the newest heartbeats and bus-fuzz's own subscription.
    mutating func update(heard: [HeartbeatMonitor.Key: Heartbeat], own: MessageSubscription.Statistics, ownIndex: Int) {
        var report = FuzzReport()
        report.sent = tally.sent
        report.bytes = tally.bytes
        report.discardedValid = tally.discardedValid
        report.discardedLarge = tally.discardedLarge
        report.reachedProxy = tally.reachedProxy
        report.malformedReachedProxy = tally.malformedReachedProxy
        report.oversizeSent = tally.oversizeSent
        report.byOrigin = tally.byOrigin
        report.byReason = tally.byReason
        report.maxRSSGrowthMiB = bound

        // bus-fuzz's own subscriber: the one-frame probe on status.bus-proxy reached it unless
        // the proxy drops messages that are not two frames.
        var ownRefused: [String: Int] = [:]
        for (reason, count) in own.rejected {
            let delta = Int(clamping: count &- (ownBefore[reason] ?? 0))
            if delta != 0 { ownRefused[reason] = delta }
        }
        let forwards = (ownRefused[RejectReason.frames.rawValue] ?? 0) > 0
        report.proxyForwardsMalformed = forwards
        var allSettled = true

        for (index, listener) in listeners.enumerated() {
            var owed = tally.owed[index]
            if forwards, tally.malformedOwed[index] > 0 {
                owed[RejectReason.frames.rawValue, default: 0] += tally.malformedOwed[index]
            }
            var row = FuzzReport.Row(process: listener.label, instance: listener.instance ?? "")
            row.owed = owed.values.reduce(0, +)
            row.owedByReason = owed
            if index == ownIndex {
                row.refused = ownRefused.values.reduce(0, +)
                row.refusedByReason = ownRefused
                row.up = true
                compare(&row)
                allSettled = allSettled && row.refused == row.owed
                report.rows.append(row)
                continue
            }
            guard listener.hasHeartbeat else {
                row.problems.append("no heartbeat: not checked")
                row.checked = false
                report.rows.append(row)
                continue
            }
            // The same instance as at the start; a service without --instance that restarts comes
            // back under another one (its process id), which counts as a restart.
            guard let before = baseline[index],
                let after = heard[HeartbeatMonitor.Key(service: before.service, instance: before.instance)]
            else {
                row.problems.append("no heartbeat heard")
                allSettled = false
                report.rows.append(row)
                continue
            }
            row.instance = after.instance
            row.up = after.receivedAt > sendEnd && after.state != .stopping
            let newcomers = heard.values.filter { beat in
                beat.service == before.service && beat.startedAtNs > before.startedAtNs
                    && !baseline.values.contains { $0.service == beat.service && $0.instance == beat.instance }
            }
            row.restarts = after.restarts - before.restarts + (after.startedAtNs != before.startedAtNs ? 1 : 0)
                + newcomers.count
            if !row.up { row.problems.append("no heartbeat since the last frame was sent") }
            if row.restarts > 0 { row.problems.append("restarted (started_at changed, or a new instance appeared)") }
            row.rssStartBytes = before.residentBytes
            row.rssEndBytes = after.residentBytes
            if let start = before.residentBytes, let end = after.residentBytes {
                let growth = (Double(end) - Double(start)) / 1_048_576
                row.rssGrowthMiB = growth
                if growth > bound {
                    row.problems.append("RSS grew by \(BusFuzz.format(growth)) MiB (bound \(BusFuzz.format(bound)))")
                }
            } else {
                row.problems.append("no process.rss_bytes in its heartbeat")
            }
            let start = before.boundaryRejections
            var refused: [String: Int] = [:]
            for (reason, count) in after.boundaryRejections {
                let delta = Int(clamping: count &- (start[reason] ?? 0))
                if delta != 0 { refused[reason] = delta }
            }
            row.refused = refused.values.reduce(0, +)
            row.refusedByReason = refused
            for (name, count) in after.counters where name.hasPrefix("rejected.") {
                let reason = String(name.dropFirst("rejected.".count))
                guard RejectReason(rawValue: reason) == nil else { continue }
                let delta = Int(clamping: count &- (before.counters[name] ?? 0))
                if delta != 0 { row.otherRejected[name] = delta }
            }
            compare(&row)
            var rowSettled = row.up && row.refused == row.owed
            if listener.service == "bus-proxy" {
                let messages = Int(clamping: after.messagesIn &- before.messagesIn)
                row.proxyMessages = messages
                if messages < tally.reachedProxy {
                    row.problems.append(
                        "forwarded \(messages) messages, fewer than the \(tally.reachedProxy) fuzz frames sent to it")
                    rowSettled = false
                }
                if let malformedAfter = after.counters["proxy.malformed"] {
                    let malformed = Int(clamping: malformedAfter &- (before.counters["proxy.malformed"] ?? 0))
                    row.proxyMalformed = malformed
                    if malformed != tally.malformedReachedProxy {
                        row.problems.append(
                            "counted \(malformed) malformed messages (proxy.malformed), "
                                + "\(tally.malformedReachedProxy) were sent"
                        )
                        rowSettled = false
                    }
                }
            }
            allSettled = allSettled && rowSettled
            report.rows.append(row)
        }
        self.report = report
        settled = allSettled
    }

    /// Notes where refusals and debts differ, in total and by reason.
    func compare(_ row: inout FuzzReport.Row) {
        if row.refused != row.owed {
            row.problems.append("refused \(row.refused) frames, \(row.owed) reached it (by the subscription table)")
        }
        for reason in Set(row.owedByReason.keys).union(row.refusedByReason.keys).sorted() {
            let owed = row.owedByReason[reason] ?? 0
            let refused = row.refusedByReason[reason] ?? 0
            if owed != refused { row.problems.append("rejected.\(reason): \(refused), expected \(owed)") }
        }
    }
}
