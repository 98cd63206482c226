import Bus
import Contracts
import Foundation
import Logging
import ServiceKit
import ServiceLifecycle
import Synchronization

/// The notifier: turns `signal.*`, `alert.*`, heartbeats and the scheduler's status timer into
/// messages, routes them by priority, throttles repeats, stores them in the outbox, and
/// delivers them through every channel with retries, backoff and a circuit per channel.
public struct NotifierService: Service {
    let environment: ServiceEnvironment
    let outbox: Outbox
    let channels: [any DeliveryChannel]
    let core: Core
    /// Rate-limits the log lines about refused bus messages and outbox trouble.
    let inputLog = LogThrottle()
    let outboxLog = LogThrottle()
    /// `tickwire_notifications_pending{channel}`: the outbox's waiting deliveries.
    let pending: KeyedGauge

    /// Caps of the maps keyed by what arrives from the bus.
    static let throttleKeyCapacity = 4_096
    static let unrecordedCapacity = 10_000

    /// A delivery's key in the outbox.
    struct DeliveryKey: Hashable, Sendable {
        var id: String
        var channel: String
    }

    /// The outcome of a delivery that the outbox could not record yet.
    enum Outcome: Sendable {
        case sent(at: Date)
        case failed(error: String, retryAt: Date?, at: Date)
    }

    final class Core: Sendable {
        struct Values {
            /// Throttle keys enqueued but not yet confirmed, so repeats are held back meanwhile.
            var inFlight = RecencyMap<String, Date>(capacity: NotifierService.throttleKeyCapacity)
            var watch = HeartbeatWatch()
            var rateCap: ChannelRateCap
            /// Deliveries made (or failed) whose outbox update failed: never delivered again
            /// while here; the update is retried by the channel's loop.
            var unrecorded = RecencyMap<DeliveryKey, Outcome>(capacity: NotifierService.unrecordedCapacity)
            var signalsSinceStart = 0
            var errorsSinceStart = 0
            var session = "unknown"
            var circuitAlerted: Set<String> = []
        }
        let values: Mutex<Values>

        init(maxPerMinute: Int) {
            values = Mutex(Values(rateCap: ChannelRateCap(limit: maxPerMinute)))
        }
    }

    public init(environment: ServiceEnvironment, outbox: Outbox, channels: [any DeliveryChannel]) {
        self.environment = environment
        self.outbox = outbox
        self.channels = channels
        core = Core(maxPerMinute: environment.config.notifications.maxPerMinute)
        pending = KeyedGauge(
            metric: "notifications_pending", labels: [("service", environment.name), ("instance", environment.producer.instance)],
            keyLabel: "channel", help: "Deliveries waiting in the outbox (first try or retry), by channel.", capacity: 32)
    }

