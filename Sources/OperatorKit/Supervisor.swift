import Foundation
import Logging
import ServiceKit
import ServiceLifecycle
import Synchronization

/// One process the supervisor keeps running.
public struct SupervisedProcess: Sendable, Equatable {
    public var name: String
    public var executable: String
    public var arguments: [String]
    /// Restart it (with backoff) when it exits on its own.
    public var restart: Bool

    public init(name: String, executable: String, arguments: [String], restart: Bool) {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.restart = restart
    }
}

/// `tickwire up`: runs processes, prefixes their output with their name, restarts crashed
/// ones with exponential backoff, and on graceful shutdown stops them all (SIGTERM, then
/// SIGKILL after `stopTimeout`), in reverse start order.
public final class Supervisor: Service, Sendable {
    private struct Child {
        var process: Process?
        var restarts = 0
        var startedAt = ContinuousClock.now
    }

    private struct State {
        var children: [String: Child] = [:]
        var stopping = false
    }

    let processes: [SupervisedProcess]
    let stopTimeout: Duration
    let logger: Logger
    let restartPolicy: RetryPolicy
    private let state = Mutex(State())
    private let output = Mutex(())

    public init(processes: [SupervisedProcess], stopTimeout: Duration, logger: Logger) {
        self.processes = processes
        self.stopTimeout = stopTimeout
        self.logger = logger
        restartPolicy = RetryPolicy(maxRetries: .max, initialDelay: .seconds(1), multiplier: 2, maximumDelay: .seconds(30))
    }

    public func run() async throws {
        for (index, process) in processes.enumerated() {
            start(process)
            // Give the first process (bus-proxy) a moment to bind before the others connect.
            if index == 0 { try? await Task.sleep(for: .milliseconds(300)) }
        }
        try? await gracefulShutdown()
        await stopAll()
    }

    /// Writes lines to standard output with a `name |` prefix, one line at a time.
    func emit(_ name: String, _ text: String) {
        let width = processes.map(\.name.count).max() ?? name.count
        let prefix = name.padding(toLength: width, withPad: " ", startingAt: 0) + " | "
        var data = Data()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            data.append(contentsOf: Array((prefix + line + "\n").utf8))
        }
        // write(2), not FileHandle.write: a closed stdout (`tickwire up | head`) must not trap.
        output.withLock { _ in _ = DescriptorWrite.all(Array(data), to: STDOUT_FILENO) }
    }

    private func start(_ spec: SupervisedProcess) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: spec.executable)
        process.arguments = spec.arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        // A dedicated thread per child blocks in read(2) until EOF; libdispatch's readability
        // sources were seen to crash under heavy fd churn on Linux.
        let reader = pipe.fileHandleForReading
        let thread = Thread { [weak self] in
            var pending = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                guard let last = pending.lastIndex(of: 0x0A) else { continue }
                let lines = pending[..<pending.index(after: last)]
                self?.emit(spec.name, String(decoding: lines, as: UTF8.self))
                pending.removeSubrange(..<pending.index(after: last))
            }
            if !pending.isEmpty { self?.emit(spec.name, String(decoding: pending, as: UTF8.self)) }
        }
        thread.name = "output-\(spec.name)"
        process.terminationHandler = { [weak self] finished in
            self?.exited(spec, status: finished.terminationStatus, reason: finished.terminationReason)
        }
        do {
            try process.run()
            thread.start()
            state.withLock { state in
                var child = state.children[spec.name] ?? Child()
                child.process = process
                child.startedAt = .now
                state.children[spec.name] = child
            }
            logger.info("started \(spec.name) (pid \(process.processIdentifier))")
        } catch {
            logger.error("cannot start \(spec.name) from \(spec.executable): \(error)")
            exited(spec, status: 127, reason: .exit)
        }
    }

    private func exited(_ spec: SupervisedProcess, status: Int32, reason: Process.TerminationReason) {
        let how = reason == .uncaughtSignal ? "was killed by signal \(status)" : "exited with status \(status)"
        let decision = state.withLock { state -> (restart: Bool, attempt: Int) in
            guard !state.stopping else { return (false, 0) }
            var child = state.children[spec.name] ?? Child()
            child.process = nil
            // A process that ran for a minute counts as healthy: its backoff starts over.
            if ContinuousClock.now - child.startedAt > .seconds(60) { child.restarts = 0 }
            child.restarts += 1
            state.children[spec.name] = child
            return (true, child.restarts)
        }
        guard decision.restart else { return }
        if !spec.restart || (reason == .exit && status == 0) {
            logger.info("\(spec.name) \(how)")
            return
        }
        if reason == .exit && status == ServiceRuntime.configErrorExitCode {
            logger.error("\(spec.name) \(how): its configuration is invalid, so it is not restarted")
            return
        }
        let delay = restartPolicy.delay(beforeRetry: decision.attempt, unit: Double.random(in: 0..<1))
        logger.warning("\(spec.name) \(how); restarting in \(String(format: "%.1f", delay.inSeconds)) s")
        Task { [weak self] in
            try? await Task.sleep(for: delay)
            guard let self, !self.state.withLock({ $0.stopping }) else { return }
            self.start(spec)
        }
    }

    /// Stops every child: SIGTERM in reverse start order, SIGKILL for any still running
    /// after `stopTimeout`.
    func stopAll() async {
        let running = state.withLock { state -> [(String, Process)] in
            state.stopping = true
            return processes.reversed().compactMap { spec in
                state.children[spec.name]?.process.map { (spec.name, $0) }
            }
        }
        for (name, process) in running where process.isRunning {
            logger.info("stopping \(name)")
            process.terminate()
        }
        let deadline = ContinuousClock.now + stopTimeout
        while running.contains(where: { $0.1.isRunning }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        for (name, process) in running where process.isRunning {
            logger.warning("\(name) did not stop in time; killing it")
            kill(process.processIdentifier, SIGKILL)
        }
    }
}

