import CCurl
import Foundation

/// One transfer: its easy handle, the lists and buffers libcurl reads from, and what the
/// callbacks collect. Used only on the owner thread of a ``CurlClient``; libcurl's callbacks
/// reach it through `Unmanaged` (the client's table keeps it alive until the handle is
/// removed).
final class Transfer {
    let id: UInt64
    let request: CurlRequest
    let easy: Libcurl.Easy
    let continuation: CheckedContinuation<Result<CurlResponse, CurlError>, Never>
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headerList: Libcurl.List?
    private var recipientList: Libcurl.List?
    private let upload: [UInt8]
    private var uploadOffset = 0
    private var body: [UInt8] = []
    private var headers: [String: String] = [:]
    private var tooLarge = false
    private var released = false
    /// Set for a transfer on a thread of its own (``CurlTransfer``): the progress callback
    /// aborts the transfer once the flag is up.
    private let cancelFlag: CancelFlag?

    private init(submission: Submission, easy: Libcurl.Easy, cancelFlag: CancelFlag?) {
        self.cancelFlag = cancelFlag
        id = submission.id
        request = submission.request
        continuation = submission.continuation
        upload = submission.request.upload ?? []
        self.easy = easy
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    /// An easy handle set up for `submission`, or why it could not be.
    static func start(_ submission: Submission, cancelFlag: CancelFlag?) -> Result<Transfer, CurlError> {
        let easy: Libcurl.Easy
        do throws(LibcurlCallError) {
            easy = try Libcurl.easyInit()
        } catch {
            return .failure(
                CurlError(
                    .initFailed, url: submission.request.url, message: error.text, code: Int(CURLE_FAILED_INIT.rawValue),
                    secrets: submission.request.secretValues))
        }
        let transfer = Transfer(submission: submission, easy: easy, cancelFlag: cancelFlag)
        do throws(LibcurlCallError) {
            try transfer.configure()
        } catch {
            let failure: CurlError
            if case .easy(let raw) = error.code {
                failure = transfer.error(CURLcode(raw))
            } else {
                failure = transfer.error(.initFailed, error.text)
            }
            transfer.release()
            return .failure(failure)
        }
        return .success(transfer)
    }

    /// Every option of the request.
    private func configure() throws(LibcurlCallError) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        try Libcurl.setopt(easy, CURLOPT_ERRORBUFFER, pointer: errorBuffer)
        try Libcurl.setopt(easy, CURLOPT_URL, string: request.url)
        try Libcurl.setopt(easy, CURLOPT_PROTOCOLS_STR, string: request.protocols)
        try Libcurl.setopt(easy, CURLOPT_NOSIGNAL, long: 1)
        try Libcurl.setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, long: CurlClient.milliseconds(request.connectTimeout))
        try Libcurl.setopt(easy, CURLOPT_TIMEOUT_MS, long: CurlClient.milliseconds(request.timeout))
        try Libcurl.setopt(easy, CURLOPT_SSL_VERIFYPEER, long: 1)
        try Libcurl.setopt(easy, CURLOPT_SSL_VERIFYHOST, long: 2)
        try Libcurl.setopt(easy, CURLOPT_FOLLOWLOCATION, long: 0)
        try Libcurl.setopt(easy, CURLOPT_USERAGENT, string: request.userAgent)
        if let encoding = request.acceptEncoding { try Libcurl.setopt(easy, CURLOPT_ACCEPT_ENCODING, string: encoding) }
        if let caFile = request.caFile { try Libcurl.setopt(easy, CURLOPT_CAINFO, string: caFile) }
        if let username = request.username { try Libcurl.setopt(easy, CURLOPT_USERNAME, string: username) }
        if let password = request.password { try Libcurl.setopt(easy, CURLOPT_PASSWORD, string: password) }
        if request.basicAuth { try Libcurl.setopt(easy, CURLOPT_HTTPAUTH, long: Libcurl.authBasic) }

        try Libcurl.setopt(easy, CURLOPT_WRITEDATA, pointer: context)
        try Libcurl.setWriteFunction(easy) { data, size, count, context in
            guard let context else { return 0 }
            return Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue().append(body: data, size * count)
        }
        try Libcurl.setopt(easy, CURLOPT_HEADERDATA, pointer: context)
        try Libcurl.setHeaderFunction(easy) { data, size, count, context in
            guard let context else { return 0 }
            return Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue().append(header: data, size * count)
        }
        if cancelFlag != nil {
            try Libcurl.setopt(easy, CURLOPT_NOPROGRESS, long: 0)
            try Libcurl.setopt(easy, CURLOPT_XFERINFODATA, pointer: context)
            try Libcurl.setProgressFunction(easy) { context, _, _, _, _ in
                guard let context else { return 0 }
                return Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue().isCancelled ? 1 : 0
            }
        }

        for header in request.headers { headerList = try Libcurl.slistAppend(headerList, header) }
        if headerList != nil { try Libcurl.setopt(easy, CURLOPT_HTTPHEADER, list: headerList) }

