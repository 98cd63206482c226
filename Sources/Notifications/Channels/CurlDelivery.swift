import Curl

/// The channels' transfers on the package's libcurl wrapper (`Curl`): each on a thread of its
/// own (``CurlTransfer``, never Swift's cooperative pool), so an SMTP server slow to answer
/// QUIT holds up no other delivery. Cancelling the delivering task aborts its transfer from
/// libcurl's progress callback (within about a second) with `.cancelled`.
enum CurlDelivery {
    /// At most this much of a response body is kept (enough for an error text or Telegram's
    /// `retry_after`); the rest is read and dropped.
    static let maxBodyBytes = 64 << 10

    /// A request with the channels' settings: `timeouts`, the notifier's user agent, the
    /// first 64 KiB of the body, no compression offered, `caFile` trusted instead of the
    /// system's bundle.
    static func request(url: String, protocols: String, timeouts: ChannelTimeouts, caFile: String?) -> CurlRequest {
        CurlRequest(
            url: url, protocols: protocols, connectTimeout: timeouts.connect, timeout: timeouts.total,
            userAgent: "tickwire-notifier", acceptEncoding: nil, bodyLimit: .truncate(after: maxBodyBytes),
            caFile: caFile)
    }

    static func perform(_ request: CurlRequest) async throws(CurlError) -> CurlResponse {
        try await CurlTransfer.perform(request)
    }
}

extension CurlError {
    /// The failure as a ``ChannelError`` of `channel`, with `secrets` removed from the text.
    /// For SMTP (`smtp: true`) a reply code ≥ 400 becomes `.rejected(code)`: 4xx transient,
    /// 5xx permanent (530/534/535 are `.auth`).
    func channelError(channel: String, secrets: [String], smtp: Bool) -> ChannelError {
        let text = message.redacting(secrets) + (code.map { " (curl \($0))" } ?? "")
        func error(_ kind: ChannelError.Kind, permanent: Bool? = nil) -> ChannelError {
            ChannelError(kind, channel: channel, message: text, isPermanent: permanent)
        }
        switch kind {
        case .cancelled: return error(.cancelled)
        case .timeout: return error(.timeout)
        case .unreachable: return error(.unreachable)
        case .auth: return error(.auth)
        case .invalidRequest, .certificateFile, .initFailed: return error(.config)
        case .tls: return error(.tls)
        case .tooLarge, .transport: break
        }
        if smtp, let reply = smtpReplyCode, reply >= 400 {
            if [530, 534, 535].contains(reply) { return error(.auth) }
            return error(.rejected(code: reply), permanent: reply >= 500)
        }
        return error(.transport)
    }

    /// The SMTP reply code: libcurl's last response code, else the number in a message such
    /// as "RCPT failed: 550".
    private var smtpReplyCode: Int? {
        if responseCode >= 400 { return responseCode }
        let digits = message.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        return digits.first { (400...599).contains($0) }
    }
}
