import Bus
import Dispatch
import Foundation
import Testing
import TestSupport

/// A SUB socket that subscribes to everything and never reads, on a thread of its own.
final class SilentSubscriber: Sendable {
    private let stop = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)

    init(context: Context, endpoint: String, receiveHighWaterMark: Int32) {
        let stop = self.stop
        let stopped = self.stopped
        let thread = Thread {
            var options = SocketOptions()
            options.receiveHighWaterMark = receiveHighWaterMark
            options.lingerMilliseconds = 0
            if let socket = try? Socket(context: context, type: .sub, options: options) {
                try? socket.subscribe([])
                try? socket.connect(endpoint)
                stop.wait()
                socket.close()
            }
            stopped.signal()
        }
        thread.start()
    }

    func close() async {
        stop.signal()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.stopped.wait()
                continuation.resume()
            }
        }
    }
}

@Suite("Publisher at a full high-water mark", .timeLimit(.minutes(1)))
struct PublisherHighWaterMarkTests {
    @Test("messages a stuck peer cannot take are counted as dropped at the high-water mark, never as sent")
    func countedApart() async throws {
        try await withContext { context in
            var options = SocketOptions()
            options.sendHighWaterMark = 10
            let publisher = try await Publisher(
                context: context, endpoint: loopbackWildcard, bind: true, options: options, queueLimit: 100_000)
            let subscriber = SilentSubscriber(context: context, endpoint: publisher.endpoint, receiveHighWaterMark: 10)
            try await Task.sleep(for: .milliseconds(500))  // the subscription reaches the publisher
            let payload = [UInt8](repeating: 7, count: 16_384)
            let count = 2_000  // 32 MB: far beyond the two HWMs and the kernel's socket buffers
            for _ in 0..<count { publisher.publish(topic: [1, 0]) { _ in payload } }
            // The owner thread waits at most highWaterMarkPatience once per stall.
            var statistics = publisher.statistics
            let deadline = ContinuousClock.now + .seconds(20)
            while statistics.sent + statistics.droppedAtHighWaterMark + statistics.dropped < UInt64(count),
                ContinuousClock.now < deadline
            {
                try await Task.sleep(for: .milliseconds(50))
                statistics = publisher.statistics
            }
            #expect(statistics.sent + statistics.droppedAtHighWaterMark + statistics.dropped == UInt64(count), "\(statistics)")
            #expect(statistics.droppedAtHighWaterMark > 0, "\(statistics)")
            #expect(statistics.sent < UInt64(count), "libzmq cannot have taken all of them: \(statistics)")
            await subscriber.close()
            await publisher.close()
        }
    }
}
