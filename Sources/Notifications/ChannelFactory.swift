import Foundation
import Logging
import ServiceKit
import Timekeeping

/// The channels the config enables, console always among them (the default when nothing else
/// is configured).
public enum ChannelFactory {
    public static func channels(config: TickwireConfig, logger: Logger) throws(ConfigError) -> [any DeliveryChannel] {
        let settings = config.notifications
        let timeouts = ChannelTimeouts(
            connect: Nanoseconds.duration(seconds: min(10, settings.timeoutSeconds)),
            total: Nanoseconds.duration(seconds: settings.timeoutSeconds))
        var channels: [any DeliveryChannel] = [ConsoleChannel(logger: logger)]
        guard settings.enabled else { return channels }
        if settings.email.enabled {
            let email = settings.email
            guard !email.smtpServer.isEmpty, !email.fromEmail.isEmpty, !config.notificationRecipients.isEmpty else {
                throw ConfigError(
                    path: "notifications.email",
                    message: "email needs smtp_server, from_email and notification_recipients")
            }
            guard let security = EmailSettings.Security(rawValue: email.security) else {
                throw ConfigError(path: "notifications.email.security", message: "must be starttls, tls or none")
            }
            channels.append(EmailChannel(settings: EmailSettings(
                server: email.smtpServer, port: email.smtpPort, security: security, username: email.username,
                password: ChannelSecret(email.password?.value ?? ""), from: email.fromEmail,
                recipients: config.notificationRecipients,
                caFile: email.caFile.isEmpty ? nil : email.caFile, timeouts: timeouts)))
        }
        if settings.sms.enabled {
            let sms = settings.sms
            guard !sms.accountSid.isEmpty, let token = sms.authToken, !sms.from.isEmpty, !sms.to.isEmpty else {
                throw ConfigError(path: "notifications.sms", message: "sms needs account_sid, auth_token, from and to")
            }
            channels.append(TwilioSMSChannel(settings: TwilioSettings(
                accountSID: sms.accountSid, authToken: ChannelSecret(token.value), from: sms.from, to: sms.to,
                baseURL: sms.baseUrl, timeouts: timeouts)))
        }
        if settings.webhook.enabled {
            let webhook = settings.webhook
            guard !webhook.url.isEmpty else { throw ConfigError(path: "notifications.webhook.url", message: "is empty") }
            guard let format = WebhookSettings.Format(rawValue: webhook.format) else {
                throw ConfigError(path: "notifications.webhook.format", message: "must be json, slack or discord")
            }
            channels.append(WebhookChannel(settings: WebhookSettings(
                url: ChannelSecret(webhook.url), format: format, secret: webhook.secret.map { ChannelSecret($0.value) },
                timeouts: timeouts)))
        }
        if settings.telegram.enabled {
            let telegram = settings.telegram
            guard let token = telegram.botToken, !telegram.chatId.isEmpty else {
                throw ConfigError(path: "notifications.telegram", message: "telegram needs bot_token and chat_id")
            }
            channels.append(TelegramChannel(settings: TelegramSettings(
                botToken: ChannelSecret(token.value), chatID: telegram.chatId, baseURL: telegram.baseUrl, timeouts: timeouts)))
        }
        return channels
    }
}
