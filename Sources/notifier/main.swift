import ArgumentParser
import Foundation
import Notifications
import ServiceKit

/// Delivers signals, alerts and status reports by email, SMS, webhooks and Telegram.
@main
struct Notifier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notifier",
        abstract: "Deliver signal.*, alert.* and status reports through the configured channels, from a durable outbox."
    )

    @OptionGroup var common: CommonOptions

    mutating func run() async throws {
        let status = await ServiceRuntime.run(service: "notifier", options: common) { environment in
            let config = environment.config.notifications
            let outbox: Outbox
            do {
                outbox = try Outbox(
                    path: (config.dataDirectory as NSString).appendingPathComponent("notifier-outbox.sqlite"))
            } catch {
                // A restart cannot mend a damaged or read-only file: exit 78, naming the setting and the file.
                throw ConfigError(path: "notifications.data_directory", message: "\(error)")
            }
            let channels = try ChannelFactory.channels(config: environment.config, logger: environment.logger)
            return [NotifierService(environment: environment, outbox: outbox, channels: channels)]
        }
        if status != 0 { throw ExitCode(status) }
    }
}
