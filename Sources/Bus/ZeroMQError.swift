import CZeroMQ

/// A failed libzmq call: which operation, on which endpoint, and libzmq's errno.
public struct ZeroMQError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An errno value as libzmq reports it, with names for the ones callers act on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(_ rawValue: Int32) { self.rawValue = rawValue }

        public static let wouldBlock = Code(EAGAIN)
        public static let interrupted = Code(EINTR)
        public static let invalidArgument = Code(EINVAL)
        public static let addressInUse = Code(EADDRINUSE)
        public static let addressNotAvailable = Code(EADDRNOTAVAIL)
        public static let protocolNotSupported = Code(EPROTONOSUPPORT)
        public static let noDevice = Code(ENODEV)
        public static let hostUnreachable = Code(EHOSTUNREACH)
        public static let tooManyFiles = Code(EMFILE)
        public static let contextTerminated = Code(tw_ETERM)
        public static let wrongState = Code(tw_EFSM)
        public static let notSocket = Code(ENOTSOCK)

        /// libzmq's own text for the code.
        public var description: String { String(cString: zmq_strerror(rawValue)) }
    }

    public let code: Code
    /// The libzmq function or wrapper operation that failed, e.g. `zmq_bind`.
    public let operation: String
    /// The endpoint involved, when there is one.
    public let endpoint: String?

    public init(code: Code, operation: String, endpoint: String? = nil) {
        self.code = code
        self.operation = operation
        self.endpoint = endpoint
    }

    /// The context was shut down: a normal end, not a failure.
    public var isTermination: Bool { code == .contextTerminated }

    public var description: String {
        var text = "\(operation) failed"
        if let endpoint { text += " for \(endpoint)" }
        return text + ": \(code) (errno \(code.rawValue))"
    }
}

/// What a non-blocking libzmq call did.
public enum IOResult<Value> {
    case done(Value)
    /// `EAGAIN`: nothing to receive, or the send queue is full.
    case wouldBlock
}

extension IOResult: Sendable where Value: Sendable {}

/// Runs one libzmq call that returns -1 on failure: reads `zmq_errno()` at once, retries
/// `EINTR`, reports `EAGAIN` as `.wouldBlock`, and throws every other errno as a typed error.
@inline(never)
func zmqCall(
    _ operation: StaticString,
    endpoint: String? = nil,
    _ body: () -> Int32
) throws(ZeroMQError) -> IOResult<Int32> {
    while true {
        let result = body()
        if result != -1 { return .done(result) }
        let errno = zmq_errno()
        switch errno {
        case EINTR: continue
        case EAGAIN: return .wouldBlock
        default:
            throw ZeroMQError(code: .init(errno), operation: "\(operation)", endpoint: endpoint)
        }
    }
}

/// Like ``zmqCall(_:endpoint:_:)`` for calls where `EAGAIN` cannot happen or is an error too.
@inline(never)
@discardableResult
func zmqCheck(
    _ operation: StaticString,
    endpoint: String? = nil,
    _ body: () -> Int32
) throws(ZeroMQError) -> Int32 {
    while true {
        let result = body()
        if result != -1 { return result }
        let errno = zmq_errno()
        if errno == EINTR { continue }
        throw ZeroMQError(code: .init(errno), operation: "\(operation)", endpoint: endpoint)
    }
}

/// Runs one libzmq call that returns a pointer, NULL on failure.
@inline(never)
func zmqPointer(
    _ operation: StaticString,
    _ body: () -> UnsafeMutableRawPointer?
) throws(ZeroMQError) -> UnsafeMutableRawPointer {
    while true {
        if let pointer = body() { return pointer }
        let errno = zmq_errno()
        if errno == EINTR { continue }
        throw ZeroMQError(code: .init(errno), operation: "\(operation)")
    }
}
