import CCurl
import Foundation
import Synchronization

/// libcurl for async code, without ever blocking Swift's cooperative thread pool.
///
/// One dedicated thread owns a curl multi handle and every transfer (easy handle) on it; it
/// waits in `curl_multi_poll` (at most 1 s per wait; `curl_multi_wakeup` ends the wait when a
/// request arrives, is cancelled or the client closes). Async callers hand their request to
/// that thread and suspend on a continuation. Cancelling the calling task aborts the transfer
/// at once (the easy handle is removed from the multi handle) and fails with `.cancelled`.
/// Transfers run concurrently, so one slow server does not hold up other requests.
///
/// Every transfer: libcurl never sees a signal (`CURLOPT_NOSIGNAL`), the request's timeouts
/// bound the connect phase and the whole transfer, only the request's protocols are allowed,
/// no redirect is followed and peers are verified (`CURLOPT_SSL_VERIFYPEER`,
/// `CURLOPT_SSL_VERIFYHOST`).
///
/// The thread ends when the client is released; transfers still open then fail with
/// `.cancelled`.
public final class CurlClient: Sendable {
    private let core: Core

    public init() {
        let core = Core()
        self.core = core
        let multi: Libcurl.Multi
        do throws(LibcurlCallError) {
            try Libcurl.globalInit()
            multi = try Libcurl.multiInit()
        } catch {
            core.fail(error)
            return
        }
        // The thread gets the handle's address: a raw pointer is not Sendable, and from now
        // on only that thread uses the handle (plus `curl_multi_wakeup`, which libcurl
        // documents as callable from any thread; `Core.wake` calls it under the lock the
        // owner thread takes before cleaning the handle up).
        let address = Int(bitPattern: multi)
        core.attach(multiAddress: address)
        let thread = Thread {
            guard let multi = UnsafeMutableRawPointer(bitPattern: address) else { return }
            Core.run(core: core, multi: multi)
        }
        thread.name = "tickwire-curl"
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit {
        core.close()
    }

    /// Runs `request`. Fails with ``CurlError`` when there is no response within the
    /// request's timeouts or when the task is cancelled (kind `.cancelled`); a response with
    /// any status (HTTP 500, say) is a success.
    public func perform(_ request: CurlRequest) async throws(CurlError) -> CurlResponse {
        let id = core.nextID()
        let core = self.core
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<CurlResponse, CurlError>, Never>) in
                core.submit(Submission(id: id, request: request, continuation: continuation))
            }
        } onCancel: {
            core.cancel(id)
        }
        return try result.get()
    }

    /// A timeout in whole milliseconds, rounded up, at least 1 (0 would mean "no timeout" to
    /// libcurl) and at most `Int32.max` (24.8 days).
    public static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        var nanoseconds = overflow ? (seconds < 0 ? Int64.min : Int64.max) : product
        if !overflow {
            let (sum, overflow) = product.addingReportingOverflow(attoseconds / 1_000_000_000)
            nanoseconds = overflow ? (product < 0 ? Int64.min : Int64.max) : sum
        }
        guard nanoseconds > 0 else { return 1 }
        let milliseconds = nanoseconds / 1_000_000 + (nanoseconds % 1_000_000 == 0 ? 0 : 1)
        return Int(min(milliseconds, Int64(Int32.max)))
    }
}

/// A request on its way to the owner thread.
struct Submission: Sendable {
    var id: UInt64
    var request: CurlRequest
    var continuation: CheckedContinuation<Result<CurlResponse, CurlError>, Never>

