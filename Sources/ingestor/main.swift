import ArgumentParser
import MarketData
import ServiceKit

/// Reads market data from one provider and publishes it on the bus.
@main
struct Ingestor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingestor",
        abstract: "Publish market data from one provider as tick.<SYMBOL> and bar.<SYMBOL> messages."
    )

    @OptionGroup var common: CommonOptions

    mutating func run() async throws {
        let status = await ServiceRuntime.run(service: "ingestor", options: common) { environment in
            try IngestorBuilder.build(environment)
        }
        if status != 0 { throw ExitCode(status) }
    }
}
