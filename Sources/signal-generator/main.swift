import ArgumentParser
import ServiceKit
import Signals

/// Runs the model ensemble on features.<SYMBOL> and publishes signal.<SYMBOL>.
@main
struct SignalGenerator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signal-generator",
        abstract: "Publish BUY / SELL / HOLD signals from the trained models (models.directory) on signal.<SYMBOL>."
    )

    @OptionGroup var common: CommonOptions

    mutating func run() async throws {
        let status = await ServiceRuntime.run(service: "signal-generator", options: common) { environment in
            let models = environment.config.models
            return [try SignalService(environment: environment) {
                try ModelDirectory.load(models.directory, horizon: models.horizon, deadZone: models.deadZone)
            }]
        }
        if status != 0 { throw ExitCode(status) }
    }
}
