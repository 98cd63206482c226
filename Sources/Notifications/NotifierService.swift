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
    let core = Core()

    final class Core: Sendable {
        struct Values {
            /// Throttle keys enqueued but not yet confirmed, so repeats are held back meanwhile.
            var inFlight: [String: Date] = [:]
            /// Last heartbeat per service/instance, its interval, and whether it was reported quiet.
            var heartbeats: [String: (at: ContinuousClock.Instant, interval: Double, quiet: Bool)] = [:]
            var signalsSinceStart = 0
            var errorsSinceStart = 0
            var session = "unknown"
            var circuitAlerted: Set<String> = []
        }
        let values = Mutex(Values())
    }

    public init(environment: ServiceEnvironment, outbox: Outbox, channels: [any DeliveryChannel]) {
        self.environment = environment
        self.outbox = outbox
        self.channels = channels
    }

    public func run() async throws {
        let config = environment.config.notifications
        let counts = try? await outbox.counts()
        environment.logger.info(
            "notifier: channels \(channels.map(\.name).joined(separator: ", ")); outbox \(outbox.path) (\(describe(counts)))")
        await notify(.started, id: "started-\(environment.producer.startedAtNs)", eventTime: WallClock.nanoseconds())
        let subscription = try await environment.subscribe([
            TopicPattern(prefix: "signal."), TopicPattern(prefix: "alert."), TopicPattern(prefix: "status."),
            TopicPattern(exact: try Topic.timer("status_report")), TopicPattern(exact: .marketSession),
        ])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for channel in channels {
                group.addTask { await deliverLoop(channel) }
            }
            group.addTask { await watchHeartbeats() }
            group.addTask {
                for try await delivery in subscription.cancelOnGracefulShutdown() { await handle(delivery) }
            }
            while let _ = try await group.next() {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
            }
            group.cancelAll()
        }
        await subscription.close()
        // "Stopped" is stored first, so it is never lost: sent now if the channels answer within
        // a few seconds, else on the next start.
        await notify(.stopped, id: "stopped-\(environment.producer.startedAtNs)", eventTime: WallClock.nanoseconds())
        let deadline = ContinuousClock.now + .seconds(min(config.timeoutSeconds, 5))
        for channel in channels {
            while ContinuousClock.now < deadline, let due = try? await outbox.due(channel: channel.name), !due.isEmpty {
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
            guard signal.action != .hold || environment.config.notifications.notifyHold else { return }
            await notify(.signal(signal), id: signal.id.isEmpty ? "signal-\(signal.symbol)-\(delivery.eventTimeNs)" : signal.id, eventTime: delivery.eventTimeNs)
        case .alert(let alert):
            // The notifier's own alerts were already routed to the working channels directly.
            guard delivery.producer.service != environment.name else { return }
            if alert.severity.rawValue >= Severity.error.rawValue { core.values.withLock { $0.errorsSinceStart += 1 } }
            let id = "alert-\(delivery.producer.service)-\(delivery.producer.startedAtNs)-\(delivery.sequence)"
            await notify(.alert(alert), id: id, eventTime: delivery.eventTimeNs)
        case .status(let status):
            let key = "\(status.service)/\(status.instance)"
            if status.state == .stopping {
                // A service that says it is stopping is not "gone quiet" when it goes.
                core.values.withLock { _ = $0.heartbeats.removeValue(forKey: key) }
                return
            }
            let cameBack = core.values.withLock { values -> Bool in
                let wasQuiet = values.heartbeats[key]?.quiet ?? false
                values.heartbeats[key] = (.now, max(status.intervalSeconds, 0.5), false)
                return wasQuiet
            }
            if cameBack { environment.logger.info("\(key) is back") }
        case .timer(let timer) where timer.name == "status_report":
            await notify(.report(report()), id: "report-\(timer.tradingDay)-\(timer.count)-\(delivery.producer.startedAtNs)", eventTime: delivery.eventTimeNs)
        case .session(let session):
            core.values.withLock { $0.session = "\(session.phase) (\(session.tradingDay))" }
        default:
            break
        }
    }

    /// Routes, throttles and stores one message.
    func notify(_ kind: MessageKind, id: String, eventTime: Int64) async {
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
            let last = try? await outbox.lastSent(key: key)
            let held = core.values.withLock { values -> Bool in
                if let pending = values.inFlight[key], Date().timeIntervalSince(pending) < period { return true }
                return false
            }
            if held || (last.map { Date().timeIntervalSince($0) < period } ?? false) {
                environment.counters.add("notifications.throttled")
                return
            }
            core.values.withLock { $0.inFlight[key] = Date() }
        }
        let message = Render.message(kind, id: id, priority: priority, eventTime: eventTime)
        do {
            let added = try await outbox.enqueue(message, channels: targets, throttleKey: priority == "high" ? nil : kind.throttleKey)
            environment.counters.add("notifications.queued", UInt64(added.count))
        } catch {
            environment.counters.addError()
            environment.logger.error("outbox: cannot store \(id): \(error)")
        }
    }

    // MARK: Out

    /// Delivers what is due for `channel`, with backoff per message and a circuit per channel.
    func deliverLoop(_ channel: any DeliveryChannel) async {
        var breaker: CircuitBreaker<ContinuousClock>? = CircuitBreaker(failureThreshold: 3, openDuration: .seconds(30))
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if case .reject(let wait)? = breaker?.decide(at: .now) {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: min(wait, .seconds(1))) }
                continue
            }
            let due = (try? await outbox.due(channel: channel.name, limit: 10)) ?? []
            if due.isEmpty {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(200)) }
                continue
            }
            for item in due {
                if case .reject? = breaker?.decide(at: .now) { break }
                await attempt(item, on: channel, breaker: &breaker)
            }
        }
    }

    func attempt(_ item: Outbox.Delivery, on channel: any DeliveryChannel, breaker: inout CircuitBreaker<ContinuousClock>?) async {
        let config = environment.config.notifications
        do {
            try await channel.deliver(item.message)
            try? await outbox.markSent(item)
            if let key = item.throttleKey {
                try? await outbox.recordSent(key: key)
                _ = core.values.withLock { $0.inFlight.removeValue(forKey: key) }
            }
            breaker?.recordSuccess()
            core.values.withLock { _ = $0.circuitAlerted.remove(channel.name) }
            environment.counters.add("notifications.sent.\(channel.name)")
            environment.counters.addOut()
        } catch {
            breaker?.recordFailure(at: .now)
            environment.counters.add("notifications.failed.\(channel.name)")
            let attempts = item.attempts + 1
            let permanent = error.isPermanent || attempts >= config.maxAttempts
            let delay = min(config.retryInitialSeconds * pow(2, Double(attempts - 1)), config.retryMaxSeconds)
            try? await outbox.markFailed(item, error: error.description, retryAt: permanent ? nil : Date().addingTimeInterval(delay))
            environment.logger.warning(
                "\(channel.name): \(item.id) attempt \(attempts) failed: \(error)\(permanent ? "; giving up" : String(format: "; retrying in %.0f s", delay))")
            if case .open? = breaker?.state { await channelDown(channel.name, error: error.description) }
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
        let message = Render.message(.alert(alert), id: "channel-down-\(name)-\(Int(Date().timeIntervalSince1970))", priority: "normal", eventTime: WallClock.nanoseconds())
        _ = try? await outbox.enqueue(message, channels: others, throttleKey: nil)
    }

    // MARK: Heartbeats and the report

    func watchHeartbeats() async {
        let factor = environment.config.notifications.quietAfterIntervals
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            let quiet = core.values.withLock { values -> [(String, Double)] in
                var quiet: [(String, Double)] = []
                for (key, beat) in values.heartbeats where !beat.quiet {
                    let silent = ContinuousClock.now - beat.at
                    if silent > .seconds(beat.interval * factor) {
                        values.heartbeats[key]?.quiet = true
                        quiet.append((key, Double(silent.components.seconds)))
                    }
                }
                return quiet
            }
            for (service, seconds) in quiet {
                environment.logger.warning("\(service) has gone quiet (\(Int(seconds)) s without a heartbeat)")
                await notify(.serviceQuiet(service: service, seconds: seconds), id: "quiet-\(service)-\(Int(Date().timeIntervalSince1970))", eventTime: WallClock.nanoseconds())
            }
        }
    }

    func report() -> String {
        core.values.withLock { values in
            let alive = values.heartbeats.filter { !$0.value.quiet }.keys.sorted()
            let quiet = values.heartbeats.filter { $0.value.quiet }.keys.sorted()
            return """
                services alive: \(alive.isEmpty ? "none seen" : alive.joined(separator: ", "))
                services quiet: \(quiet.isEmpty ? "none" : quiet.joined(separator: ", "))
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
