import Bus
import Foundation
import TestSupport
import Testing

@Suite("Request/reply", .timeLimit(.minutes(1)))
struct RequestReplyTests {
    @Test("a request gets the handler's reply; many clients at once")
    func roundTrip() async throws {
        try await withContext { context in
            let replier = try await Replier(context: context, bind: "tcp://127.0.0.1:*") { request in
                [Array("echo:".utf8) + request.joined()]
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<8 {
                    group.addTask {
                        let body = Array("client \(client)".utf8)
                        let reply = try await Requester.request(
                            context: context, endpoint: replier.endpoint, request: [body], timeoutMilliseconds: 5_000)
                        #expect(reply == [Array("echo:".utf8) + body])
                    }
                }
                try await group.waitForAll()
            }
            #expect(replier.statistics.answered == 8)
            await replier.close()
        }
    }

    @Test("cancelling the caller ends a wait for a silent peer at once, as nil")
    func cancelled() async throws {
        try await withContext { context in
            let port = try freeTCPPort()
            let waiting = Task {
                try await Requester.request(
                    context: context, endpoint: "tcp://127.0.0.1:\(port)", request: [[1]], timeoutMilliseconds: 120_000)
            }
            try await Task.sleep(for: .milliseconds(200))
            let clock = ContinuousClock()
            let start = clock.now
            waiting.cancel()
            let reply = try await withTimeout(seconds: 40, "the cancelled request") { try await waiting.value }
            #expect(reply == nil)
            // Loose for a loaded 2-core run; without cancellation it would wait 120 s.
            #expect(clock.now - start < .seconds(30))
        }
    }

    @Test("no replier: nil after the timeout, not a hang")
    func absentPeer() async throws {
        try await withContext { context in
            let started = ContinuousClock.now
            let reply = try await Requester.request(
                context: context, endpoint: "tcp://127.0.0.1:\(try freeTCPPort())", request: [[1]], timeoutMilliseconds: 300)
            #expect(reply == nil)
            let elapsed = ContinuousClock.now - started
            // Loose above: pool waits of ~9 s were seen on a loaded 2-core CI run.
            #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(12), "took \(elapsed)")
        }
    }

    @Test("a message without the REQ envelope is counted and dropped; the replier keeps answering")
    func malformed() async throws {
        try await withContext { context in
            let replier = try await Replier(context: context, bind: "tcp://127.0.0.1:*") { _ in [[42]] }
            // A DEALER that sends no empty delimiter frame.
            let raw = RawDealer(context: context, endpoint: replier.endpoint)
            try raw.send([[9, 9, 9]])
            try await waitUntil(seconds: 5) { replier.statistics.malformed == 1 }
            let reply = try await Requester.request(
                context: context, endpoint: replier.endpoint, request: [[1]], timeoutMilliseconds: 5_000)
            #expect(reply == [[42]])
            raw.close()
            await replier.close()
        }
    }
}

/// A DEALER used from the test's own thread only, for sending frames as they are.
private final class RawDealer {
    let socket: Socket
    init(context: Context, endpoint: String) {
        var options = SocketOptions()
        options.lingerMilliseconds = 0
        socket = try! Socket(context: context, type: .dealer, options: options)
        try! socket.connect(endpoint)
    }
    func send(_ frames: [[UInt8]]) throws {
        for _ in 0..<500 {
            if try socket.send(frames: frames) { return }
            usleep(2_000)
        }
        throw ZeroMQError(code: .wouldBlock, operation: "RawDealer.send")
    }
    func close() { socket.close() }
}

/// A loopback port nothing listens on (bound to find it, then released).
func freeTCPPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
