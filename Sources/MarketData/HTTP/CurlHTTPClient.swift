import Curl

/// The REST providers' ``HTTPClient``: GETs on the package's libcurl wrapper (`Curl`), which
/// never blocks Swift's cooperative thread pool.
///
/// Each client owns a ``CurlClient`` (one thread driving a curl multi handle; transfers run
/// concurrently). Cancelling the calling task aborts the transfer at once with `.cancelled`.
/// The timeout bounds both the connect phase and the whole request, only `http` and `https`
/// are allowed and no redirect is followed.
public final class CurlHTTPClient: HTTPClient {
    private let curl: CurlClient
    private let userAgent: String
    private let maxBodyBytes: Int

    /// - Parameters:
    ///   - userAgent: sent as `User-Agent`.
    ///   - maxBodyBytes: a larger body fails the request with `.tooLarge`.
    public init(userAgent: String = "tickwire", maxBodyBytes: Int = 16 << 20) {
        curl = CurlClient()
        self.userAgent = userAgent
        self.maxBodyBytes = maxBodyBytes
    }

    public func get(_ url: String, timeout: Duration) async throws(HTTPError) -> HTTPResponse {
        let request = CurlRequest(
            url: url, protocols: "http,https", connectTimeout: timeout, timeout: timeout, userAgent: userAgent,
            acceptEncoding: "", bodyLimit: .fail(above: maxBodyBytes))
        do {
            let response = try await curl.perform(request)
            return HTTPResponse(status: response.status, body: response.body, headers: response.headers)
        } catch {
            throw HTTPError(error, url: url)
        }
    }
}

extension HTTPError {
    /// A ``CurlError`` for `url` as the providers see it; the URL and the text go through
    /// ``URLRedaction`` (secret query values too) on the way.
    init(_ error: CurlError, url: String) {
        let kind: Kind
        switch error.kind {
        case .timeout: kind = .timeout
        case .unreachable: kind = .unreachable
        case .cancelled: kind = .cancelled
        case .tooLarge: kind = .tooLarge
        case .invalidRequest: kind = .invalidRequest
        case .certificateFile, .initFailed, .auth, .tls, .transport: kind = .transport
        }
        self.init(kind, url: url, message: error.message, curlCode: error.kind == .cancelled ? nil : error.code)
    }
}
