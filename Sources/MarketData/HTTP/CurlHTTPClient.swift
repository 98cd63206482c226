import CCurl
import Foundation
import Synchronization
import Timekeeping

/// `curl_global_init`, run once per process (a global `let` is initialised exactly once,
/// thread-safely, on first use).
private let curlGlobalInitResult: UInt32 = curl_global_init(Int(CURL_GLOBAL_DEFAULT)).rawValue

/// An HTTP client on libcurl that never blocks Swift's cooperative thread pool.
///
/// One dedicated thread owns a curl multi handle and every transfer (easy handle) on it; it
/// waits in `curl_multi_poll` (at most 1 s per wait; `curl_multi_wakeup` ends the wait when a
/// request arrives, is cancelled or the client closes). Async callers hand their request to
/// that thread and suspend on a continuation. Cancelling the calling task aborts the transfer
/// at once (the easy handle is removed from the multi handle) and fails with `.cancelled`.
/// Transfers run concurrently, so one slow server does not hold up other requests.
///
/// Every `curl_*` call of the project lives in this file. libcurl never sees a signal
/// (`CURLOPT_NOSIGNAL`), the timeout bounds the whole request (`CURLOPT_TIMEOUT_MS`) and the
/// connect phase (`CURLOPT_CONNECTTIMEOUT_MS`), only `http` and `https` are allowed, no
/// redirect is followed.
public final class CurlHTTPClient: HTTPClient {
    private let core: Core

    /// - Parameters:
    ///   - userAgent: sent as `User-Agent`.
    ///   - maxBodyBytes: a larger body fails the request with `.tooLarge`.
    public init(userAgent: String = "tickwire", maxBodyBytes: Int = 16 << 20) {
        let core = Core(userAgent: userAgent, maxBodyBytes: maxBodyBytes)
        self.core = core
        guard curlGlobalInitResult == CURLE_OK.rawValue else {
            core.fail("curl_global_init failed (CURLcode \(curlGlobalInitResult))")
            return
        }
        guard let multi = curl_multi_init() else {
            core.fail("curl_multi_init failed")
            return
        }
        // The thread gets the handle's address: a raw pointer is not Sendable, and from now
        // on only that thread uses the handle (plus `curl_multi_wakeup`, which libcurl
        // documents as callable from any thread; `Core.wake` calls it under the lock the
        // owner thread takes before cleaning the handle up).
        let address = Int(bitPattern: multi)
        core.attach(multiAddress: address)
        let thread = Thread {
            Thread.current.name = "tickwire-http"
            guard let multi = UnsafeMutableRawPointer(bitPattern: address) else { return }
            Core.run(core: core, multi: multi)
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit {
        core.close()
    }

    public func get(_ url: String, timeout: Duration) async throws(HTTPError) -> HTTPResponse {
        let id = core.nextID()
        let core = self.core
        let millis = Self.milliseconds(timeout)
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<HTTPResponse, HTTPError>, Never>) in
                core.submit(Submission(id: id, url: url, timeoutMilliseconds: millis, continuation: continuation))
            }
        } onCancel: {
            core.cancel(id)
        }
        return try result.get()
    }

    /// A timeout in whole milliseconds, rounded up, at least 1 (0 would mean "no timeout" to
    /// libcurl) and at most `Int32.max` (24.8 days).
    static func milliseconds(_ duration: Duration) -> Int {
        max(1, Nanoseconds.timeoutMilliseconds(duration))
    }
}

/// A request on its way to the owner thread.
private struct Submission: Sendable {
    var id: UInt64
    var url: String
    var timeoutMilliseconds: Int
    var continuation: CheckedContinuation<Result<HTTPResponse, HTTPError>, Never>
}

/// What the calling tasks and the owner thread share.
private final class Core: Sendable {
    private enum Phase {
        case queued
        case inFlight
    }

    private struct State {
        var nextID: UInt64 = 1
        var queue: [Submission] = []
        var phases: [UInt64: Phase] = [:]
        /// In-flight transfers to abort.
        var aborts: Set<UInt64> = []
        var closing = false
        /// Set while the owner thread runs; nil before, after, or when the client failed.
        var multiAddress: Int?
        /// Why the client cannot work, if it cannot.
        var failure: String?
    }

    let userAgent: String
    let maxBodyBytes: Int
    private let state = Mutex(State())

    init(userAgent: String, maxBodyBytes: Int) {
        self.userAgent = userAgent
        self.maxBodyBytes = maxBodyBytes
    }

