import CZeroMQ
import Foundation

/// PUB→SUB over loopback TCP through libzmq's C API only: the ceiling Tickwire is measured
/// against. Same frame sizes as a Tickwire tick; unlimited high-water marks, so nothing drops.
enum RawBaseline {
    /// Runs the blocking baseline on a thread of its own, never on the cooperative pool.
    static func onOwnThread(messages: Int, topicSize: Int, payloadSize: Int) async throws -> Double {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(
                    with: Result { try throughput(messages: messages, topicSize: topicSize, payloadSize: payloadSize) })
            }.start()
        }
    }

    static func throughput(messages: Int, topicSize: Int, payloadSize: Int) throws -> Double {
        guard let context = zmq_ctx_new() else { throw BenchError(description: "zmq_ctx_new failed") }
        defer { zmq_ctx_term(context) }
        let publisher = zmq_socket(context, ZMQ_PUB)
        let subscriber = zmq_socket(context, ZMQ_SUB)
        var zero: Int32 = 0
        var timeout: Int32 = 2_000
        for socket in [publisher, subscriber] {
            zmq_setsockopt(socket, ZMQ_SNDHWM, &zero, 4)
            zmq_setsockopt(socket, ZMQ_RCVHWM, &zero, 4)
            zmq_setsockopt(socket, ZMQ_LINGER, &zero, 4)
        }
        zmq_setsockopt(subscriber, ZMQ_RCVTIMEO, &timeout, 4)
        guard zmq_bind(publisher, "tcp://127.0.0.1:*") == 0 else { throw BenchError(description: "bind failed") }
        var endpoint = [CChar](repeating: 0, count: 256)
        var size = endpoint.count
        zmq_getsockopt(publisher, ZMQ_LAST_ENDPOINT, &endpoint, &size)
        let address = String(decoding: endpoint.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        zmq_connect(subscriber, address)
        zmq_setsockopt(subscriber, ZMQ_SUBSCRIBE, nil, 0)

        let topic = [UInt8](repeating: 0x41, count: topicSize)
        let payload = [UInt8](repeating: 0x42, count: payloadSize)
        let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        defer { message.deallocate() }
        zmq_msg_init(message)

        // Slow joiner: send warm-up messages until the subscriber sees one.
        var warm = [UInt8](repeating: 0x57, count: 4)
        var joined = false
        for _ in 0..<2_000 where !joined {
            zmq_send(publisher, &warm, warm.count, ZMQ_DONTWAIT)
            if zmq_recv(subscriber, &warm, warm.count, ZMQ_DONTWAIT) >= 0 { joined = true }
            usleep(1_000)
        }
        guard joined else { throw BenchError(description: "raw subscriber never joined") }
        while zmq_recv(subscriber, &warm, warm.count, ZMQ_DONTWAIT) >= 0 {}

        // The subscriber runs on this thread; the publisher on its own.
        let start = DispatchTime.now().uptimeNanoseconds
        let publisherHandle = UInt(bitPattern: publisher)
        let sender = Thread {
            let socket = UnsafeMutableRawPointer(bitPattern: publisherHandle)
            var topic = topic
            var payload = payload
            for _ in 0..<messages {
                zmq_send(socket, &topic, topic.count, ZMQ_SNDMORE)
                zmq_send(socket, &payload, payload.count, 0)
            }
        }
        sender.start()
        var received = 0
        while received < messages {
            guard zmq_msg_recv(message, subscriber, 0) >= 0 else { break }
            if zmq_msg_more(message) == 0 { received += 1 }
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        zmq_msg_close(message)
        // The sender finished before the last message arrived; closing now is safe.
        usleep(10_000)
        zmq_close(subscriber)
        zmq_close(publisher)
        guard received == messages else {
            throw BenchError(description: "raw baseline received \(received) of \(messages)")
        }
        return Double(messages) / elapsed
    }
}
