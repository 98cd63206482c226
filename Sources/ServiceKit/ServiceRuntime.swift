import Bus
import Contracts
import Foundation
import Logging
import Observability
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Everything a service's parts get from the runtime: config, logger, the bus and counters.
public struct ServiceEnvironment: Sendable {
    public let name: String
    public let config: TickwireConfig
    public let logger: Logger
    public let context: Context
    public let publisher: MessagePublisher
    public let counters: ServiceCounters
    /// The process's bus security; `nil` when `bus.security` is `none`.
    public let security: BusSecurity?
    /// The ZAP handler of this process's server sockets, started by the first of them.
    let authentication = Authentication()
    /// What ``publish(_:on:eventTime:)`` sent per symbol (`tickwire_symbol_messages_total`).
    public let symbolMessages: SymbolMessageCounts
    public var producer: Producer { publisher.producer }

    public init(
        name: String, config: TickwireConfig, logger: Logger, context: Context, publisher: MessagePublisher,
        counters: ServiceCounters, security: BusSecurity? = nil
    ) {
        self.name = name
        self.config = config
        self.logger = logger
        self.context = context
        self.publisher = publisher
        self.counters = counters
        self.security = security
        symbolMessages = SymbolMessageCounts(service: name, instance: publisher.producer.instance)
    }

    /// Socket options from the `bus` config section (no security: see ``clientOptions(server:)``).
    public var socketOptions: SocketOptions { config.socketOptions }

    /// Options for a socket that connects to `server` (bus-proxy, or a request/reply
    /// endpoint's identity): CURVE as this process's identity when the bus is secured.
    public func clientOptions(server: String = "bus-proxy") throws(KeyError) -> SocketOptions {
        guard let security else { return socketOptions }
        return try security.clientOptions(socketOptions, server: server)
    }

    /// Options for a server socket that binds `endpoint` (bus-proxy's sides, a request/reply
    /// endpoint). With security, the ZAP handler that authenticates clients is started first;
    /// without it, binding beyond loopback is refused.
    public func serverOptions(binding endpoint: String) async throws -> SocketOptions {
        guard let security else {
            guard isLocalEndpoint(endpoint) else {
                throw ConfigError(
                    path: "bus.security",
                    message: "is \"none\": \(endpoint) would reach beyond this machine unauthenticated; bind a loopback "
                        + "address or turn security on (docs/security.md)")
            }
            return socketOptions
        }
        try await authentication.start(context: context, security: security)
        return security.serverOptions(socketOptions)
    }

    /// Publishes `payload` on `topic` and counts it as output.
    @discardableResult
    public func publish(_ payload: Envelope.OneOf_Payload, on topic: Topic, eventTime: Int64? = nil) -> PublishResult {
        let result = publisher.publish(payload, on: topic, eventTime: eventTime)
        switch result {
        case .queued:
            counters.addOut()
            symbolMessages.count(payload, on: topic)
        case .dropped: counters.add("publish.dropped")
        }
        return result
    }

    /// Publishes an alert on `alert.<severity>` and logs it.
    public func raiseAlert(
        _ severity: Severity,
        category: String,
        title: String,
        message: String,
        symbol: String = "",
        details: [String: String] = [:]
    ) {
        var alert = Alert()
        alert.severity = severity
        alert.category = category
        alert.title = title
        alert.message = message
        alert.service = name
        alert.symbol = symbol
        alert.details = details
        alert.dedupKey = "\(name).\(category).\(symbol)"
        publish(.alert(alert), on: .alert(severity))
        counters.add("alerts.\(severity.topicName)")
        let level: Logger.Level =
            switch severity {
            case .critical: .critical
            case .error: .error
            case .warning: .warning
            default: .info
            }
        logger.log(level: level, "alert \(category): \(title): \(message)")
    }

