import Logging

/// Writes each message to a logger: the default when no other channel is configured. High
/// priority logs at `.warning`, the rest at `.notice`. Never fails.
public struct ConsoleChannel: DeliveryChannel {
    public var name: String { "console" }
    private let logger: Logger

    public init(logger: Logger = Logger(label: "tickwire.notifier.console")) {
        self.logger = logger
    }

    public func deliver(_ message: OutgoingMessage) async throws(ChannelError) {
        let level: Logger.Level = message.priority == "high" ? .warning : .notice
        logger.log(
            level: level, "\(message.subject)\n\(message.text)",
            metadata: ["message_id": "\(message.id)", "priority": "\(message.priority)"])
    }
}