    func fail(_ kind: CurlError.Kind, _ message: String, code: CURLcode? = nil) {
        continuation.resume(
            returning: .failure(
                CurlError(
                    kind, url: request.url, message: message, code: code.map { Int($0.rawValue) },
                    secrets: request.secretValues)))
    }
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
        var failure: LibcurlCallError?
    }

    private let state = Mutex(State())

    static let cancelledText = "the transfer was cancelled"
    static let shutDownText = "the curl client is shut down"

    func nextID() -> UInt64 {
        state.withLock { state in
            defer { state.nextID &+= 1 }
            return state.nextID
        }
    }

    func fail(_ failure: LibcurlCallError) {
        state.withLock { $0.failure = failure }
    }

    func attach(multiAddress: Int) {
        state.withLock { $0.multiAddress = multiAddress }
    }

    /// Queues a request, or answers it at once when the task is already cancelled or the
    /// client cannot work.
    func submit(_ submission: Submission) {
        let immediate: (CurlError.Kind, String)? = state.withLock { state in
            // Checked under the lock: a cancellation handler that runs after this point finds
            // the request queued; one that ran before has already set the flag seen here.
            if Task.isCancelled { return (.cancelled, Self.cancelledText) }
            if let failure = state.failure { return (.initFailed, failure.text) }
            if state.closing || state.multiAddress == nil { return (.cancelled, Self.shutDownText) }
            state.queue.append(submission)
            state.phases[submission.id] = .queued
            Self.wake(state)
            return nil
        }
        if let immediate { submission.fail(immediate.0, immediate.1) }
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
        dropped?.fail(.cancelled, Self.cancelledText)
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
        // A failed wake-up only delays the owner thread until its poll times out (1 s).
        try? Libcurl.multiWakeup(multi)
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
    static func run(core: Core, multi: Libcurl.Multi) {
        var transfers: [UInt64: Transfer] = [:]
        var ids: [UnsafeMutableRawPointer: UInt64] = [:]

        func complete(_ transfer: Transfer, _ result: Result<CurlResponse, CurlError>) {
            // Removing a handle the loop added fails only on a bad handle; the handle is
            // cleaned up right after either way.
            try? Libcurl.multiRemove(multi, transfer.easy)
            transfers[transfer.id] = nil
            ids[transfer.easy] = nil
            transfer.release()
            transfer.continuation.resume(returning: result)
        }

        while true {
            let (new, aborts, closing) = core.take()
            var done: [UInt64] = []
            for submission in new {
                switch Transfer.start(submission, cancelFlag: nil) {
                case .success(let transfer):
                    do throws(LibcurlCallError) {
                        try Libcurl.multiAdd(multi, transfer.easy)
                        transfers[transfer.id] = transfer
                        ids[transfer.easy] = transfer.id
                    } catch {
                        transfer.release()
                        submission.fail(.transport, error.text)
                        done.append(transfer.id)
                    }
                case .failure(let error):
                    submission.continuation.resume(returning: .failure(error))
                    done.append(submission.id)
                }
            }
            for id in aborts {
                guard let transfer = transfers[id] else { continue }
                complete(transfer, .failure(transfer.error(.cancelled, cancelledText)))
                done.append(id)
            }
            if closing {
                for transfer in Array(transfers.values) {
                    complete(transfer, .failure(transfer.error(.cancelled, shutDownText)))
                    done.append(transfer.id)
                }
                core.finished(done)
                break
            }

            // A failing perform or poll (out of memory, say) leaves the transfers to their
            // timeouts; the loop goes on, and the 1 s poll bound keeps it from spinning hard.
            _ = try? Libcurl.multiPerform(multi)
            while let finished = Libcurl.multiInfoReadDone(multi) {
                guard let id = ids[finished.easy], let transfer = transfers[id] else { continue }
                complete(transfer, transfer.result(finished.result))
                done.append(id)
            }
            core.finished(done)
            if (try? Libcurl.multiPoll(multi, timeoutMilliseconds: 1000)) == nil {
                Thread.sleep(forTimeInterval: 0.01)
            }
        }

        // Late requests see `multiAddress == nil` and fail; wake-ups stop before cleanup.
        let stranded: [Submission] = core.state.withLock { state in
            state.multiAddress = nil
            let stranded = state.queue
            state.queue.removeAll()
            state.phases.removeAll()
            return stranded
        }
        for submission in stranded { submission.fail(.cancelled, shutDownText) }
        Libcurl.multiCleanup(multi)
    }
}
