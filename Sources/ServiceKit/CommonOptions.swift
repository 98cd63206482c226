import ArgumentParser
import Foundation

/// The flags every Tickwire service takes; the first five are the seed's.
public struct CommonOptions: ParsableArguments, Sendable {
    @Option(help: "Config file (JSON). The seed's live_trading_config.json is accepted as is. Env: TICKWIRE_CONFIG.")
    public var config: String?

    @Option(name: .customLong("api-key"), help: "API key for the data provider (overrides config).")
    public var apiKey: String?

    @Option(help: "Data provider name (overrides config).")
    public var provider: String?

    @Option(help: "Comma-separated tickers (overrides config).")
    public var tickers: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    public var logLevel: String?

    @Option(name: .customLong("log-format"), help: "Log line format: text or json.")
    public var logFormat: String?

    @Option(name: .customLong("log-dir"), help: "Directory for log files; '' disables the file.")
    public var logDir: String?

    @Option(name: .customLong("publish-endpoint"), help: "Where publishers connect (bus-proxy's XSUB side).")
    public var publishEndpoint: String?

    @Option(name: .customLong("subscribe-endpoint"), help: "Where subscribers connect (bus-proxy's XPUB side).")
    public var subscribeEndpoint: String?

    @Option(name: .customLong("provider-url"), help: "Endpoint of the provider (REST base URL or WebSocket URL), e.g. a local server.")
    public var providerUrl: String?

    @Option(help: "Instance name, unique among running copies of a service. Env: TICKWIRE_INSTANCE.")
    public var instance: String?

    @Option(
        name: .customLong("metrics-port"),
        help: "Serve /metrics, /health and /ready on exactly this port (0: off; default: metrics.port plus the service's offset).")
    public var metricsPort: Int?

    public init() {}

    public func validate() throws {
        if let metricsPort, !(0...65_535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be from 0 (off) to 65535")
        }
    }

    /// Said when `--api-key` is used: a command line is visible to every user of the machine.
    public static let apiKeyWarning = """
        --api-key puts the key on the command line, where every user of this machine can read it (ps, \
        /proc); set TICKWIRE_API_KEY, or "api_key": "${file:/path/to/key}" in the config file, instead
        """

    /// The command-line layer of the config.
    public var overrides: ConfigOverrides {
        var overrides = ConfigOverrides()
        overrides.provider = provider
        overrides.apiKey = apiKey
        overrides.tickers = tickers.map { text in
            text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        overrides.logLevel = logLevel
        overrides.logFormat = logFormat
        overrides.logDirectory = logDir
        overrides.publishEndpoint = publishEndpoint
        overrides.subscribeEndpoint = subscribeEndpoint
        overrides.providerUrl = providerUrl
        return overrides
    }

    /// The config file named by `--config` or `TICKWIRE_CONFIG`, if any.
    public func configFile(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let config { return config }
        if let fromEnvironment = environment["TICKWIRE_CONFIG"], !fromEnvironment.isEmpty { return fromEnvironment }
        return nil
    }

    /// Loads config with every layer applied.
    public func loadConfig(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> (config: TickwireConfig, warnings: [String]) {
        try ConfigLoader(environment: environment).load(file: configFile(environment: environment), overrides: overrides)
    }

    /// Where `service` serves metrics: `--metrics-port` exactly, else `metrics.port` plus the
    /// service's offset; nil when off (port 0).
    public func metricsEndpoint(service: String, config: TickwireConfig) -> (host: String, port: Int)? {
        if let metricsPort {
            return (1...65_535).contains(metricsPort) ? (config.metrics.host, metricsPort) : nil
        }
        guard config.metrics.port > 0 else { return nil }
        return (config.metrics.host, config.metrics.port + TickwireConfig.Metrics.offset(of: service))
    }

    /// The instance name when one was given (`--instance` or `TICKWIRE_INSTANCE`).
    public func explicitInstance(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let instance, !instance.isEmpty { return instance }
        if let fromEnvironment = environment["TICKWIRE_INSTANCE"], !fromEnvironment.isEmpty { return fromEnvironment }
        return nil
    }

    /// The instance name: `--instance`, `TICKWIRE_INSTANCE`, or the process id.
    public func instanceName(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let instance, !instance.isEmpty { return instance }
        if let fromEnvironment = environment["TICKWIRE_INSTANCE"], !fromEnvironment.isEmpty { return fromEnvironment }
        return String(ProcessInfo.processInfo.processIdentifier)
    }
}
