import CCurl

/// A libcurl call that failed: which function and the code (or NULL) it returned.
struct LibcurlCallError: Error, Sendable, Equatable {
    enum Code: Sendable, Equatable {
        /// A `CURLcode` (easy interface), raw.
        case easy(UInt32)
        /// A `CURLMcode` (multi interface), raw.
        case multi(Int32)
        /// The function returned NULL.
        case null
    }

    var function: String
    var code: Code

    /// libcurl's text for the code.
    var text: String {
        switch code {
        case .easy(let raw): return String(cString: curl_easy_strerror(CURLcode(raw)))
        case .multi(let raw): return "\(function): " + String(cString: curl_multi_strerror(CURLMcode(raw)))
        case .null: return "\(function) failed"
        }
    }
}

/// One helper per libcurl call (in the style of swift-nio's System.swift): each makes the C
/// call, checks what it returned and throws a typed ``LibcurlCallError`` when it failed. Every
/// `curl_*` call of the project goes through here.
enum Libcurl {
    typealias Easy = UnsafeMutableRawPointer
    typealias Multi = UnsafeMutableRawPointer
    typealias List = UnsafeMutablePointer<curl_slist>
    /// libcurl's data callbacks (write, header, read): `(buffer, size, count, context) -> bytes`.
    typealias DataCallback = @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int

    @inline(__always)
    private static func check(_ code: CURLcode, _ function: String) throws(LibcurlCallError) {
        guard code == CURLE_OK else { throw LibcurlCallError(function: function, code: .easy(code.rawValue)) }
    }

    @inline(__always)
    private static func check(_ code: CURLMcode, _ function: String) throws(LibcurlCallError) {
        guard code == CURLM_OK else { throw LibcurlCallError(function: function, code: .multi(code.rawValue)) }
    }

    // MARK: Global

    /// `curl_global_init(CURL_GLOBAL_DEFAULT)`, run once per process (a global `let` is
    /// initialised exactly once, thread-safely, on first use).
    static func globalInit() throws(LibcurlCallError) {
        try check(CURLcode(globalInitResult), "curl_global_init")
    }

    // MARK: Easy handles

    static func easyInit() throws(LibcurlCallError) -> Easy {
        guard let easy = curl_easy_init() else { throw LibcurlCallError(function: "curl_easy_init", code: .null) }
        return easy
    }

    static func easyCleanup(_ easy: Easy) {
        curl_easy_cleanup(easy)
    }

    static func setopt(_ easy: Easy, _ option: CURLoption, long value: Int) throws(LibcurlCallError) {
        try check(tw_curl_setopt_long(easy, option, value), "curl_easy_setopt")
    }

    static func setopt(_ easy: Easy, _ option: CURLoption, string value: String) throws(LibcurlCallError) {
        // libcurl copies string options (since 7.17.0), so the C string need not outlive the call.
        try check(tw_curl_setopt_string(easy, option, value), "curl_easy_setopt")
    }

    static func setopt(_ easy: Easy, _ option: CURLoption, pointer value: UnsafeMutableRawPointer?)
        throws(LibcurlCallError)
    {
        try check(tw_curl_setopt_pointer(easy, option, value), "curl_easy_setopt")
    }

    static func setopt(_ easy: Easy, _ option: CURLoption, list value: List?) throws(LibcurlCallError) {
        try check(tw_curl_setopt_slist(easy, option, value), "curl_easy_setopt")
    }

    static func setWriteFunction(_ easy: Easy, _ callback: DataCallback) throws(LibcurlCallError) {
        try check(tw_curl_setopt_write_callback(easy, callback), "curl_easy_setopt(CURLOPT_WRITEFUNCTION)")
    }

    static func setHeaderFunction(_ easy: Easy, _ callback: DataCallback) throws(LibcurlCallError) {
        try check(tw_curl_setopt_header_callback(easy, callback), "curl_easy_setopt(CURLOPT_HEADERFUNCTION)")
    }