    /// Subscribes to `patterns` on the bus. Every message is validated against the config's
    /// ``TickwireConfig/envelopeLimits``; refused ones and sequence gaps are counted
    /// (`rejected.<reason>`, heartbeat counters) and logged, the first few of each and then
    /// one in a thousand.
    public func subscribe(_ patterns: [TopicPattern]) async throws -> MessageSubscription {
        var configuration = Subscription.Configuration()
        configuration.socket = try clientOptions()
        // bus-proxy enforces bus.max_message_bytes on what it accepts. libzmq cuts a connecting
        // socket off for good when it receives a larger message, so a subscriber allows more,
        // lest another process's larger setting leave it deaf.
        configuration.socket.maxMessageBytes = min(configuration.socket.maxMessageBytes, Int64.max / 4) * 4
        let counters = self.counters
        let logger = self.logger
        let reporter = LogThrottle()
        let gapAlerts = LogThrottle()
        let gapAlertThreshold = UInt64(max(0, config.journal.gapAlertMessages))
        let latency = DeliveryLatency(service: name, instance: producer.instance)
        return try await MessageSubscription(
            context: context,
            endpoint: config.bus.subscribeEndpoint,
            patterns: patterns,
            configuration: configuration,
            limits: config.envelopeLimits,
            onIssue: { issue in
                switch issue {
                case .rejected(let rejection):
                    counters.addError()
                    counters.add(rejection.reason.counterName)
                    if reporter.shouldReport() { logger.warning("rejected a bus message: \(rejection)") }
                case .gap(let stream, let missing):
                    counters.addGaps()
                    counters.add("gap.messages", missing)
                    if reporter.shouldReport() {
                        logger.warning(
                            "sequence gap: \(missing) message(s) missing on \(stream.topic) from \(stream.service)/\(stream.instance)")
                    }
                    if gapAlertThreshold > 0 && missing >= gapAlertThreshold && gapAlerts.shouldReport() {
                        self.raiseAlert(
                            .warning, category: "bus.gap", title: "sequence gap",
                            message: "\(missing) message(s) on \(stream.topic) from \(stream.service)/\(stream.instance) did not "
                                + "arrive (a subscriber or the proxy fell behind, or the producer dropped them); consumers that "
                                + "catch up fill it from the journal",
                            symbol: stream.topic.kind == "status" ? "" : stream.topic.key)
                    }
                case .duplicate(let stream, let sequence):
                    counters.add("sequence.duplicates")
                    if reporter.shouldReport() {
                        logger.notice("duplicate sequence \(sequence) on \(stream.topic) from \(stream.service)/\(stream.instance)")
                    }
                }
            },
            onDelivery: { delivery, now in latency.record(delivery, nowNs: now) }
        )
    }
}

/// Rate-limits repeated log lines: the first 20, then every 1000th.
public final class LogThrottle: Sendable {
    private let count = Mutex<UInt64>(0)

    public init() {}

    /// Whether this occurrence should be logged.
    public func shouldReport() -> Bool {
        let n = count.withLock { value -> UInt64 in
            value += 1
            return value
        }
        return n <= 20 || n % 1_000 == 0
    }
}

/// Runs a Tickwire service process.
public enum ServiceRuntime {
    /// Exit status for a bad configuration (sysexits' EX_CONFIG); `tickwire up` does not
    /// restart a service that exits with it.
    public static let configErrorExitCode: Int32 = 78

