import CCurl
import Foundation
import Synchronization
import Timekeeping

/// `curl_global_init`, once per process (a global `let` is initialised once, thread-safely).
/// libcurl counts init calls, so the market-data client initialising it too is fine.
private let notifierCurlGlobalInit: UInt32 = curl_global_init(Int(CURL_GLOBAL_DEFAULT)).rawValue

/// One libcurl transfer: an HTTP POST or an SMTP send.
struct CurlRequest: Sendable {
    var url: String
    /// `CURLOPT_PROTOCOLS_STR`, e.g. `"http,https"` or `"smtp,smtps"`.
    var protocols: String
    var timeouts: ChannelTimeouts
    /// A PEM bundle to trust instead of the system's (`CURLOPT_CAINFO`).
    var caFile: String?
    /// `CURLOPT_USERNAME` / `CURLOPT_PASSWORD` (SMTP AUTH, or HTTP Basic with `basicAuth`).
    var username: String?
    var password: String?
    var basicAuth = false
    /// Extra request headers (HTTP), `"Name: value"`.
    var headers: [String] = []
    /// An HTTP POST body (copied into libcurl).
    var postBody: [UInt8]?
    /// SMTP: the message (`CURLOPT_UPLOAD` + read callback), the envelope sender and recipients.
    var upload: [UInt8]?
    var mailFrom: String?
    var mailRecipients: [String] = []
    /// SMTP STARTTLS: `CURLOPT_USE_SSL = CURLUSESSL_ALL` (fail when the server offers no TLS).
    var requireTLS = false
}

struct CurlResponse: Sendable {
    /// HTTP status, or the last SMTP reply code.
    var status: Int
    /// At most the first 64 KiB of the body.
    var body: [UInt8]
    /// Lower-cased names; repeated headers joined with ", ".
    var headers: [String: String]

    var text: String { String(decoding: body, as: UTF8.self) }
}

struct CurlFailure: Error, Sendable {
    var code: Int
    var message: String
    /// The last HTTP status or SMTP reply code seen, 0 if none.
    var responseCode: Int
    var cancelled: Bool
}

/// Runs one libcurl easy handle with `curl_easy_perform` on a thread of its own (never on
/// Swift's cooperative pool) and resumes the caller when it ends. Cancelling the calling task
/// aborts the transfer from libcurl's progress callback (within about a second).
enum CurlTransfer {
    private final class CancelFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    static func perform(_ request: CurlRequest) async -> Result<CurlResponse, CurlFailure> {
        let flag = CancelFlag()
        return await withTaskCancellationHandler {
            await withCheckedContinuation {
                (continuation: CheckedContinuation<Result<CurlResponse, CurlFailure>, Never>) in
                let thread = Thread {
                    continuation.resume(returning: run(request, isCancelled: { flag.value.load(ordering: .relaxed) }))
                }
                thread.name = "tickwire-notify-curl"
                thread.stackSize = 1 << 20
                thread.start()
            }
        } onCancel: {
            flag.value.store(true, ordering: .relaxed)
        }
    }

    /// What the callbacks share; used only on the transfer's thread.
    private final class State {
        let upload: [UInt8]
        var uploadOffset = 0
        var body: [UInt8] = []
        var headers: [String: String] = [:]
        let isCancelled: () -> Bool

        init(upload: [UInt8], isCancelled: @escaping () -> Bool) {
            self.upload = upload
            self.isCancelled = isCancelled
        }
    }

    private static let maxBodyBytes = 64 << 10

