import Curl
import Foundation

/// An HTTP POST through libcurl, with the channels' status rules: 2xx delivered; 401/403
/// `.auth`; 429, 408 and 5xx transient `.rejected`; other statuses permanent `.rejected`.
struct HTTPDelivery: Sendable {
    var channel: String
    var timeouts: ChannelTimeouts
    var caFile: String?
    /// Removed from every error message (tokens, passwords, secret URLs).
    var secrets: [String]

    func post(
        url: String, contentType: String, body: [UInt8], headers: [String] = [],
        basicAuth: (username: String, password: String)? = nil
    ) async throws(ChannelError) -> CurlResponse {
        try checkCAFile(caFile, channel: channel)
        var request = CurlDelivery.request(url: url, protocols: "http,https", timeouts: timeouts, caFile: caFile)
        // No "Expect: 100-continue" round trip.
        request.headers = ["Content-Type: \(contentType)", "Expect:"] + headers
        request.postBody = body
        if let basicAuth {
            request.username = basicAuth.username
            request.password = basicAuth.password
            request.basicAuth = true
        }
        let response: CurlResponse
        do {
            response = try await CurlDelivery.perform(request)
        } catch {
            throw error.channelError(channel: channel, secrets: secrets, smtp: false)
        }
        if (200...299).contains(response.status) { return response }
        throw statusError(response)
    }

    func statusError(_ response: CurlResponse) -> ChannelError {
        let status = response.status
        var snippet = response.text.replacingOccurrences(of: "\n", with: " ")
        if snippet.count > 300 { snippet = String(snippet.prefix(300)) + "…" }
        let message = "HTTP \(status)\(snippet.isEmpty ? "" : ": " + snippet)".redacting(secrets)
        let kind: ChannelError.Kind = status == 401 || status == 403 ? .auth : .rejected(code: status)
        return ChannelError(kind, channel: channel, message: message, retryAfter: Self.retryAfter(response))
    }

    /// `Retry-After` in seconds (the HTTP-date form is ignored), or Telegram's
    /// `parameters.retry_after`.
    static func retryAfter(_ response: CurlResponse) -> Duration? {
        if let value = response.headers["retry-after"], let seconds = Int(value.trimmingCharacters(in: .whitespaces)),
            seconds >= 0
        {
            return .seconds(seconds)
        }
        if let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            let parameters = object["parameters"] as? [String: Any], let seconds = parameters["retry_after"] as? Int
        {
            return .seconds(seconds)
        }
        return nil
    }
}

/// Throws `.config` when a CA file is named but cannot be read.
func checkCAFile(_ path: String?, channel: String) throws(ChannelError) {
    guard let path else { return }
    guard FileManager.default.isReadableFile(atPath: path) else {
        throw ChannelError(.config, channel: channel, message: "the CA file \(path) is missing or unreadable")
    }
}

/// Throws `.config` unless `url` is an absolute http(s) URL with a host.
func checkHTTPURL(_ url: String, channel: String, what: String) throws(ChannelError) {
    guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
        scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
    else {
        throw ChannelError(.config, channel: channel, message: "the \(what) is not an http(s) URL")
    }
}

/// JSON bytes of `value` with sorted keys and unescaped slashes.
func encodeJSON<T: Encodable>(_ value: T, channel: String) throws(ChannelError) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    do {
        return Array(try encoder.encode(value))
    } catch {
        throw ChannelError(.config, channel: channel, message: "could not encode the JSON body: \(error)")
    }
}

/// `text` cut to at most `limit` UTF-16 code units (what most APIs count), ending in "…" when cut.
func truncated(_ text: String, limit: Int) -> String {
    guard text.utf16.count > limit else { return text }
    var result = ""
    var used = 0
    for character in text {
        let size = character.utf16.count
        if used + size > limit - 1 { break }
        result.append(character)
        used += size
    }
    return result + "…"
}