    /// Loads config (exiting with a clear message on a bad one), bootstraps logging, opens
    /// the bus, then runs `build`'s services with a heartbeat in a `ServiceGroup` until
    /// SIGTERM or SIGINT. Returns the process exit status.
    public static func run(
        service name: String,
        options: CommonOptions,
        build: (ServiceEnvironment) async throws -> [any Service]
    ) async -> Int32 {
        let loaded: (config: TickwireConfig, warnings: [String])
        do {
            loaded = try options.loadConfig()
        } catch {
            FileHandle.standardError.write(Data("\(name): \(error)\n".utf8))
            return configErrorExitCode
        }
        let config = loaded.config
        let sink: LogSink
        do {
            // Copies of one service (processors per ticker set) log to files of their own.
            sink = try LogSink(
                service: options.explicitInstance().map { "\(name)-\($0)" } ?? name, logging: config.logging)
        } catch {
            FileHandle.standardError.write(Data("\(name): \(error)\n".utf8))
            return configErrorExitCode
        }
        defer { sink.close() }
        let level = LogLevelName.parse(config.logging.level) ?? .info
        LoggingSystem.bootstrap { label in TickwireLogHandler(label: label, sink: sink, level: level) }
        var logger = Logger(label: name)
        logger[metadataKey: "instance"] = "\(options.instanceName())"
        for warning in loaded.warnings { logger.warning("\(warning)") }
        if options.apiKey != nil { logger.warning("\(CommonOptions.apiKeyWarning)") }
        if let file = options.configFile() { logger.info("config loaded from \(file)") }
        if let path = sink.filePath { logger.info("logging to \(path)") }

        do {
            let context = try Context()
            let environment: ServiceEnvironment
            do {
                environment = try await openEnvironment(
                    name: name, config: config, logger: logger, context: context, instance: options.instanceName())
            } catch let error as KeyError {
                logger.critical("\(name) cannot start: bus keys: \(error)")
                await context.terminate()
                return configErrorExitCode
            }
            sink.attach(environment.counters)
            let services: [any Service]
            do {
                services = try await build(environment)
            } catch {
                logger.critical("\(name) cannot start: \(error)")
                await environment.publisher.close()
                await context.terminate()
                return error is ConfigError ? configErrorExitCode : 1
            }
            var extra: [any Service] = []
            if let endpoint = options.metricsEndpoint(service: name, config: config) {
                extra.append(metricsServer(environment: environment, host: endpoint.host, port: endpoint.port))
            }
            try await runGroup(environment: environment, services: services + extra)
            logger.info("\(name) stopped")
            return 0
        } catch {
            logger.critical("\(name) failed: \(error)")
            // A setting found wrong only when a service used it (a bind that security forbids)
            // is still a config error: `tickwire up` must not restart into it.
            return error is ConfigError ? configErrorExitCode : 1
        }
    }

    /// The `/metrics`, `/health` and `/ready` server of `environment`'s service on `host:port`
    /// (``ServiceMetrics``, over the process's swift-metrics registry).
    public static func metricsServer(
        environment: ServiceEnvironment, host: String, port: Int, onBound: @escaping @Sendable (Int) -> Void = { _ in }
    ) -> MetricsServer {
        let publisher = environment.publisher
        let metrics = ServiceMetrics(
            service: environment.name, instance: environment.producer.instance, counters: environment.counters,
            registry: ServiceMetrics.processRegistry, publisherStatistics: { publisher.statistics })
        let counters = environment.counters
        return MetricsServer(
            configuration: .init(host: host, port: port), logger: environment.logger, scrape: metrics.scrape,
            health: metrics.health,
            onBound: { bound in
                environment.logger.info("metrics on http://\(host):\(bound)/metrics (also /health, /ready)")
                onBound(bound)
            },
            onFailure: { counters.add("metrics.bind_failed") })
    }

    /// Loads the bus security of `name` and connects the service's publisher. Shared by
    /// `run` and the tests.
    public static func openEnvironment(
        name: String, config: TickwireConfig, logger: Logger, context: Context, instance: String
    ) async throws -> ServiceEnvironment {
        let security = try BusSecurity.load(config: config, identity: name) { logger.notice("\($0)") }
        if security == nil {
            logger.warning(
                """
                bus.security is "none": the bus is neither authenticated nor encrypted; anyone who can reach it can \
                publish signals and alerts. Use this only on a trusted single machine (docs/security.md).
                """)
        }
        let options = try security?.clientOptions(config.socketOptions) ?? config.socketOptions
        let publisher = try await MessagePublisher(
            context: context,
            endpoint: config.bus.publishEndpoint,
            producer: Producer(service: name, instance: instance),
            options: options
        )
        return ServiceEnvironment(
            name: name, config: config, logger: logger, context: context, publisher: publisher,
            counters: ServiceCounters(), security: security)
    }