    private static func run(_ request: CurlRequest, isCancelled: @escaping () -> Bool) -> Result<
        CurlResponse, CurlFailure
    > {
        func failure(_ code: CURLcode, _ message: String) -> Result<CurlResponse, CurlFailure> {
            .failure(CurlFailure(code: Int(code.rawValue), message: message, responseCode: 0, cancelled: false))
        }
        guard notifierCurlGlobalInit == CURLE_OK.rawValue else {
            return failure(CURLE_FAILED_INIT, "curl_global_init failed")
        }
        if isCancelled() {
            return .failure(
                CurlFailure(
                    code: Int(CURLE_ABORTED_BY_CALLBACK.rawValue), message: "cancelled before it started",
                    responseCode: 0, cancelled: true))
        }
        guard let easy = curl_easy_init() else { return failure(CURLE_FAILED_INIT, "curl_easy_init failed") }
        defer { curl_easy_cleanup(easy) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }

        var headerList: UnsafeMutablePointer<curl_slist>?
        var recipientList: UnsafeMutablePointer<curl_slist>?
        defer {
            curl_slist_free_all(headerList)
            curl_slist_free_all(recipientList)
        }
        let state = State(upload: request.upload ?? [], isCancelled: isCancelled)
        let context = Unmanaged.passUnretained(state).toOpaque()

        var code = CURLE_OK
        func set(_ result: CURLcode) { if code == CURLE_OK { code = result } }
        set(tw_curl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer))
        set(tw_curl_setopt_string(easy, CURLOPT_URL, request.url))
        set(tw_curl_setopt_string(easy, CURLOPT_PROTOCOLS_STR, request.protocols))
        set(tw_curl_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
        set(tw_curl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(request.timeouts.connect)))
        set(tw_curl_setopt_long(easy, CURLOPT_TIMEOUT_MS, milliseconds(request.timeouts.total)))
        set(tw_curl_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1))
        set(tw_curl_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2))
        set(tw_curl_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0))
        set(tw_curl_setopt_string(easy, CURLOPT_USERAGENT, "tickwire-notifier"))
        if let caFile = request.caFile { set(tw_curl_setopt_string(easy, CURLOPT_CAINFO, caFile)) }
        if let username = request.username { set(tw_curl_setopt_string(easy, CURLOPT_USERNAME, username)) }
        if let password = request.password { set(tw_curl_setopt_string(easy, CURLOPT_PASSWORD, password)) }
        if request.basicAuth { set(tw_curl_setopt_long(easy, CURLOPT_HTTPAUTH, tw_curl_auth_basic())) }

        set(tw_curl_setopt_pointer(easy, CURLOPT_WRITEDATA, context))
        set(
            tw_curl_setopt_write_callback(easy) { data, size, count, context in
                guard let context else { return 0 }
                let state = Unmanaged<State>.fromOpaque(context).takeUnretainedValue()
                let length = size * count
                if let data, length > 0, state.body.count < CurlTransfer.maxBodyBytes {
                    let kept = min(length, CurlTransfer.maxBodyBytes - state.body.count)
                    state.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: kept))
                }
                return length
            })
        set(tw_curl_setopt_pointer(easy, CURLOPT_HEADERDATA, context))
        set(
            tw_curl_setopt_header_callback(easy) { data, size, count, context in
                let length = size * count
                guard let context, let data, length > 0 else { return length }
                let state = Unmanaged<State>.fromOpaque(context).takeUnretainedValue()
                let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                if line.hasPrefix("HTTP/") {
                    state.headers = [:]  // a new response (after 100 Continue, say)
                } else if let colon = line.firstIndex(of: ":") {
                    let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                    let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    state.headers[name] = state.headers[name].map { $0 + ", " + value } ?? value
                }
                return length
            })
        set(tw_curl_setopt_long(easy, CURLOPT_NOPROGRESS, 0))
        set(tw_curl_setopt_pointer(easy, CURLOPT_XFERINFODATA, context))
        set(
            tw_curl_setopt_xferinfo_callback(easy) { context, _, _, _, _ in
                guard let context else { return 0 }
                return Unmanaged<State>.fromOpaque(context).takeUnretainedValue().isCancelled() ? 1 : 0
            })

        for header in request.headers { headerList = curl_slist_append(headerList, header) }
        if headerList != nil { set(tw_curl_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList)) }

        if let body = request.postBody {
            set(tw_curl_setopt_long(easy, CURLOPT_POST, 1))
            set(tw_curl_setopt_long(easy, CURLOPT_POSTFIELDSIZE, body.count))
            // COPYPOSTFIELDS copies the bytes, so the buffer need not outlive this call.
            body.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress {
                    set(tw_curl_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base)))
                } else {
                    set(tw_curl_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, ""))
                }
            }
        }
        if request.upload != nil {
            set(tw_curl_setopt_long(easy, CURLOPT_UPLOAD, 1))
            set(tw_curl_setopt_pointer(easy, CURLOPT_READDATA, context))
            set(
                tw_curl_setopt_read_callback(easy) { buffer, size, count, context in
                    guard let context, let buffer else { return 0 }
                    let state = Unmanaged<State>.fromOpaque(context).takeUnretainedValue()
                    let n = min(size * count, state.upload.count - state.uploadOffset)
                    guard n > 0 else { return 0 }
                    state.upload.withUnsafeBytes { bytes in
                        UnsafeMutableRawPointer(buffer).copyMemory(
                            from: bytes.baseAddress! + state.uploadOffset, byteCount: n)
                    }
                    state.uploadOffset += n
                    return n
                })
        }
        if let from = request.mailFrom { set(tw_curl_setopt_string(easy, CURLOPT_MAIL_FROM, from)) }
        if !request.mailRecipients.isEmpty {
            for recipient in request.mailRecipients { recipientList = curl_slist_append(recipientList, recipient) }
            set(tw_curl_setopt_slist(easy, CURLOPT_MAIL_RCPT, recipientList))
        }
        if request.requireTLS { set(tw_curl_setopt_long(easy, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue))) }

        if code == CURLE_OK {
            code = withExtendedLifetime(state) { curl_easy_perform(easy) }
        }
        var responseCode = 0
        _ = tw_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &responseCode)
        guard code == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            return .failure(
                CurlFailure(
                    code: Int(code.rawValue), message: message, responseCode: responseCode,
                    cancelled: code == CURLE_ABORTED_BY_CALLBACK && isCancelled()))
        }
        return .success(CurlResponse(status: responseCode, body: state.body, headers: state.headers))
    }

    /// A duration in whole milliseconds, at least 1 (0 means "no limit" to libcurl).
    static func milliseconds(_ duration: Duration) -> Int {
        max(1, Nanoseconds.timeoutMilliseconds(duration))
    }
}

extension CurlFailure {
    /// The failure as a ``ChannelError`` of `channel`, with `secrets` removed from the text.
    /// For SMTP (`smtp: true`) a reply code ≥ 400 becomes `.rejected(code)`: 4xx transient,
    /// 5xx permanent (530/534/535 are `.auth`).
    func channelError(channel: String, secrets: [String], smtp: Bool) -> ChannelError {
        let text = message.redacting(secrets)
        func error(_ kind: ChannelError.Kind, permanent: Bool? = nil) -> ChannelError {
            ChannelError(kind, channel: channel, message: "\(text) (curl \(code))", isPermanent: permanent)
        }
        if cancelled { return error(.cancelled) }
        switch CURLcode(UInt32(code)) {
        case CURLE_OPERATION_TIMEDOUT:
            return error(.timeout)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return error(.unreachable)
        case CURLE_LOGIN_DENIED, CURLE_AUTH_ERROR:
            return error(.auth)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL, CURLE_NOT_BUILT_IN, CURLE_BAD_FUNCTION_ARGUMENT,
            CURLE_UNKNOWN_OPTION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM, CURLE_FAILED_INIT:
            return error(.config)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_USE_SSL_FAILED, CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            return error(.tls)
        default:
            break
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
