import Foundation
import ServiceKit

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