/// Turns a config's `stack` into the processes `tickwire up` runs: bus-proxy first.
public enum StackPlan {
    /// The processes, each executable found through `search`; throws for the first missing.
    public static func processes(
        config: TickwireConfig, configFile: String?, search: ExecutableSearch
    ) throws(ExecutableSearch.NotFound) -> [SupervisedProcess] {
        let configArguments = configFile.map { ["--config", $0] } ?? []
        var metricsPorts = MetricsPorts(base: config.metrics.port)
        var processes = [
            SupervisedProcess(
                name: "bus-proxy", executable: try search.locate("bus-proxy"),
                arguments: configArguments + metricsPorts.arguments(service: "bus-proxy", args: []), restart: true)
        ]
        let services = config.stack.services.filter { $0.name != "bus-proxy" }
        var copies: [String: Int] = [:]
        for service in services { copies[service.name, default: 0] += 1 }
        var seen: [String: Int] = [:]
        for service in services {
            // Several copies of one executable (processors per ticker set) get distinct names:
            // `processor/p1` from `--instance p1`, else `processor/2`.
            seen[service.name, default: 0] += 1
            var name = service.name
            if copies[service.name, default: 0] > 1 {
                if let flag = service.args.firstIndex(of: "--instance"), flag + 1 < service.args.count {
                    name += "/" + service.args[flag + 1]
                } else {
                    name += "/\(seen[service.name, default: 0])"
                }
            }
            processes.append(
                SupervisedProcess(
                    name: name,
                    executable: try search.locate(service.name),
                    arguments: (service.passConfig ? configArguments : []) + service.args
                        + metricsPorts.arguments(service: service.name, args: service.args),
                    restart: service.restart))
        }
        return processes
    }

    /// Gives each Tickwire service of the stack its own metrics port: the first copy of a
    /// service `metrics.port` plus its offset, further copies (processors per ticker set)
    /// `metrics.port` + 10, + 11, …. Nothing when metrics are off, for executables that are
    /// not Tickwire services, or when a service's args already name `--metrics-port`.
    struct MetricsPorts {
        let base: Int
        var started: Set<String> = []
        var extraCopies = 0

        init(base: Int) { self.base = base }

        mutating func arguments(service: String, args: [String]) -> [String] {
            guard base > 0, TickwireConfig.Metrics.offsets[service] != nil,
                !args.contains(where: { $0 == "--metrics-port" || $0.hasPrefix("--metrics-port=") })
            else { return [] }
            let port: Int
            if started.insert(service).inserted {
                port = base + TickwireConfig.Metrics.offset(of: service)
            } else {
                port = base + 10 + extraCopies
                extraCopies += 1
            }
            return port <= 65_535 ? ["--metrics-port", String(port)] : []
        }
    }
}
