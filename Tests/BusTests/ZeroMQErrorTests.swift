import Bus
import Testing
import TestSupport

/// Failed binds and connects surface as typed ``ZeroMQError``s that name the libzmq
/// operation, the endpoint and the errno.
@Suite("ZeroMQError from bind and connect", .timeLimit(.minutes(1)))
struct ZeroMQErrorTests {
    @Test("binding a non-numeric port is EINVAL from zmq_bind, naming the endpoint")
    func bindToNonNumericPort() async throws {
        try await withContext { context in
            let socket = try Socket(context: context, type: .pub)
            defer { socket.close() }
            let error = try #require(throws: ZeroMQError.self) {
                try socket.bind("tcp://127.0.0.1:notaport")
            }
            #expect(error.code == .invalidArgument)
            #expect(error.operation == "zmq_bind")
            #expect(error.endpoint == "tcp://127.0.0.1:notaport")
            #expect(error.isTermination == false)
            #expect(error.description == "zmq_bind failed for tcp://127.0.0.1:notaport: Invalid argument (errno 22)")
        }
    }

    @Test("an unknown transport is EPROTONOSUPPORT for both bind and connect")
    func bogusScheme() async throws {
        try await withContext { context in
            let socket = try Socket(context: context, type: .sub)
            defer { socket.close() }
            let bindError = try #require(throws: ZeroMQError.self) { try socket.bind("bogus://somewhere") }
            #expect(bindError.code == .protocolNotSupported)
            #expect(bindError.operation == "zmq_bind")
            #expect(bindError.endpoint == "bogus://somewhere")

            let connectError = try #require(throws: ZeroMQError.self) { try socket.connect("bogus://somewhere") }
            #expect(connectError.code == .protocolNotSupported)
            #expect(connectError.operation == "zmq_connect")
            #expect(connectError.endpoint == "bogus://somewhere")
        }
    }

    @Test("connecting to a TCP address without a port is EINVAL from zmq_connect")
    func connectWithoutPort() async throws {
        try await withContext { context in
            let socket = try Socket(context: context, type: .sub)
            defer { socket.close() }
            let error = try #require(throws: ZeroMQError.self) { try socket.connect("tcp://127.0.0.1") }
            #expect(error.code == .invalidArgument)
            #expect(error.operation == "zmq_connect")
            #expect(error.endpoint == "tcp://127.0.0.1")
        }
    }

    @Test("a wildcard bind returns the resolved endpoint, and binding that port again is EADDRINUSE")
    func bindSamePortTwice() async throws {
        try await withContext { context in
            let first = try Socket(context: context, type: .pub)
            let second = try Socket(context: context, type: .pub)
            defer {
                first.close()
                second.close()
            }
            let resolved = try first.bind(loopbackWildcard)
            #expect(resolved.hasPrefix("tcp://127.0.0.1:"))
            let port = try #require(Int(resolved.dropFirst("tcp://127.0.0.1:".count)))
            #expect((1...65_535).contains(port))
            #expect(first.lastEndpoint == resolved)

            let error = try #require(throws: ZeroMQError.self) { try second.bind(resolved) }
            #expect(error.code == .addressInUse)
            #expect(error.operation == "zmq_bind")
            #expect(error.endpoint == resolved)
        }
    }

    @Test("binding the same inproc name twice in one context is EADDRINUSE")
    func bindSameInprocTwice() async throws {
        try await withContext { context in
            let endpoint = uniqueInprocEndpoint("twice")
            let first = try Socket(context: context, type: .pub)
            let second = try Socket(context: context, type: .pub)
            defer {
                first.close()
                second.close()
            }
            #expect(try first.bind(endpoint) == endpoint)
            let error = try #require(throws: ZeroMQError.self) { try second.bind(endpoint) }
            #expect(error.code == .addressInUse)
            #expect(error.endpoint == endpoint)
        }
    }

    @Test("Publisher, Subscription and Proxy throw the socket's error from their async init")
    func asyncInitializersThrowTypedErrors() async throws {
        try await withContext { context in
            let holder = try await Publisher(context: context, endpoint: loopbackWildcard, bind: true)

            let publisherError = await #expect(throws: ZeroMQError.self) {
                _ = try await Publisher(context: context, endpoint: holder.endpoint, bind: true)
            }
            #expect(publisherError?.code == .addressInUse)
            #expect(publisherError?.operation == "zmq_bind")
            #expect(publisherError?.endpoint == holder.endpoint)

            let subscriptionError = await #expect(throws: ZeroMQError.self) {
                _ = try await Subscription(context: context, endpoint: "bogus://x", prefixes: [[]])
            }
            #expect(subscriptionError?.code == .protocolNotSupported)
            #expect(subscriptionError?.operation == "zmq_connect")
            #expect(subscriptionError?.endpoint == "bogus://x")

            let proxyError = await #expect(throws: ZeroMQError.self) {
                _ = try await Proxy(context: context, frontend: loopbackWildcard, backend: "tcp://127.0.0.1:notaport")
            }
            #expect(proxyError?.code == .invalidArgument)
            #expect(proxyError?.operation == "zmq_bind")
            #expect(proxyError?.endpoint == "tcp://127.0.0.1:notaport")
            await holder.close()
        }
    }

    @Test("a socket made after the context shut down fails with ETERM, which counts as termination")
    func socketAfterShutdown() async throws {
        try await withContext { context in
            context.shutdown()
            let error = try #require(throws: ZeroMQError.self) { _ = try Socket(context: context, type: .sub) }
            #expect(error.code == .contextTerminated)
            #expect(error.operation == "zmq_socket")
            #expect(error.endpoint == nil)
            #expect(error.isTermination)
            #expect(error.description == "zmq_socket failed: \(error.code) (errno \(error.code.rawValue))")
        }
    }

    @Test("the description reads operation, endpoint, libzmq's text and errno")
    func descriptionFormat() {
        let error = ZeroMQError(code: .addressInUse, operation: "zmq_bind", endpoint: "tcp://127.0.0.1:7750")
        #expect(error.description == "zmq_bind failed for tcp://127.0.0.1:7750: Address already in use (errno 98)")
        let noEndpoint = ZeroMQError(code: .wouldBlock, operation: "zmq_send")
        #expect(noEndpoint.description == "zmq_send failed: Resource temporarily unavailable (errno 11)")
        #expect(ZeroMQError.Code.contextTerminated.description == "Context was terminated")
        #expect(ZeroMQError(code: .contextTerminated, operation: "zmq_poll").isTermination)
    }
}
