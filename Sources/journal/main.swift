import ArgumentParser
import Journal
import ServiceKit

/// Records the bus and answers catch-up requests.
@main
struct JournalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Record every bus frame (SQLite per day, or PostgreSQL) and answer catch-up requests on journal.bind."
    )

    @OptionGroup var common: CommonOptions

    mutating func run() async throws {
        let status = await ServiceRuntime.run(service: "journal", options: common) { environment in
            let store = try await JournalService.openStore(environment.config.journal, logger: environment.logger)
            return [JournalService(environment: environment, store: store)]
        }
        if status != 0 { throw ExitCode(status) }
    }
}