    func nextID() -> UInt64 {
        state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    func fail(_ message: String) {
        state.withLock { $0.failure = message }
    }

    func attach(multiAddress: Int) {
        state.withLock { $0.multiAddress = multiAddress }
    }

    /// Queues a request, or answers it at once when the task is already cancelled or the
    /// client cannot work.
    func submit(_ submission: Submission) {
        let immediate: HTTPError? = state.withLock { state in
            // Checked under the lock: a cancellation handler that runs after this point finds
            // the request queued; one that ran before has already set the flag seen here.
            if Task.isCancelled {
                return HTTPError(.cancelled, url: submission.url, message: "the request was cancelled")
            }
            if let failure = state.failure {
                return HTTPError(.transport, url: submission.url, message: failure)
            }
            if state.closing || state.multiAddress == nil {
                return HTTPError(.cancelled, url: submission.url, message: "the HTTP client is shut down")
            }
            state.queue.append(submission)
            state.phases[submission.id] = .queued
            Self.wake(state)
            return nil
        }
        if let immediate { submission.continuation.resume(returning: .failure(immediate)) }
    }

    /// Aborts request `id` if it is still queued or in flight.
    func cancel(_ id: UInt64) {
        let dropped: Submission? = state.withLock { state in
            switch state.phases[id] {
            case .queued:
                state.phases[id] = nil
                guard let index = state.queue.firstIndex(where: { $0.id == id }) else { return nil }
                return state.queue.remove(at: index)
            case .inFlight:
                state.aborts.insert(id)
                Self.wake(state)
                return nil
            case nil:
                return nil
            }
        }
        if let dropped {
            dropped.continuation.resume(
                returning: .failure(HTTPError(.cancelled, url: dropped.url, message: "the request was cancelled")))
        }
    }

    /// Stops the owner thread; requests still open fail with `.cancelled`.
    func close() {
        state.withLock { state in
            state.closing = true
            Self.wake(state)
        }
    }

    private static func wake(_ state: State) {
        guard let address = state.multiAddress, let multi = UnsafeMutableRawPointer(bitPattern: address) else { return }
        _ = curl_multi_wakeup(multi)
    }

    /// Takes the new requests and aborts; marks the new ones in flight.
    private func take() -> (new: [Submission], aborts: Set<UInt64>, closing: Bool) {
        state.withLock { state in
            let new = state.queue
            state.queue.removeAll()
            for submission in new { state.phases[submission.id] = .inFlight }
            let aborts = state.aborts
            state.aborts.removeAll()
            return (new, aborts, state.closing)
        }
    }

    private func finished(_ ids: [UInt64]) {
        guard !ids.isEmpty else { return }
        state.withLock { state in
            for id in ids { state.phases[id] = nil }
        }
    }

    /// The owner thread's loop.
    static func run(core: Core, multi: UnsafeMutableRawPointer) {
        var transfers: [UInt64: Transfer] = [:]
        var ids: [UnsafeMutableRawPointer: UInt64] = [:]

        func complete(_ transfer: Transfer, _ result: Result<HTTPResponse, HTTPError>) {
            _ = curl_multi_remove_handle(multi, transfer.easy)
            transfers[transfer.id] = nil
            ids[transfer.easy] = nil
            transfer.release()
            transfer.continuation.resume(returning: result)
        }

        while true {
            let (new, aborts, closing) = core.take()
            var done: [UInt64] = []
            for submission in new {
                switch Transfer.start(submission, core: core) {
                case .success(let transfer):
                    let added = curl_multi_add_handle(multi, transfer.easy)
                    if added == CURLM_OK {
                        transfers[transfer.id] = transfer
                        ids[transfer.easy] = transfer.id
                    } else {
                        transfer.release()
                        let text = String(cString: curl_multi_strerror(added))
                        transfer.continuation.resume(
                            returning: .failure(HTTPError(.transport, url: transfer.url, message: text)))
                        done.append(transfer.id)
                    }
                case .failure(let error):
                    submission.continuation.resume(returning: .failure(error))
                    done.append(submission.id)
                }
            }
            for id in aborts {
                guard let transfer = transfers[id] else { continue }
                complete(transfer, .failure(HTTPError(.cancelled, url: transfer.url, message: "the request was cancelled")))
                done.append(id)
            }
            if closing {
                for transfer in Array(transfers.values) {
                    complete(transfer, .failure(HTTPError(.cancelled, url: transfer.url, message: "the HTTP client is shut down")))
                    done.append(transfer.id)
                }
                core.finished(done)
                break
            }

            var running: Int32 = 0
            _ = curl_multi_perform(multi, &running)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                    let id = ids[easy], let transfer = transfers[id]
                else { continue }
                let code = tw_curl_msg_result(message)
                complete(transfer, transfer.result(code))
                done.append(id)
            }
            core.finished(done)
            _ = curl_multi_poll(multi, nil, 0, 1000, nil)
        }

        // Late requests see `multiAddress == nil` and fail; wake-ups stop before cleanup.
        let stranded: [Submission] = core.state.withLock { state in
            state.multiAddress = nil
            let stranded = state.queue
            state.queue.removeAll()
            state.phases.removeAll()
            return stranded
        }
        for submission in stranded {
            submission.continuation.resume(
                returning: .failure(HTTPError(.cancelled, url: submission.url, message: "the HTTP client is shut down")))
        }
        _ = curl_multi_cleanup(multi)
    }
}

