import Foundation

/// One libcurl transfer: an HTTP GET or POST, or an SMTP send.
public struct CurlRequest: Sendable, Equatable {
    /// What to do with a response body larger than a limit.
    public enum BodyLimit: Sendable, Equatable {
        /// Fail the transfer with ``CurlError/Kind-swift.enum/tooLarge``.
        case fail(above: Int)
        /// Keep the first bytes, drop the rest, and let the transfer finish.
        case truncate(after: Int)
    }

    public var url: String
    /// `CURLOPT_PROTOCOLS_STR`, e.g. `"http,https"` or `"smtp,smtps"`.
    public var protocols: String
    /// Bounds the connect phase (`CURLOPT_CONNECTTIMEOUT_MS`).
    public var connectTimeout: Duration
    /// Bounds the whole transfer (`CURLOPT_TIMEOUT_MS`).
    public var timeout: Duration
    public var userAgent: String
    /// `CURLOPT_ACCEPT_ENCODING`: `""` offers every encoding libcurl decodes; nil sends none.
    public var acceptEncoding: String?
    public var bodyLimit: BodyLimit
    /// A PEM bundle to trust instead of the system's (`CURLOPT_CAINFO`).
    public var caFile: String?
    /// `CURLOPT_USERNAME` / `CURLOPT_PASSWORD` (SMTP AUTH, or HTTP Basic with `basicAuth`).
    public var username: String?
    public var password: String?
    public var basicAuth = false
    /// Extra request headers (HTTP), `"Name: value"`.
    public var headers: [String] = []
    /// An HTTP POST body (copied into libcurl). Without a body and an upload, the request is a GET.
    public var postBody: [UInt8]?
    /// SMTP: the message (`CURLOPT_UPLOAD` and a read callback), the envelope sender and recipients.
    public var upload: [UInt8]?
    public var mailFrom: String?
    public var mailRecipients: [String] = []
    /// SMTP STARTTLS: `CURLOPT_USE_SSL = CURLUSESSL_ALL` (fail when the server offers no TLS).
    public var requireTLS = false
    /// More values to remove from error texts (besides the password and the URL's user info).
    public var secrets: [String] = []

    public init(
        url: String, protocols: String = "http,https", connectTimeout: Duration, timeout: Duration,
        userAgent: String = "tickwire", acceptEncoding: String? = nil, bodyLimit: BodyLimit = .fail(above: 16 << 20),
        caFile: String? = nil
    ) {
        self.url = url
        self.protocols = protocols
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.userAgent = userAgent
        self.acceptEncoding = acceptEncoding
        self.bodyLimit = bodyLimit
        self.caFile = caFile
    }

    /// The values error texts must not show: the password, the URL's password (raw and
    /// percent-decoded) and ``secrets``.
    var secretValues: [String] {
        var values = secrets
        if let password { values.append(password) }
        values += CurlRedaction.userInfoSecrets(in: url)
        return values.filter { !$0.isEmpty }
    }
}

/// The answer to a transfer, whatever its status: an HTTP 500 is a response, not an error.
public struct CurlResponse: Sendable, Equatable {
    /// The HTTP status, or the last SMTP reply code.
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

    /// The body as UTF-8 (invalid bytes replaced).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A transfer that got no response. The URL's user info and every secret of the request are
/// replaced by `<redacted>` in ``url`` and ``message``.
public struct CurlError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The transfer or connect timeout ran out (`CURLE_OPERATION_TIMEDOUT`).
        case timeout
        /// No connection: refused, host or proxy not found.
        case unreachable
        /// The calling task was cancelled (or the client shut down); the transfer was aborted.
        case cancelled
        /// The response body was larger than ``CurlRequest/BodyLimit/fail(above:)``.
        case tooLarge = "too_large"
        /// The URL, protocol or an option was rejected before anything was sent.
        case invalidRequest = "invalid_request"
        /// The CA file or client certificate could not be used.
        case certificateFile = "certificate_file"
        /// libcurl could not be initialised, or a handle not created.
        case initFailed = "init_failed"
        /// The server refused the login (`CURLE_LOGIN_DENIED`, `CURLE_AUTH_ERROR`).
        case auth
        /// The peer's certificate did not verify, or TLS was required and not offered.
        case tls
        /// Anything else on the way: a dropped connection, a bad reply, an SMTP refusal.
        case transport
    }

    public var kind: Kind
    /// The URL with its user info replaced by `<redacted>`.
    public var url: String
    /// What went wrong, in libcurl's words (its error buffer, else `curl_easy_strerror`).
    public var message: String
    /// libcurl's `CURLcode`, when libcurl reported the failure.
    public var code: Int?
    /// The last HTTP status or SMTP reply code seen, 0 if none.
    public var responseCode: Int

    public init(_ kind: Kind, url: String, message: String, code: Int? = nil, responseCode: Int = 0, secrets: [String] = []) {
        self.kind = kind
        self.url = CurlRedaction.redactUserInfo(url)
        self.message = CurlRedaction.scrub(message, secrets: secrets + CurlRedaction.userInfoSecrets(in: url))
        self.code = code
        self.responseCode = responseCode
    }

    public var description: String {
        var text = "\(url) failed (\(kind.rawValue)): \(message)"
        if let code { text += " [curl \(code)]" }
        return text
    }
}

/// Keeps credentials out of error texts.
public enum CurlRedaction {
    public static let placeholder = "<redacted>"

    /// `url` with any `user:password@` (or `user@`) replaced by `<redacted>@`.
    public static func redactUserInfo(_ url: String) -> String {
        guard let (userInfo, _) = userInfoRange(in: url) else { return url }
        var result = url
        result.replaceSubrange(userInfo, with: placeholder)
        return result
    }

    /// The password in `url`'s user info, raw and percent-decoded; empty when there is none.
    public static func userInfoSecrets(in url: String) -> [String] {
        guard let (range, _) = userInfoRange(in: url) else { return [] }
        let userInfo = url[range]
        guard let colon = userInfo.firstIndex(of: ":") else { return [] }
        let password = String(userInfo[userInfo.index(after: colon)...])
        var values = [password]
        if let decoded = password.removingPercentEncoding, decoded != password { values.append(decoded) }
        return values.filter { !$0.isEmpty }
    }

    /// `text` with every one of `secrets` replaced by `<redacted>`, longest first (so a secret
    /// that contains another is replaced whole), however short.
    public static func scrub(_ text: String, secrets: [String]) -> String {
        var result = text
        for secret in Set(secrets).sorted(by: { $0.count > $1.count }) where !secret.isEmpty {
            result = result.replacing(secret, with: placeholder)
        }
        return result
    }

    /// The user info of `scheme://userinfo@host…` and the authority it is in.
    private static func userInfoRange(in url: String) -> (Range<String.Index>, Range<String.Index>)? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let start = schemeEnd.upperBound
        let end = url[start...].firstIndex(where: { "/?#".contains($0) }) ?? url.endIndex
        guard let at = url[start..<end].lastIndex(of: "@") else { return nil }
        return (start..<at, start..<end)
    }
}
