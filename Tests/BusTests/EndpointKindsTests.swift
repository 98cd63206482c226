import Bus
import Foundation
import TestSupport
import Testing

/// Every transport and socket pair the wrapper offers, driven synchronously on the test's own
/// thread (each socket is created, used and closed without an await in between).
@Suite("Transports and socket types")
struct EndpointKindsTests {
    /// Sends `frames` from `sender` until `receiver` gets them (PUB/SUB drops until joined).
    func exchange(_ sender: Socket, _ receiver: Socket, _ frames: [[UInt8]]) throws -> [[UInt8]]? {
        for _ in 0..<500 {
            _ = try sender.send(frames: frames)
            if try receiver.waitReadable(timeoutMilliseconds: 10), let got = try receiver.receiveFrames() { return got }
        }
        return nil
    }

    @Test("PUB/SUB over tcp, ipc and inproc carries multipart frames intact", arguments: ["tcp", "ipc", "inproc"])
    func transports(_ scheme: String) async throws {
        try await withContext { context in
            let endpoint: String
            switch scheme {
            case "tcp": endpoint = loopbackWildcard
            case "ipc": endpoint = "ipc://" + FileManager.default.temporaryDirectory.appendingPathComponent("tw-\(UUID().uuidString.prefix(8)).sock").path
            default: endpoint = uniqueInprocEndpoint("transports")
            }
            let publisher = try Socket(context: context, type: .pub)
            let subscriber = try Socket(context: context, type: .sub)
            let bound = try publisher.bind(endpoint)
            #expect(bound.hasPrefix(scheme + "://"))
            try subscriber.subscribe(Array("tick.".utf8))
            try subscriber.connect(bound)
            let frames: [[UInt8]] = [Array("tick.AAPL\0".utf8), [], [0, 1, 2, 255]]
            let received = try exchange(publisher, subscriber, frames)
            #expect(received == frames)
            publisher.close()
            subscriber.close()
        }
    }

    @Test("ROUTER/DEALER: the router sees the dealer's identity frame and can answer it")
    func routerDealer() async throws {
        try await withContext { context in
            let router = try Socket(context: context, type: .router)
            let dealer = try Socket(context: context, type: .dealer)
            let endpoint = try router.bind(loopbackWildcard)
            try dealer.connect(endpoint)
            #expect(try dealer.send(frames: [Array("ping".utf8)]))
            #expect(try router.waitReadable(timeoutMilliseconds: 5_000))
            let request = try #require(try router.receiveFrames())
            #expect(request.count == 2)
            #expect(request.last == Array("ping".utf8))
            #expect(try router.send(frames: [request[0], Array("pong".utf8)]))
            #expect(try dealer.waitReadable(timeoutMilliseconds: 5_000))
            #expect(try dealer.receiveFrames() == [Array("pong".utf8)])
            router.close()
            dealer.close()
        }
    }

    @Test("XPUB sees a SUB's subscription frame")
    func xpubSeesSubscriptions() async throws {
        try await withContext { context in
            let xpub = try Socket(context: context, type: .xpub)
            let subscriber = try Socket(context: context, type: .sub)
            let endpoint = try xpub.bind(loopbackWildcard)
            try subscriber.connect(endpoint)
            try subscriber.subscribe(Array("bar.MSFT\0".utf8))
            _ = try subscriber.waitReadable(timeoutMilliseconds: 0)  // lets the SUB send its subscription
            #expect(try xpub.waitReadable(timeoutMilliseconds: 5_000))
            #expect(try xpub.receiveFrames() == [[1] + Array("bar.MSFT\0".utf8)])
            xpub.close()
            subscriber.close()
        }
    }

    @Test("a receive with nothing waiting says so instead of blocking")
    func wouldBlock() async throws {
        try await withContext { context in
            let subscriber = try Socket(context: context, type: .sub)
            try subscriber.connect("tcp://127.0.0.1:1")
            let started = ContinuousClock.now
            #expect(try subscriber.receiveFrames() == nil)
            #expect(ContinuousClock.now - started < .seconds(2))  // a blocking receive would never return
            subscriber.close()
        }
    }
}
