import Foundation
import ServiceKit
import TestSupport
import Testing

/// The `notifications` settings: every number finite and bounded, every name known, the
/// secrets accepted as keys. A bad value is a ConfigError naming its JSON path.
@Suite("Notifier settings")
struct NotifierConfigTests {
    func load(_ json: String) throws -> (config: TickwireConfig, warnings: [String]) {
        let directory = try TemporaryDirectory("notifier-config")
        let file = try directory.write("config.json", json)
        return try ConfigLoader(environment: [:]).load(file: file)
    }

    @Test(
        "an out-of-range or unknown value names its path",
        arguments: [
            (#"{"notifications": {"throttle_period": -1}}"#, "notifications.throttle_period"),
            (#"{"notifications": {"throttle_period": 1e300}}"#, "notifications.throttle_period"),
            (#"{"notifications": {"retry_initial_seconds": 0}}"#, "notifications.retry_initial_seconds"),
            (#"{"notifications": {"retry_initial_seconds": 1e300}}"#, "notifications.retry_initial_seconds"),
            (#"{"notifications": {"retry_max_seconds": 1e300}}"#, "notifications.retry_max_seconds"),
            (
                #"{"notifications": {"retry_initial_seconds": 60, "retry_max_seconds": 10}}"#,
                "notifications.retry_max_seconds"
            ),
            (#"{"notifications": {"max_attempts": 0}}"#, "notifications.max_attempts"),
            (#"{"notifications": {"max_attempts": 100000000}}"#, "notifications.max_attempts"),
            (#"{"notifications": {"timeout_seconds": 0}}"#, "notifications.timeout_seconds"),
            (#"{"notifications": {"timeout_seconds": 1e300}}"#, "notifications.timeout_seconds"),
            (#"{"notifications": {"quiet_after_intervals": 0}}"#, "notifications.quiet_after_intervals"),
            (#"{"notifications": {"quiet_after_intervals": 1e300}}"#, "notifications.quiet_after_intervals"),
            (#"{"notifications": {"retention_days": 0}}"#, "notifications.retention_days"),
            (#"{"notifications": {"retention_days": 1e9}}"#, "notifications.retention_days"),
            (#"{"notifications": {"max_per_minute": 0}}"#, "notifications.max_per_minute"),
            (#"{"notifications": {"max_per_minute": 1000000}}"#, "notifications.max_per_minute"),
            (#"{"notifications": {"priorities": {"signal": "urgent"}}}"#, "notifications.priorities.signal"),
            (#"{"notifications": {"priorities": {"signals": "high"}}}"#, "notifications.priorities.signals"),
            (#"{"notifications": {"routing": {"urgent": ["email"]}}}"#, "notifications.routing.urgent"),
            (#"{"notifications": {"routing": {"high": ["email", "pager"]}}}"#, "notifications.routing.high[1]"),
            (#"{"notifications": {"email": {"security": "ssl"}}}"#, "notifications.email.security"),
            (#"{"notifications": {"email": {"smtp_port": 70000}}}"#, "notifications.email.smtp_port"),
            (#"{"notifications": {"webhook": {"format": "teams"}}}"#, "notifications.webhook.format"),
            (
                #"{"notifications": {"sms": {"to": [\#(Array(repeating: "\"+1555\"", count: 21).joined(separator: ","))]}}}"#,
                "notifications.sms.to"
            ),
            (
                #"{"notification_recipients": [\#(Array(repeating: "\"a@example.com\"", count: 101).joined(separator: ","))]}"#,
                "notification_recipients"
            ),
        ])
    func invalid(json: String, path: String) throws {
        let error = #expect(throws: ConfigError.self) { _ = try load(json) }
        #expect(error?.path == path, "\(String(describing: error))")
    }

    @Test("the largest allowed values load, and the defaults are valid")
    func bounds() throws {
        let config = try load(
            #"""
            {"notifications": {"throttle_period": 604800, "retry_initial_seconds": 3600, "retry_max_seconds": 86400,
             "max_attempts": 1000, "timeout_seconds": 600, "quiet_after_intervals": 1000, "retention_days": 3650,
             "max_per_minute": 10000}}
            """#
        ).config
        #expect(config.notifications.retentionDays == 3650 && config.notifications.maxPerMinute == 10_000)
        let defaults = try load("{}").config.notifications
        #expect(defaults.retentionDays == 7 && defaults.maxPerMinute == 30)
    }

    @Test("the webhook secret, Telegram bot token and Twilio auth token are known keys")
    func secretKeys() throws {
        let loaded = try load(
            #"""
            {"notifications": {"webhook": {"secret": "hook-secret"}, "telegram": {"bot_token": "123:abc"},
             "sms": {"auth_token": "twilio-token"}}}
            """#)
        let config = loaded.config
        let warnings = loaded.warnings.joined(separator: "; ")
        #expect(warnings == "")
        #expect(config.notifications.webhook.secret?.value == "hook-secret")
        #expect(config.notifications.telegram.botToken?.value == "123:abc")
        #expect(config.notifications.sms.authToken?.value == "twilio-token")
    }
}