/// One transfer: its easy handle and what the callbacks collect. Used only on the owner
/// thread; libcurl's callbacks reach it through `Unmanaged` (the dictionary in `run` keeps it
/// alive until the handle is removed).
private final class Transfer {
    let id: UInt64
    let url: String
    let easy: UnsafeMutableRawPointer
    let continuation: CheckedContinuation<Result<HTTPResponse, HTTPError>, Never>
    let maxBodyBytes: Int
    let errorBuffer: UnsafeMutablePointer<CChar>
    var body: [UInt8] = []
    var headers: [String: String] = [:]
    var tooLarge = false
    private var released = false

    private init(submission: Submission, easy: UnsafeMutableRawPointer, maxBodyBytes: Int) {
        id = submission.id
        url = submission.url
        continuation = submission.continuation
        self.easy = easy
        self.maxBodyBytes = maxBodyBytes
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    /// An easy handle set up for `submission`, or why it could not be.
    static func start(_ submission: Submission, core: Core) -> Result<Transfer, HTTPError> {
        guard let easy = curl_easy_init() else {
            return .failure(HTTPError(.transport, url: submission.url, message: "curl_easy_init failed"))
        }
        let transfer = Transfer(submission: submission, easy: easy, maxBodyBytes: core.maxBodyBytes)
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        var code = CURLE_OK
        func set(_ result: CURLcode) { if code == CURLE_OK { code = result } }
        set(tw_curl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, transfer.errorBuffer))
        set(tw_curl_setopt_string(easy, CURLOPT_URL, submission.url))
        set(tw_curl_setopt_long(easy, CURLOPT_HTTPGET, 1))
        set(tw_curl_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
        set(tw_curl_setopt_long(easy, CURLOPT_TIMEOUT_MS, submission.timeoutMilliseconds))
        set(tw_curl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, submission.timeoutMilliseconds))
        set(tw_curl_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0))
        set(tw_curl_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(tw_curl_setopt_string(easy, CURLOPT_USERAGENT, core.userAgent))
        set(tw_curl_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, ""))
        set(tw_curl_setopt_pointer(easy, CURLOPT_WRITEDATA, context))
        set(
            tw_curl_setopt_write_callback(easy) { data, size, count, context in
                guard let context else { return 0 }
                let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
                return transfer.append(body: data, size * count)
            })
        set(tw_curl_setopt_pointer(easy, CURLOPT_HEADERDATA, context))
        set(
            tw_curl_setopt_header_callback(easy) { data, size, count, context in
                guard let context else { return 0 }
                let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
                return transfer.append(header: data, size * count)
            })
        guard code == CURLE_OK else {
            let error = transfer.error(code)
            transfer.release()
            return .failure(error)
        }
        return .success(transfer)
    }

    func append(body data: UnsafeMutablePointer<CChar>?, _ length: Int) -> Int {
        guard length > 0 else { return 0 }
        guard let data else { return 0 }
        guard body.count + length <= maxBodyBytes else {
            tooLarge = true
            return 0  // makes libcurl fail the transfer with CURLE_WRITE_ERROR
        }
        body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
        return length
    }

    func append(header data: UnsafeMutablePointer<CChar>?, _ length: Int) -> Int {
        guard let data, length > 0 else { return length }
        let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if line.hasPrefix("HTTP/") {
            headers = [:]  // a new response (after 100 Continue, say): start over
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if let existing = headers[name] {
                headers[name] = existing + ", " + value
            } else {
                headers[name] = value
            }
        }
        return length
    }

    /// The outcome of a finished transfer.
    func result(_ code: CURLcode) -> Result<HTTPResponse, HTTPError> {
        guard code == CURLE_OK else { return .failure(error(code)) }
        var status = 0
        _ = tw_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, body: body, headers: headers))
    }

    /// `code` as an ``HTTPError`` with libcurl's most specific text.
    func error(_ code: CURLcode) -> HTTPError {
        let detail = String(cString: errorBuffer)
        let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        let kind: HTTPError.Kind
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            kind = .timeout
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            kind = .unreachable
        case CURLE_WRITE_ERROR where tooLarge:
            return HTTPError(
                .tooLarge, url: url, message: "the response body is larger than \(maxBodyBytes) bytes",
                curlCode: Int(code.rawValue))
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL, CURLE_BAD_FUNCTION_ARGUMENT, CURLE_UNKNOWN_OPTION,
            CURLE_NOT_BUILT_IN:
            kind = .invalidRequest
        default:
            kind = .transport
        }
        return HTTPError(kind, url: url, message: message, curlCode: Int(code.rawValue))
    }

    /// Frees the easy handle and the error buffer (once).
    func release() {
        guard !released else { return }
        released = true
        curl_easy_cleanup(easy)
        errorBuffer.deallocate()
    }
}