        if let body = request.postBody {
            try Libcurl.setopt(easy, CURLOPT_POST, long: 1)
            try Libcurl.setopt(easy, CURLOPT_POSTFIELDSIZE, long: body.count)
            // COPYPOSTFIELDS copies the bytes, so the buffer need not outlive this call.
            let failure: LibcurlCallError? = body.withUnsafeBytes { bytes in
                do throws(LibcurlCallError) {
                    if let base = bytes.baseAddress {
                        try Libcurl.setopt(easy, CURLOPT_COPYPOSTFIELDS, pointer: UnsafeMutableRawPointer(mutating: base))
                    } else {
                        try Libcurl.setopt(easy, CURLOPT_COPYPOSTFIELDS, string: "")
                    }
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { throw failure }
        } else if request.upload != nil {
            try Libcurl.setopt(easy, CURLOPT_UPLOAD, long: 1)
            try Libcurl.setopt(easy, CURLOPT_READDATA, pointer: context)
            try Libcurl.setReadFunction(easy) { buffer, size, count, context in
                guard let context else { return 0 }
                return Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue().read(into: buffer, size * count)
            }
        } else {
            try Libcurl.setopt(easy, CURLOPT_HTTPGET, long: 1)
        }
        if let from = request.mailFrom { try Libcurl.setopt(easy, CURLOPT_MAIL_FROM, string: from) }
        if !request.mailRecipients.isEmpty {
            for recipient in request.mailRecipients { recipientList = try Libcurl.slistAppend(recipientList, recipient) }
            try Libcurl.setopt(easy, CURLOPT_MAIL_RCPT, list: recipientList)
        }
        if request.requireTLS { try Libcurl.setopt(easy, CURLOPT_USE_SSL, long: Int(CURLUSESSL_ALL.rawValue)) }
    }

    // MARK: Callbacks

    /// Whether the task that asked for this transfer was cancelled (transfers on a thread of
    /// their own only; the multi-handle client removes a cancelled transfer's handle instead).
    var isCancelled: Bool { cancelFlag?.isSet ?? false }

    /// The write callback: keeps the body within the request's limit. Returning less than
    /// `length` makes libcurl fail the transfer with `CURLE_WRITE_ERROR`.
    private func append(body data: UnsafeMutablePointer<CChar>?, _ length: Int) -> Int {
        guard let data, length > 0 else { return 0 }
        switch request.bodyLimit {
        case .fail(let limit):
            guard length <= limit - body.count else {
                tooLarge = true
                return 0
            }
            body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
        case .truncate(let limit):
            let kept = min(length, max(0, limit - body.count))
            if kept > 0 { body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: kept)) }
        }
        return length
    }

    /// The header callback: one header line (or the status line) at a time.
    private func append(header data: UnsafeMutablePointer<CChar>?, _ length: Int) -> Int {
        guard let data, length > 0 else { return length }
        let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if line.hasPrefix("HTTP/") {
            headers = [:]  // a new response (after 100 Continue, say): start over
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = headers[name].map { $0 + ", " + value } ?? value
        }
        return length
    }

    /// The read callback: the next bytes of the upload, 0 at its end.
    private func read(into buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int) -> Int {
        guard let buffer else { return 0 }
        let count = min(capacity, upload.count - uploadOffset)
        guard count > 0 else { return 0 }
        upload.withUnsafeBytes { bytes in
            UnsafeMutableRawBufferPointer(start: buffer, count: count)
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[uploadOffset..<(uploadOffset + count)]))
        }
        uploadOffset += count
        return count
    }

    // MARK: Outcome

    /// The outcome of a finished transfer.
    func result(_ code: CURLcode) -> Result<CurlResponse, CurlError> {
        guard code == CURLE_OK else { return .failure(error(code)) }
        return .success(CurlResponse(status: responseCode, body: body, headers: headers))
    }

    /// The last HTTP status or SMTP reply code, 0 if none.
    private var responseCode: Int {
        guard !released else { return 0 }
        return (try? Libcurl.getinfoLong(easy, CURLINFO_RESPONSE_CODE)) ?? 0
    }

    /// `code` as a ``CurlError`` with libcurl's most specific text.
    func error(_ code: CURLcode) -> CurlError {
        let detail = String(cString: errorBuffer)
        let message = detail.isEmpty ? Libcurl.text(of: code) : detail
        let kind: CurlError.Kind
        switch code {
        case CURLE_ABORTED_BY_CALLBACK where isCancelled:
            kind = .cancelled
        case CURLE_OPERATION_TIMEDOUT:
            kind = .timeout
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            kind = .unreachable
        case CURLE_WRITE_ERROR where tooLarge:
            if case .fail(let limit) = request.bodyLimit {
                return CurlError(
                    .tooLarge, url: request.url, message: "the response body is larger than \(limit) bytes",
                    code: Int(code.rawValue), responseCode: responseCode, secrets: request.secretValues)
            }
            kind = .transport
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL, CURLE_BAD_FUNCTION_ARGUMENT, CURLE_UNKNOWN_OPTION,
            CURLE_NOT_BUILT_IN:
            kind = .invalidRequest
        case CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM:
            kind = .certificateFile
        case CURLE_FAILED_INIT:
            kind = .initFailed
        case CURLE_LOGIN_DENIED, CURLE_AUTH_ERROR:
            kind = .auth
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_USE_SSL_FAILED, CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            kind = .tls
        default:
            kind = .transport
        }
        return CurlError(
            kind, url: request.url, message: message, code: Int(code.rawValue), responseCode: responseCode,
            secrets: request.secretValues)
    }

    /// An error libcurl did not report (cancellation, shutdown).
    func error(_ kind: CurlError.Kind, _ message: String) -> CurlError {
        CurlError(kind, url: request.url, message: message, responseCode: responseCode, secrets: request.secretValues)
    }

    /// Frees the easy handle, the lists and the error buffer (once).
    func release() {
        guard !released else { return }
        released = true
        Libcurl.easyCleanup(easy)
        Libcurl.slistFreeAll(headerList)
        Libcurl.slistFreeAll(recipientList)
        headerList = nil
        recipientList = nil
        errorBuffer.deallocate()
    }
}
