import Foundation
import Synchronization

/// Settings of a ``TwilioSMSChannel``.
public struct TwilioSettings: Sendable, Equatable {
    public var accountSID: String
    public var authToken: ChannelSecret
    /// The sending number (E.164, e.g. `+15005550006`).
    public var from: String
    /// Every number to text (E.164); one request each.
    public var to: [String]
    /// `https://api.twilio.com`; tests point it at a local server.
    public var baseURL: String
    public var caFile: String?
    /// `total` bounds the whole delivery, all numbers together.
    public var timeouts: ChannelTimeouts

    public init(
        accountSID: String, authToken: ChannelSecret, from: String, to: [String],
        baseURL: String = "https://api.twilio.com", caFile: String? = nil, timeouts: ChannelTimeouts = ChannelTimeouts()
    ) {
        self.accountSID = accountSID
        self.authToken = authToken
        self.from = from
        self.to = to
        self.baseURL = baseURL
        self.caFile = caFile
        self.timeouts = timeouts
    }
}

/// Texts the subject and the first line of the body (at most 1600 characters) to every
/// number through Twilio's Messages API (`POST …/2010-04-01/Accounts/{sid}/Messages.json`,
/// form fields `To`, `From`, `Body`, HTTP Basic `sid:token`).
///
/// Numbers are texted one after another within one total deadline. When some fail, the error
/// says how many; the channel remembers (for the last 512 message ids) which numbers already
/// got a message, so a retry of the same ``OutgoingMessage/id`` texts only the others. The
/// error is transient when any failure is, so a retry happens.
public final class TwilioSMSChannel: DeliveryChannel {
    public static let bodyLimit = 1600
    private static let memory = 512

    public let settings: TwilioSettings
    public var name: String { "sms" }

    private struct Delivered {
        var order: [String] = []
        var numbers: [String: Set<String>] = [:]
    }
    private let delivered = Mutex(Delivered())

    public init(settings: TwilioSettings) {
        self.settings = settings
    }

    /// The text sent for `message`: the subject, then the first non-empty line of the body.
    public static func smsBody(_ message: OutgoingMessage) -> String {
        let subject = message.subject.split(whereSeparator: \.isNewline).joined(separator: " ")
        let firstLine = message.text.split(whereSeparator: \.isNewline).first {
            !$0.trimmingCharacters(in: .whitespaces).isEmpty
        }.map(String.init)
        let text = [subject, firstLine ?? ""].filter { !$0.isEmpty }.joined(separator: "\n")
        return truncated(text, limit: bodyLimit)
    }

    public func deliver(_ message: OutgoingMessage) async throws(ChannelError) {
        let settings = self.settings
        try checkHTTPURL(settings.baseURL, channel: name, what: "Twilio base URL")
        guard !settings.accountSID.isEmpty,
            settings.accountSID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
        else { throw ChannelError(.config, channel: name, message: "the Twilio account SID is empty or malformed") }
        guard !settings.from.isEmpty, !settings.to.isEmpty else {
            throw ChannelError(.config, channel: name, message: "no sending number or no recipients configured")
        }
        var base = settings.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        let url = "\(base)/2010-04-01/Accounts/\(settings.accountSID)/Messages.json"
        let text = Self.smsBody(message)

        let clock = ContinuousClock()
        let deadline = clock.now + settings.timeouts.total
        var failures: [ChannelError] = []
        let pending = settings.to.filter { !alreadyDelivered(message.id, to: $0) }
        for number in pending {
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .milliseconds(1) else {
                failures.append(ChannelError(.timeout, channel: name, message: "the delivery deadline passed"))
                break
            }
            if Task.isCancelled {
                failures.append(ChannelError(.cancelled, channel: name, message: "the delivery was cancelled"))
                break
            }
            let timeouts = ChannelTimeouts(connect: min(settings.timeouts.connect, remaining), total: remaining)
            let http = HTTPDelivery(
                channel: name, timeouts: timeouts, caFile: settings.caFile, secrets: [settings.authToken.value])
            let form = Self.formEncoded([("To", number), ("From", settings.from), ("Body", text)])
            do {
                _ = try await http.post(
                    url: url, contentType: "application/x-www-form-urlencoded", body: Array(form.utf8),
                    basicAuth: (settings.accountSID, settings.authToken.value))
                remember(message.id, to: number)
            } catch {
                failures.append(error)
            }
        }
        guard let first = failures.first else { return }
        let chosen = failures.first { !$0.isPermanent } ?? first
        guard pending.count > 1 else { throw chosen }
        var combined = chosen
        combined.message = "\(failures.count) of \(pending.count) numbers failed; first: \(chosen.message)"
        throw combined
    }

    /// `application/x-www-form-urlencoded` (RFC 3986 unreserved characters kept, the rest %XX).
    static func formEncoded(_ fields: [(String, String)]) -> String {
        fields.map { "\(percentEncoded($0.0))=\(percentEncoded($0.1))" }.joined(separator: "&")
    }

    static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                result += byte < 16 ? "%0" + hex : "%" + hex
            }
        }
        return result
    }

    private func alreadyDelivered(_ id: String, to number: String) -> Bool {
        delivered.withLock { $0.numbers[id]?.contains(number) ?? false }
    }

    private func remember(_ id: String, to number: String) {
        delivered.withLock { state in
            if state.numbers[id] == nil {
                state.order.append(id)
                if state.order.count > Self.memory { state.numbers[state.order.removeFirst()] = nil }
            }
            state.numbers[id, default: []].insert(number)
        }
    }
}
