import Synchronization

/// The ZAP handler of one ``Context`` (ZeroMQ RFC 27): libzmq asks it about every client
/// that connects to a CURVE server socket of that context, and the identity it answers with
/// travels with the client's messages as their `User-Id` property.
///
/// `identify` maps a client's public key (Z85) to an identity, or `nil` to refuse it. Bind
/// it before any server socket and close it after them: server sockets enforce the domain,
/// so without a handler every CURVE client is refused, never let in.
public final class Authenticator: Sendable {
    /// Maps a client's Z85 public key to its identity; `nil` refuses the client.
    public typealias Identify = @Sendable (_ publicKey: String) -> String?

    /// Counters since start.
    public struct Statistics: Sendable, Equatable {
        public var accepted: UInt64 = 0
        /// Clients with an unknown key or another mechanism.
        public var refused: UInt64 = 0
        /// Requests that did not follow ZAP.
        public var malformed: UInt64 = 0
        public init() {}
    }

    /// Where libzmq sends ZAP requests.
    public static let endpoint = "inproc://zeromq.zap.01"

    private struct State {
        var statistics = Statistics()
        var stopRequested = false
        var failure: ZeroMQError?
        /// The latest refusals, for the log: (address, key).
        var refusals: [(address: String, key: String)] = []
    }

    private final class Core: Sendable {
        let state = Mutex(State())
        let exit = ThreadExit()
    }

    private let core = Core()

    /// Binds the handler in `context` on a thread of its own.
    public init(context: Context, identify: @escaping Identify) async throws(ZeroMQError) {
        let core = self.core
        let started: Result<Void, ZeroMQError> = await withCheckedContinuation { continuation in
            OwnerThread.start(name: "zmq-zap") {
                let socket: Socket
                do throws(ZeroMQError) {
                    var options = SocketOptions()
                    options.lingerMilliseconds = 0
                    options.tcpKeepalive = false
                    socket = try Socket(context: context, type: .rep, options: options)
                    try socket.bind(Authenticator.endpoint)
                } catch {
                    core.exit.signal()
                    continuation.resume(returning: .failure(error))
                    return
                }
                continuation.resume(returning: .success(()))
                Authenticator.run(socket: socket, core: core, identify: identify)
            }
        }
        try started.get()
    }

    deinit {
        core.state.withLock { $0.stopRequested = true }
    }

    public var statistics: Statistics { core.state.withLock { $0.statistics } }

    /// Why the handler stopped, if it stopped on an error (its server sockets then refuse
    /// every new client).
    public var failure: ZeroMQError? { core.state.withLock { $0.failure } }

    /// Refusals since the last call, oldest first (at most 100 are kept), for the log.
    public func takeRefusals() -> [(address: String, key: String)] {
        core.state.withLock { state in
            defer { state.refusals.removeAll() }
            return state.refusals
        }
    }

    /// Stops answering and unbinds. Close the server sockets first.
    public func close() async {
        core.state.withLock { $0.stopRequested = true }
        await core.exit.wait()
    }

    /// One ZAP request's answer: `[version, request id, status code, status text, user id, metadata]`.
    static func reply(to request: [[UInt8]], identify: Identify) -> (frames: [[UInt8]], verdict: Verdict) {
        // [version, request id, domain, address, routing id, mechanism, credentials...]
        guard request.count >= 6, request[0] == Array("1.0".utf8) else {
            let id = request.count > 1 ? request[1] : []
            return (answer(id, "400", "malformed ZAP request", user: ""), .malformed)
        }
        let id = request[1]
        let address = String(decoding: request[3].prefix(64), as: UTF8.self)
        guard request[5] == Array("CURVE".utf8), request.count == 7, let key = Curve.encode(request[6]) else {
            return (answer(id, "400", "CURVE with a known key is required", user: ""), .refused(address: address, key: "-"))
        }
        guard let identity = identify(key), !identity.isEmpty else {
            return (answer(id, "400", "unknown key", user: ""), .refused(address: address, key: key))
        }
        return (answer(id, "200", "OK", user: identity), .accepted)
    }

    enum Verdict: Equatable {
        case accepted
        case refused(address: String, key: String)
        case malformed
    }

    private static func answer(_ id: [UInt8], _ code: String, _ text: String, user: String) -> [[UInt8]] {
        [Array("1.0".utf8), id, Array(code.utf8), Array(text.utf8), Array(user.utf8), []]
    }

    private static func run(socket: Socket, core: Core, identify: Identify) {
        var failure: ZeroMQError?
        while !core.state.withLock({ $0.stopRequested }) {
            do throws(ZeroMQError) {
                guard try socket.waitReadable(timeoutMilliseconds: 100) else { continue }
                while let request = try socket.receiveFrames() {
                    let (frames, verdict) = reply(to: request, identify: identify)
                    try socket.send(frames: frames)
                    core.state.withLock { state in
                        switch verdict {
                        case .accepted: state.statistics.accepted &+= 1
                        case .malformed: state.statistics.malformed &+= 1
                        case .refused(let address, let key):
                            state.statistics.refused &+= 1
                            if state.refusals.count < 100 { state.refusals.append((address, key)) }
                        }
                    }
                }
            } catch {
                if !error.isTermination { failure = error }
                break
            }
        }
        socket.close()
        core.state.withLock { $0.failure = failure }
        core.exit.signal()
    }
}
