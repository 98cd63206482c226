import ArgumentParser
import Foundation
import Logging
import OperatorKit
import ServiceKit
import ServiceLifecycle
import UnixSignals

/// The operator's tool.
@main
struct Tickwire: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tickwire",
        abstract: "Run and operate a Tickwire stack; train and score models.",
        subcommands: [Up.self, Train.self, Predict.self, BacktestCommand.self, History.self, Keys.self, ReplayCommand.self]
    )
}

/// `tickwire up`: the whole stack as local processes.
struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run bus-proxy and the config's stack.services as local processes until Ctrl-C.",
        discussion: "Output is prefixed with each service's name; a crashed service is restarted with backoff."
    )

    @Option(help: "Config file (JSON). Its stack.services says what runs besides bus-proxy.")
    var config: String?

    @Option(
        name: .customLong("bin-dir"),
        help: "Where the service executables are (default: next to tickwire, next to argv[0], then PATH).")
    var binDirectory: String?

    mutating func run() async throws {
        // A closed stdout or stderr (`tickwire up | head`) is then an error, not SIGPIPE.
        DescriptorWrite.ignoreBrokenPipes()
        let loaded: TickwireConfig
        do {
            loaded = try ConfigLoader().load(file: config).config
        } catch {
            _ = DescriptorWrite.all(Array("tickwire: \(error)\n".utf8), to: STDERR_FILENO)
            throw ExitCode(ServiceRuntime.configErrorExitCode)
        }
        let search = ExecutableSearch.forServices(
            binDirectory: binDirectory, executable: ExecutableSearch.runningExecutable(),
            argv0: CommandLine.arguments.first ?? "", path: ProcessInfo.processInfo.environment["PATH"])
        let processes: [SupervisedProcess]
        do {
            processes = try StackPlan.processes(config: loaded, configFile: config, search: search)
        } catch {
            _ = DescriptorWrite.all(Array("tickwire: \(error)\n".utf8), to: STDERR_FILENO)
            throw ExitCode(1)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let logger = Logger(label: "tickwire")
        if loaded.bus.security == .curve {
            // The first start creates the stack's keys; later starts find them.
            let store = KeyStore(directory: KeyStore.defaultDirectory(configured: loaded.bus.keysDirectory))
            do {
                let created = try store.generateMissing()
                if !created.isEmpty {
                    logger.notice("created bus keys for \(created.joined(separator: ", ")) in \(store.directory)")
                }
            } catch {
                _ = DescriptorWrite.all(Array("tickwire: bus keys: \(error)\n".utf8), to: STDERR_FILENO)
                throw ExitCode(ServiceRuntime.configErrorExitCode)
            }
        }
        logger.info("starting \(processes.map(\.name).joined(separator: ", ")); Ctrl-C stops everything")
        let supervisor = Supervisor(
            processes: processes, stopTimeout: .seconds(loaded.stack.stopTimeoutSeconds), logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: supervisor)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        logger.info("stack stopped")
    }
}