    static func setReadFunction(_ easy: Easy, _ callback: DataCallback) throws(LibcurlCallError) {
        try check(tw_curl_setopt_read_callback(easy, callback), "curl_easy_setopt(CURLOPT_READFUNCTION)")
    }

    /// libcurl's progress callback: `(context, dltotal, dlnow, ultotal, ulnow) -> abort`.
    typealias ProgressCallback = @convention(c) (UnsafeMutableRawPointer?, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> Int32

    static func setProgressFunction(_ easy: Easy, _ callback: ProgressCallback) throws(LibcurlCallError) {
        try check(tw_curl_setopt_xferinfo_callback(easy, callback), "curl_easy_setopt(CURLOPT_XFERINFOFUNCTION)")
    }

    /// `curl_easy_perform`: runs the whole transfer, blocking the calling thread. Its result is
    /// the transfer's outcome, which the caller maps (``Transfer/result(_:)``).
    static func easyPerform(_ easy: Easy) -> CURLcode {
        curl_easy_perform(easy)
    }

    static func getinfoLong(_ easy: Easy, _ info: CURLINFO) throws(LibcurlCallError) -> Int {
        var value = 0
        try check(tw_curl_getinfo_long(easy, info, &value), "curl_easy_getinfo")
        return value
    }

    /// `CURLAUTH_BASIC` (a macro with a cast, which Swift does not import).
    static var authBasic: Int { tw_curl_auth_basic() }

    /// `curl_easy_strerror`.
    static func text(of code: CURLcode) -> String {
        String(cString: curl_easy_strerror(code))
    }

    // MARK: String lists

    /// `list` with `string` appended (a new list when `list` is nil). On failure `list` is
    /// unchanged and still owned by the caller.
    static func slistAppend(_ list: List?, _ string: String) throws(LibcurlCallError) -> List {
        guard let appended = curl_slist_append(list, string) else {
            throw LibcurlCallError(function: "curl_slist_append", code: .null)
        }
        return appended
    }

    static func slistFreeAll(_ list: List?) {
        curl_slist_free_all(list)
    }

    // MARK: Multi handles

    static func multiInit() throws(LibcurlCallError) -> Multi {
        guard let multi = curl_multi_init() else { throw LibcurlCallError(function: "curl_multi_init", code: .null) }
        return multi
    }

    static func multiCleanup(_ multi: Multi) {
        _ = curl_multi_cleanup(multi)
    }

    static func multiAdd(_ multi: Multi, _ easy: Easy) throws(LibcurlCallError) {
        try check(curl_multi_add_handle(multi, easy), "curl_multi_add_handle")
    }

    static func multiRemove(_ multi: Multi, _ easy: Easy) throws(LibcurlCallError) {
        try check(curl_multi_remove_handle(multi, easy), "curl_multi_remove_handle")
    }

    /// Drives the transfers; returns how many are still running.
    static func multiPerform(_ multi: Multi) throws(LibcurlCallError) -> Int {
        var running: Int32 = 0
        try check(curl_multi_perform(multi, &running), "curl_multi_perform")
        return Int(running)
    }

    /// Waits for activity on the transfers, `curl_multi_wakeup` or `timeoutMilliseconds`.
    static func multiPoll(_ multi: Multi, timeoutMilliseconds: Int32) throws(LibcurlCallError) {
        try check(curl_multi_poll(multi, nil, 0, timeoutMilliseconds, nil), "curl_multi_poll")
    }

    /// Ends a `curl_multi_poll` wait; callable from any thread.
    static func multiWakeup(_ multi: Multi) throws(LibcurlCallError) {
        try check(curl_multi_wakeup(multi), "curl_multi_wakeup")
    }

    /// The next finished transfer: its easy handle and result, or nil when none is left.
    static func multiInfoReadDone(_ multi: Multi) -> (easy: Easy, result: CURLcode)? {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            return (easy, tw_curl_msg_result(message))
        }
        return nil
    }
}

/// The result of `curl_global_init`, raw (see ``Libcurl/globalInit()``).
private let globalInitResult: UInt32 = curl_global_init(Int(CURL_GLOBAL_DEFAULT)).rawValue