    /// Runs `services` with the heartbeat and the bus teardown in one group that stops
    /// gracefully on SIGTERM/SIGINT. The bus service is first, so it stops last: the
    /// publisher flushes and the context terminates after every other service returned.
    public static func runGroup(
        environment: ServiceEnvironment,
        services: [any Service],
        signals: [UnixSignal] = [.sigterm, .sigint]
    ) async throws {
        let all: [any Service] =
            [BusTeardownService(environment: environment), HeartbeatService(environment: environment)] + services
        var configuration = ServiceGroupConfiguration(
            services: all.map {
                .init(
                    service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: signals,
            logger: environment.logger
        )
        configuration.maximumGracefulShutdownDuration = .seconds(10)
        configuration.maximumCancellationDuration = .seconds(3)
        environment.counters.setState(.running)
        try await ServiceGroup(configuration: configuration).run()
    }
}

/// Waits for shutdown, then flushes the publisher and terminates the ZeroMQ context.
struct BusTeardownService: Service {
    let environment: ServiceEnvironment

    func run() async throws {
        try? await gracefulShutdown()
        await environment.publisher.close()
        await environment.authentication.close()
        await environment.context.terminate()
    }
}

/// A process's ZAP handler (``Authenticator``): started once, by the first server socket,
/// and closed with the bus after every service has stopped.
actor Authentication {
    private var starting: Task<Authenticator, any Error>?
    private var refusalLog = LogThrottle()

    func start(context: Context, security: BusSecurity) async throws {
        if let starting {
            _ = try await starting.value
            return
        }
        let task = Task { try await Authenticator(context: context) { security.identify(publicKey: $0) } }
        starting = task
        _ = try await task.value
    }

    /// Copies the handler's counters into `counters` and logs the clients it refused.
    func report(to counters: ServiceCounters, logger: Logger) async {
        guard let authenticator = try? await starting?.value else { return }
        let statistics = authenticator.statistics
        counters.set("auth.accepted", statistics.accepted)
        counters.set("auth.refused", statistics.refused)
        counters.set("auth.malformed", statistics.malformed)
        for refusal in authenticator.takeRefusals() where refusalLog.shouldReport() {
            logger.warning("refused a bus client from \(refusal.address): key \(refusal.key) is not in the allow-list")
        }
        if let failure = authenticator.failure {
            logger.critical("the ZAP handler stopped (\(failure)); no new client can connect")
        }
    }

    func close() async {
        guard let authenticator = try? await starting?.value else { return }
        await authenticator.close()
    }
}

/// Publishes `status.<service>` every `heartbeat.interval_seconds`, and once more, as
/// stopping, on shutdown.
public struct HeartbeatService: Service {
    let environment: ServiceEnvironment
    let started = ContinuousClock.now

    public init(environment: ServiceEnvironment) { self.environment = environment }

    public func run() async throws {
        let interval = Duration.seconds(environment.config.heartbeat.intervalSeconds)
        let topic = try Topic.status(environment.name)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await environment.authentication.report(to: environment.counters, logger: environment.logger)
            publish(on: topic)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        environment.counters.setState(.stopping)
        publish(on: topic)
    }

    func publish(on topic: Topic) {
        let snapshot = environment.counters.snapshot
        var status = ServiceStatus()
        status.service = environment.name
        status.instance = environment.producer.instance
        status.state = snapshot.state
        status.uptimeSeconds = (ContinuousClock.now - started).inSeconds
        status.messagesIn = snapshot.messagesIn
        status.messagesOut = snapshot.messagesOut
        status.sequenceGaps = snapshot.sequenceGaps
        status.errors = snapshot.errors
        status.counters = snapshot.named
        let publisher = environment.publisher.statistics
        status.counters["bus.sent"] = publisher.sent
        status.counters["bus.dropped"] = publisher.dropped
        status.counters["bus.dropped_hwm"] = publisher.droppedAtHighWaterMark
        if let resident = ProcessUsage.residentBytes() { status.counters["process.rss_bytes"] = resident }
        status.version = TickwireVersion.current
        status.intervalSeconds = environment.config.heartbeat.intervalSeconds
        environment.publisher.publish(.status(status), on: topic)
    }
}

/// The release version reported in heartbeats.
public enum TickwireVersion {
    public static let current = "0.1.0"
}

/// What this process uses, read from /proc (Linux); `nil` where it cannot be read.
public enum ProcessUsage {
    /// Resident memory in bytes (`/proc/self/statm`'s second field times the page size).
    public static func residentBytes() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = UInt64(fields[1]) else { return nil }
        let pageSize = UInt64(max(0, sysconf(Int32(_SC_PAGESIZE))))
        return pages.multipliedReportingOverflow(by: pageSize).partialValue
    }
}