    public func run() async throws {
        let config = environment.config.notifications
        let counts = try? await outbox.counts()
        environment.logger.info(
            "notifier: channels \(channels.map(\.name).joined(separator: ", ")); outbox \(outbox.path) (\(describe(counts)))"
        )
        await prune()
        await notify(.started, id: "started-\(environment.producer.startedAtNs)", eventTime: WallClock.nanoseconds())
        // Signals and alerts published while the notifier was down are replayed from the
        // journal (the outbox's dedupe makes each delivery happen once); heartbeats and timers
        // only matter live.
        let subscription = try await DurableSubscription(
            environment: environment,
            durable: [TopicPattern(prefix: "signal."), TopicPattern(prefix: "alert.")],
            live: [
                TopicPattern(prefix: "status."), TopicPattern(exact: try Topic.timer("status_report")),
                TopicPattern(exact: .marketSession),
            ])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for channel in channels {
                group.addTask { await deliverLoop(channel) }
            }
            group.addTask { await maintain() }
            group.addTask {
                try await subscription.run { delivery in await handle(delivery) }
            }
            while (try await group.next()) != nil {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
            }
            group.cancelAll()
        }
        // "Stopped" is stored first, so it is never lost: sent now if the channels answer within
        // a few seconds, else on the next start.
        await notify(.stopped, id: "stopped-\(environment.producer.startedAtNs)", eventTime: WallClock.nanoseconds())
        let deadline = ContinuousClock.now + .seconds(min(config.timeoutSeconds, 5))
        for channel in channels {
            while ContinuousClock.now < deadline {
                let due = await dueDeliveries(channel.name, limit: 20)
                if due.isEmpty { break }
                var noBreaker: CircuitBreaker<ContinuousClock>? = nil
                for item in due { await attempt(item, on: channel, breaker: &noBreaker) }
            }
        }
        let remaining = try? await outbox.counts()
        environment.logger.info("notifier stopped; outbox \(describe(remaining))")
    }

    // MARK: In

    func handle(_ delivery: Delivery) async {
        environment.counters.addIn()
        switch delivery.payload {
        case .signal(let signal):
            core.values.withLock { $0.signalsSinceStart += 1 }
            if let reason = BusInput.rejection(signal) {
                reject(reason, what: "a signal on \(delivery.topic)")
                return
            }
            guard signal.action != .hold || environment.config.notifications.notifyHold else { return }
            // Scoped by the producer, which bus-proxy has authenticated: no other identity can
            // take this signal's outbox row by sending its id first.
            await notify(
                .signal(signal), id: "\(delivery.producer.service)/\(signal.id)", eventTime: delivery.eventTimeNs,
                publishTime: delivery.publishTimeNs)
        case .alert(let alert):
            // The notifier's own alerts were already routed to the working channels directly.
            guard delivery.producer.service != environment.name else { return }
            if alert.severity.rawValue >= Severity.error.rawValue { core.values.withLock { $0.errorsSinceStart += 1 } }
            let id = "alert-\(delivery.producer.service)-\(delivery.producer.startedAtNs)-\(delivery.sequence)"
            await notify(.alert(alert), id: id, eventTime: delivery.eventTimeNs, publishTime: delivery.publishTimeNs)
        case .status(let status):
            let outcome = core.values.withLock { $0.watch.record(status, at: .now) }
            switch outcome {
            case .rejected(let reason): reject(reason.rawValue, what: "a heartbeat on \(delivery.topic)")
            case .back: environment.logger.info("\(HeartbeatWatch.key(status) ?? status.service) is back")
            case .recorded: break
            }
        case .timer(let timer) where timer.name == "status_report":
            await notify(
                .report(report()), id: "report-\(timer.tradingDay)-\(timer.count)-\(delivery.producer.startedAtNs)",
                eventTime: delivery.eventTimeNs)
        case .session(let session):
            let day = Render.clean(session.tradingDay, limit: 32)
            core.values.withLock { $0.session = "\(session.phase) (\(day))" }
        default:
            break
        }
    }

    /// Counts (`rejected.<reason>`) and logs (rate-limited) a message dropped as implausible.
    func reject(_ reason: String, what: String) {
        environment.counters.add("rejected.\(reason)")
        if inputLog.shouldReport() { environment.logger.warning("dropped \(what): rejected.\(reason)") }
    }

    /// Counts and logs (rate-limited) an outbox read or write that failed.
    func outboxFailed(_ what: String, _ error: any Error, counter: String) {
        environment.counters.add(counter)
        environment.counters.addError()
        if outboxLog.shouldReport() { environment.logger.error("outbox \(outbox.path): \(what) failed: \(error)") }
    }

    /// Routes, throttles, rate-caps and stores one message.
    func notify(_ kind: MessageKind, id: String, eventTime: Int64, publishTime: Int64? = nil) async {
        let config = environment.config.notifications
        let priority = config.priorities[kind.priorityKey] ?? "normal"
        // Slack and Discord are webhooks as far as routing goes.
        func routeName(_ name: String) -> String { ["slack", "discord"].contains(name) ? "webhook" : name }
        let wanted = Set(config.routing[priority] ?? ["console"])
        let targets = channels.map(\.name).filter { priority == "high" || wanted.contains(routeName($0)) }
        guard !targets.isEmpty else { return }
        // Throttle: high priority never (the outbox key stops the same id twice); others per key
        // for throttle_period, 3× for low. A throttle counts from a confirmed send.
        if priority != "high" {
            let period = config.throttlePeriod * (priority == "low" ? 3 : 1)
            let key = kind.throttleKey
            var last: Date?
            do {
                last = try await outbox.lastSent(key: key)
            } catch {
                outboxFailed("reading a throttle time", error, counter: "outbox.read_failed")
            }
            let now = Date()
            let held = core.values.withLock { values -> Bool in
                if let pending = values.inFlight.peek(key), now.timeIntervalSince(pending) < period { return true }
                if let last, now.timeIntervalSince(last) < period { return true }
                values.inFlight.set(now, for: key)
                return false
            }
            if held {
                environment.counters.add("notifications.throttled")
                return
            }
        }
        // The rate cap per channel: throttle keys come from the bus, so many distinct ones
        // must not become as many messages.
        let now = ContinuousClock.now
        let admitted = core.values.withLock { values in targets.filter { values.rateCap.admit($0, at: now) } }
        for channel in targets where !admitted.contains(channel) {
            environment.counters.add("notifications.rate_capped.\(channel)")
        }
        guard !admitted.isEmpty else { return }
        var message = Render.message(kind, id: id, priority: priority, eventTime: eventTime)
        message.publishTimeNs = publishTime
        do {
            let added = try await outbox.enqueue(
                message, channels: admitted, throttleKey: priority == "high" ? nil : kind.throttleKey)
            let duplicates = admitted.filter { !added.contains($0) }
            if !duplicates.isEmpty { core.values.withLock { for channel in duplicates { $0.rateCap.refund(channel) } } }
            environment.counters.add("notifications.queued", UInt64(added.count))
        } catch {
            outboxFailed("storing \(message.id)", error, counter: "outbox.write_failed")
        }
    }

    // MARK: Out

    /// Delivers what is due for `channel`, with backoff per message and a circuit per channel.
    func deliverLoop(_ channel: any DeliveryChannel) async {
        var breaker: CircuitBreaker<ContinuousClock>? = CircuitBreaker(failureThreshold: 3, openDuration: .seconds(30))
        let delay = DeliveryDelay(channel: channel.name, service: environment.name, instance: environment.producer.instance)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await recordPendingOutcomes(of: channel.name)
            if case .reject(let wait)? = breaker?.decide(at: .now) {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: min(wait, .seconds(1))) }
                continue
            }
            let due = await dueDeliveries(channel.name, limit: 10)
            if due.isEmpty {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(200)) }
                continue
            }
            for item in due {
                if case .reject? = breaker?.decide(at: .now) { break }
                await attempt(item, on: channel, breaker: &breaker, delay: delay)
            }
        }
    }

    /// What is due for `channel`, less the deliveries whose outcome is not recorded yet
    /// (those are never attempted again); empty when the outbox cannot be read.
    func dueDeliveries(_ channel: String, limit: Int) async -> [Outbox.Delivery] {
        let due: [Outbox.Delivery]
        do {
            due = try await outbox.due(channel: channel, limit: limit)
        } catch {
            outboxFailed("reading what is due for \(channel)", error, counter: "outbox.read_failed")
            return []
        }
        return core.values.withLock { values in
            due.filter { values.unrecorded.peek(DeliveryKey(id: $0.id, channel: $0.channel)) == nil }
        }
    }

    func attempt(
        _ item: Outbox.Delivery, on channel: any DeliveryChannel, breaker: inout CircuitBreaker<ContinuousClock>?,
        delay: DeliveryDelay? = nil
    ) async {
        let config = environment.config.notifications
        do {
            try await channel.deliver(item.message)
        } catch {
            breaker?.recordFailure(at: .now)
            environment.counters.add("notifications.failed.\(channel.name)")
            let attempts = item.attempts + 1
            let permanent = error.isPermanent || attempts >= config.maxAttempts
            // attempts ≤ Outbox.maximumAttempts, so the power is finite; the minimum bounds it.
            let delay = min(config.retryInitialSeconds * pow(2, Double(min(attempts - 1, 64))), config.retryMaxSeconds)
            await record(
                .failed(
                    error: error.description, retryAt: permanent ? nil : Date().addingTimeInterval(delay), at: Date()),
                of: item)
            environment.logger.warning(
                "\(channel.name): \(item.id) attempt \(attempts) failed: \(error)\(permanent ? "; giving up" : String(format: "; retrying in %.0f s", delay))"
            )
            if case .open? = breaker?.state { await channelDown(channel.name, error: error.description) }
            return
        }
        await record(.sent(at: Date()), of: item)
        delay?.record(item.message, deliveredAtNs: WallClock.nanoseconds())
        if let key = item.throttleKey {
            do {
                try await outbox.recordSent(key: key)
            } catch {
                outboxFailed("recording the throttle time of \(key)", error, counter: "outbox.write_failed")
            }
            _ = core.values.withLock { $0.inFlight.remove(key) }
        }
        breaker?.recordSuccess()
        core.values.withLock { _ = $0.circuitAlerted.remove(channel.name) }
        environment.counters.add("notifications.sent.\(channel.name)")
        environment.counters.addOut()
    }

    /// Writes the outcome of a delivery to the outbox. When that fails (database busy, disk
    /// full) the outcome is kept in memory, so a delivered message is not sent again, and the
    /// write is retried by the channel's loop.
    func record(_ outcome: Outcome, of item: Outbox.Delivery) async {
        let key = DeliveryKey(id: item.id, channel: item.channel)
        do {
            try await write(outcome, key)
        } catch {
            outboxFailed(
                "recording the outcome of \(item.id) on \(item.channel)", error, counter: "outbox.record_failed")
            core.values.withLock { $0.unrecorded.set(outcome, for: key) }
        }
    }

    func write(_ outcome: Outcome, _ key: DeliveryKey) async throws {
        switch outcome {
        case .sent(let at):
            try await outbox.markSent(id: key.id, channel: key.channel, at: at)
        case .failed(let error, let retryAt, let at):
            try await outbox.markFailed(id: key.id, channel: key.channel, error: error, retryAt: retryAt, now: at)
        }
    }

    /// Retries the outbox writes that failed for `channel`'s deliveries; stops at the first
    /// that fails again.
    func recordPendingOutcomes(of channel: String) async {
        let pending = core.values.withLock { values in
            values.unrecorded.isEmpty ? [] : values.unrecorded.all.filter { $0.key.channel == channel }
        }
        for (key, outcome) in pending {
            do {
                try await write(outcome, key)
            } catch {
                return
            }
            core.values.withLock { _ = $0.unrecorded.remove(key) }
            environment.counters.add("outbox.record_retried")
        }
    }

    /// A dead channel raises one error alert, delivered on the working channels.
    func channelDown(_ name: String, error: String) async {
        let first = core.values.withLock { $0.circuitAlerted.insert(name).inserted }
        guard first else { return }
        var alert = Alert()
        alert.severity = .error
        alert.category = "notifier.channel_down"
        alert.title = "notification channel \(name) is failing"
        alert.message = "\(name): \(error); messages for it stay in the outbox and are retried"
        alert.service = environment.name
        environment.publish(.alert(alert), on: .alert(.error))
        let others = channels.filter { $0.name != name }.map(\.name)
        let message = Render.message(
            .alert(alert), id: "channel-down-\(name)-\(WallClock.nanoseconds())", priority: "normal",
            eventTime: WallClock.nanoseconds())
        do {
            try await outbox.enqueue(message, channels: others, throttleKey: nil)
        } catch {
            outboxFailed("storing \(message.id)", error, counter: "outbox.write_failed")
        }
    }

    // MARK: Heartbeats, the rate cap's summaries, pruning and the report

    /// Every second: reports services gone quiet and what the rate cap held back; every hour
    /// (and at start) prunes the outbox.
    /// Sets the pending gauge of every channel (0 when none waits).
    func publishPending() async {
        do {
            let counts = try await outbox.pendingByChannel()
            for channel in channels { pending.set(channel.name, Double(counts[channel.name] ?? 0)) }
            environment.counters.set("outbox.pending", UInt64(counts.values.reduce(0) { $0 + max(0, $1) }))
        } catch {
            outboxFailed("counting pending deliveries", error, counter: "outbox.read_failed")
        }
    }

    func maintain() async {
        let factor = environment.config.notifications.quietAfterIntervals
        var nextPrune = ContinuousClock.now + .seconds(3_600)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            let now = ContinuousClock.now
            let (quiet, summaries) = core.values.withLock { values in
                (values.watch.newlyQuiet(at: now, factor: factor), values.rateCap.summaries(at: now))
            }
            for (service, silent) in quiet {
                let seconds = silent.components.seconds
                environment.logger.warning("\(service) has gone quiet (\(seconds) s without a heartbeat)")
                await notify(
                    .serviceQuiet(service: service, seconds: Double(seconds)),
                    id: "quiet-\(service)-\(WallClock.nanoseconds())",
                    eventTime: WallClock.nanoseconds())
            }
            for (channel, held) in summaries { await summarise(held: held, on: channel) }
            let (heartbeats, throttleKeys, unrecorded) = core.values.withLock {
                ($0.watch.evictions, $0.inFlight.evictions, $0.unrecorded.evictions)
            }
            environment.counters.set("evicted.heartbeats", heartbeats)
            environment.counters.set("evicted.throttle_keys", throttleKeys)
            environment.counters.set("evicted.unrecorded", unrecorded)
            environment.counters.set("outbox.unreadable_rows", outbox.unreadableRows)
            await publishPending()
            if now >= nextPrune {
                await prune()
                nextPrune = now + .seconds(3_600)
            }
        }
    }

    /// Stores one message on `channel` saying how many messages the rate cap held back.
    func summarise(held: Int, on channel: String) async {
        let limit = environment.config.notifications.maxPerMinute
        environment.logger.warning(
            "\(channel): \(held) notification(s) held back in the last minute (max_per_minute \(limit))")
        let message = Render.rateCapSummary(
            channel: channel, held: held, limit: limit, eventTime: WallClock.nanoseconds())
        do {
            try await outbox.enqueue(message, channels: [channel], throttleKey: nil)
        } catch {
            outboxFailed("storing \(message.id)", error, counter: "outbox.write_failed")
        }
    }

    /// Deletes deliveries done or given up more than `retention_days` ago, and throttle times
    /// that hold nothing back any more.
    func prune() async {
        let config = environment.config.notifications
        let now = Date()
        do {
            let deleted = try await outbox.prune(
                deliveredBefore: now.addingTimeInterval(-config.retentionDays * 86_400),
                throttledBefore: now.addingTimeInterval(-config.throttlePeriod * 3))
            environment.counters.add("outbox.pruned", UInt64(clamping: deleted))
            if deleted > 0 {
                environment.logger.info("outbox: pruned \(deleted) deliveries older than \(config.retentionDays) days")
            }
        } catch {
            outboxFailed("pruning", error, counter: "outbox.write_failed")
        }
    }

    /// Services listed in the report, each of alive and quiet; the rest are counted.
    static let reportedServices = 50

    func report() -> String {
        core.values.withLock { values in
            let alive = values.watch.alive
            let quiet = values.watch.quiet
            func list(_ names: [String], none: String) -> String {
                guard !names.isEmpty else { return none }
                let shown = names.prefix(Self.reportedServices).joined(separator: ", ")
                return names.count > Self.reportedServices
                    ? "\(shown) and \(names.count - Self.reportedServices) more" : shown
            }
            return """
                services alive: \(list(alive, none: "none seen"))
                services quiet: \(list(quiet, none: "none"))
                signals since start: \(values.signalsSinceStart)
                errors since start: \(values.errorsSinceStart)
                session: \(values.session)
                """
        }
    }

    func describe(_ counts: [Outbox.State: Int]?) -> String {
        guard let counts else { return "unreadable" }
        return "\(counts[.pending] ?? 0) pending, \(counts[.sent] ?? 0) sent, \(counts[.failed] ?? 0) failed"
    }
}

/// `tickwire_notification_delay_seconds{channel}`: from the publish of the bus message a
/// notification reports (a signal, an alert) to its delivery by the channel, retries
/// included. The notifier's own messages carry no publish time and are not recorded.
struct DeliveryDelay: Sendable {
    let histogram: LatencyHistogram

    init(channel: String, service: String, instance: String) {
        histogram = LatencyHistogram(
            metric: "notification_delay", [("service", service), ("instance", instance), ("channel", channel)],
            help: "From the publish of the message a notification reports to its delivery, by channel.")
    }

    func record(_ message: OutgoingMessage, deliveredAtNs now: Int64) {
        guard let published = message.publishTimeNs else { return }
        histogram.record(fromNs: published, toNs: now)
    }
}
