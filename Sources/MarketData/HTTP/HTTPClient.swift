import Foundation

/// The answer to an HTTP request, whatever its status: a 500 is a response, not an error.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var body: [UInt8]
    /// Headers of the final response, names lowercased; a repeated header's values joined
    /// with ", ".
    public var headers: [String: String]

    public init(status: Int, body: [UInt8], headers: [String: String] = [:]) {
        self.status = status
        self.body = body
        self.headers = headers
    }
}

/// A request that got no HTTP response. Names the URL with its secrets redacted (see
/// ``URLRedaction``) and the transport's own error text; never carries a secret.
public struct HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The request or connect timeout ran out.
        case timeout
        /// No connection: refused, host not found, no route.
        case unreachable
        /// The calling task was cancelled (or the client shut down); the transfer was aborted.
        case cancelled
        /// The response body was larger than the client accepts.
        case tooLarge = "too_large"
        /// The URL or an option was rejected before anything was sent.
        case invalidRequest = "invalid_request"
        /// Anything else on the way: TLS, a dropped connection, a bad HTTP reply.
        case transport
    }

    public var kind: Kind
    /// The URL with secret query values and user info replaced by `<redacted>`.
    public var url: String
    /// What went wrong, in the transport's words (libcurl's error text).
    public var message: String
    /// libcurl's `CURLcode`, when libcurl reported the failure.
    public var curlCode: Int?

    public init(_ kind: Kind, url: String, message: String, curlCode: Int? = nil) {
        self.kind = kind
        self.url = URLRedaction.redact(url)
        self.message = URLRedaction.scrub(message, secretsOf: url)
        self.curlCode = curlCode
    }

    public var description: String {
        var text = "GET \(url) failed (\(kind.rawValue)): \(message)"
        if let curlCode { text += " [curl \(curlCode)]" }
        return text
    }
}

/// Something that can GET a URL without blocking the calling thread.
public protocol HTTPClient: Sendable {
    /// Fetches `url`. Fails with ``HTTPError`` when there is no HTTP response within
    /// `timeout` (connect included) or when the task is cancelled (kind `.cancelled`).
    func get(_ url: String, timeout: Duration) async throws(HTTPError) -> HTTPResponse
}

/// Keeps secrets out of logs and errors: query parameters that carry credentials and the
/// user info of a URL are replaced by `<redacted>`.
public enum URLRedaction {
    /// Query parameter names (compared case-insensitively) whose values are secrets.
    public static let secretParameters: Set<String> = [
        "apikey", "api_key", "key", "token", "access_token", "secret", "password", "passwd", "signature",
    ]

    public static let placeholder = "<redacted>"

    /// `url` with the values of ``secretParameters`` and any `user:password@` replaced.
    public static func redact(_ url: String) -> String {
        var result = url
        // User info: scheme://user:pass@host/…
        if let schemeEnd = result.range(of: "://") {
            let authorityStart = schemeEnd.upperBound
            let authorityEnd = result[authorityStart...].firstIndex(where: { "/?#".contains($0) }) ?? result.endIndex
            if let at = result[authorityStart..<authorityEnd].lastIndex(of: "@") {
                result.replaceSubrange(authorityStart..<at, with: placeholder)
            }
        }
        guard let queryStart = result.firstIndex(of: "?") else { return result }
        let fragmentStart = result[queryStart...].firstIndex(of: "#") ?? result.endIndex
        let query = result[result.index(after: queryStart)..<fragmentStart]
        let redacted = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            guard let equals = pair.firstIndex(of: "=") else { return String(pair) }
            let name = pair[..<equals]
            guard secretParameters.contains(name.lowercased()) else { return String(pair) }
            return "\(name)=\(placeholder)"
        }.joined(separator: "&")
        result.replaceSubrange(result.index(after: queryStart)..<fragmentStart, with: redacted)
        return result
    }

    /// The secret values in `url` (raw and percent-decoded), to scrub from texts that might
    /// echo them.
    public static func secrets(in url: String) -> [String] {
        var values: [String] = []
        if let schemeEnd = url.range(of: "://") {
            let authorityStart = schemeEnd.upperBound
            let authorityEnd = url[authorityStart...].firstIndex(where: { "/?#".contains($0) }) ?? url.endIndex
            if let at = url[authorityStart..<authorityEnd].lastIndex(of: "@") {
                let userInfo = url[authorityStart..<at]
                if let colon = userInfo.firstIndex(of: ":") {
                    values.append(String(userInfo[userInfo.index(after: colon)...]))
                }
            }
        }
        if let queryStart = url.firstIndex(of: "?") {
            let fragmentStart = url[queryStart...].firstIndex(of: "#") ?? url.endIndex
            for pair in url[url.index(after: queryStart)..<fragmentStart].split(separator: "&") {
                guard let equals = pair.firstIndex(of: "=") else { continue }
                guard secretParameters.contains(pair[..<equals].lowercased()) else { continue }
                let value = String(pair[pair.index(after: equals)...])
                values.append(value)
                if let decoded = value.replacingOccurrences(of: "+", with: " ").removingPercentEncodingIfValid,
                    decoded != value
                {
                    values.append(decoded)
                }
            }
        }
        return values.filter { !$0.isEmpty }
    }

    /// `text` with every secret of `url` replaced by `<redacted>`.
    public static func scrub(_ text: String, secretsOf url: String) -> String {
        scrub(text, secrets: secrets(in: url))
    }

    /// `text` with every one of `secrets` replaced by `<redacted>`.
    public static func scrub(_ text: String, secrets: [String]) -> String {
        var result = text
        // Longest first, so a secret that contains another is replaced whole.
        for secret in secrets.sorted(by: { $0.count > $1.count }) where !secret.isEmpty {
            result = result.replacingOccurrences(of: secret, with: placeholder)
        }
        return result
    }
}

extension String {
    /// Percent-decoded, or nil when the escapes are not valid UTF-8.
    fileprivate var removingPercentEncodingIfValid: String? {
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
