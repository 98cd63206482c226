import CCurl
import Foundation
import Synchronization

/// A flag the cancellation handler raises and the transfer's progress callback reads.
final class CancelFlag: Sendable {
    private let value = Atomic<Bool>(false)

    var isSet: Bool { value.load(ordering: .relaxed) }

    func set() { value.store(true, ordering: .relaxed) }
}

/// One transfer on a thread of its own: `curl_easy_perform` on a new thread (never on Swift's
/// cooperative pool), which resumes the caller when the transfer ends and frees everything
/// with it, connection included.
///
/// For transfers whose connection must not outlive them: closing an SMTP connection sends
/// QUIT and waits for the reply, which must block no other transfer (a ``CurlClient`` keeps
/// connections in its multi handle's cache and closes them on its one thread). Cancelling
/// the calling task aborts the transfer from libcurl's progress callback (called about once a
/// second while waiting, more often while data moves), with kind `.cancelled` and libcurl's
/// `CURLE_ABORTED_BY_CALLBACK`.
public enum CurlTransfer {
    public static func perform(_ request: CurlRequest) async throws(CurlError) -> CurlResponse {
        let flag = CancelFlag()
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<CurlResponse, CurlError>, Never>) in
                let submission = Submission(id: 0, request: request, continuation: continuation)
                let thread = Thread { run(submission, flag) }
                thread.name = "tickwire-curl-transfer"
                thread.stackSize = 1 << 20
                thread.start()
            }
        } onCancel: {
            flag.set()
        }
        return try result.get()
    }

    /// The transfer's thread: sets it up, performs it, answers the caller.
    private static func run(_ submission: Submission, _ flag: CancelFlag) {
        do throws(LibcurlCallError) {
            try Libcurl.globalInit()
        } catch {
            submission.fail(.initFailed, error.text, code: CURLE_FAILED_INIT)
            return
        }
        if flag.isSet {
            submission.fail(.cancelled, "cancelled before it started", code: CURLE_ABORTED_BY_CALLBACK)
            return
        }
        switch Transfer.start(submission, cancelFlag: flag) {
        case .failure(let error):
            submission.continuation.resume(returning: .failure(error))
        case .success(let transfer):
            // The callbacks reach `transfer` through an unretained pointer: keep it alive.
            let result = withExtendedLifetime(transfer) { transfer.result(Libcurl.easyPerform(transfer.easy)) }
            transfer.release()
            submission.continuation.resume(returning: result)
        }
    }
}
