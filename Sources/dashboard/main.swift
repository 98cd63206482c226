import ArgumentParser
import Dashboard
import ServiceKit

/// The live dashboard: a page in the browser with every ticker, signal, model, service and
/// alert, live signal quality, prediction drift and the notifier's outbox.
@main
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Serve a live page of tickers, signals with every model's vote, model weights and live accuracy, signal quality (reliability curve, Brier score), prediction drift (PSI), the notifier's outbox, service health and recent alerts."
    )

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("http-host"), help: "Address to serve the page on (default: dashboard.host, 127.0.0.1). Env: TICKWIRE_DASHBOARD_HOST.")
    var httpHost: String?

    @Option(name: .customLong("http-port"), help: "Port to serve the page on, 0 for any free one (default: dashboard.port, 8700). Env: TICKWIRE_DASHBOARD_PORT.")
    var httpPort: Int?

    func validate() throws {
        if let httpPort, !(0...65_535).contains(httpPort) { throw ValidationError("--http-port must be from 0 to 65535") }
        if let httpHost, httpHost.isEmpty { throw ValidationError("--http-host must not be empty") }
    }

    mutating func run() async throws {
        let host = httpHost, port = httpPort
        let status = await ServiceRuntime.run(service: "dashboard", options: common) { environment in
            let configuration = DashboardService.Configuration(
                host: host ?? environment.config.dashboard.host, port: port ?? environment.config.dashboard.port)
            return [DashboardService(environment: environment, configuration: configuration)]
        }
        if status != 0 { throw ExitCode(status) }
    }
}
