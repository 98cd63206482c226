import CZeroMQ

/// The ZeroMQ socket types Tickwire uses.
public enum SocketType: Sendable, CustomStringConvertible {
    case pub, sub, xpub, xsub, router, dealer, pair, rep

    var rawValue: Int32 {
        switch self {
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .xpub: ZMQ_XPUB
        case .xsub: ZMQ_XSUB
        case .router: ZMQ_ROUTER
        case .dealer: ZMQ_DEALER
        case .pair: ZMQ_PAIR
        case .rep: ZMQ_REP
        }
    }

    public var description: String {
        switch self {
        case .pub: "PUB"
        case .sub: "SUB"
        case .xpub: "XPUB"
        case .xsub: "XSUB"
        case .router: "ROUTER"
        case .dealer: "DEALER"
        case .pair: "PAIR"
        case .rep: "REP"
        }
    }
}

/// Options applied to a socket before it binds or connects.
public struct SocketOptions: Sendable, Hashable {
    /// Messages queued per peer before sends drop (PUB) or block (DEALER). 0 is unlimited.
    public var sendHighWaterMark: Int32 = 100_000
    /// Messages queued per peer on the receive side. 0 is unlimited.
    public var receiveHighWaterMark: Int32 = 100_000
    /// How long unsent messages may delay closing, in milliseconds; -1 waits forever.
    public var lingerMilliseconds: Int32 = 500
    /// First reconnect delay after a lost connection, in milliseconds.
    public var reconnectIntervalMilliseconds: Int32 = 100
    /// Upper bound of the reconnect delay (it doubles up to here), in milliseconds.
    public var reconnectIntervalMaxMilliseconds: Int32 = 2_000
    /// TCP keepalive probes, so a dead peer behind a silent network is noticed.
    public var tcpKeepalive: Bool = true
    /// Seconds of idleness before the first keepalive probe.
    public var tcpKeepaliveIdleSeconds: Int32 = 30
    /// Seconds between keepalive probes.
    public var tcpKeepaliveIntervalSeconds: Int32 = 10
    /// The largest inbound message accepted, in bytes; a peer that sends a larger one is
    /// disconnected by libzmq (`ZMQ_MAXMSGSIZE`). -1 is unlimited.
    public var maxMessageBytes: Int64 = 1 << 20
    /// CURVE encryption and authentication; `nil` is ZeroMQ's NULL mechanism (none).
    public var curve: CurveRole?

    public init() {}
}

/// One ZeroMQ socket. Not `Sendable`: a socket is created, used and closed on the one
/// thread that owns it (libzmq sockets are not thread safe).
public final class Socket {
    public let type: SocketType
    let handle: UnsafeMutableRawPointer
    /// Reused for every receive; libzmq keeps small messages inside the struct, so it lives
    /// at a stable address and its data is only read inside the receive call.
    private let message: UnsafeMutablePointer<zmq_msg_t>
    /// A second message, for forwarding a topic and payload together.
    private let spare: UnsafeMutablePointer<zmq_msg_t>
    private var isClosed = false

    /// Creates a socket of `type` in `context` and applies `options`.
    public init(context: Context, type: SocketType, options: SocketOptions = .init()) throws(ZeroMQError) {
        self.type = type
        handle = try zmqPointer("zmq_socket") { zmq_socket(context.handle, type.rawValue) }
        message = .allocate(capacity: 1)
        zmq_msg_init(message)
        spare = .allocate(capacity: 1)
        zmq_msg_init(spare)
        do {
            try apply(options)
        } catch {
            close()
            throw error
        }
    }

    deinit {
        close()
        zmq_msg_close(message)
        message.deallocate()
        zmq_msg_close(spare)
        spare.deallocate()
    }

    private func apply(_ options: SocketOptions) throws(ZeroMQError) {
        try setOption(ZMQ_SNDHWM, options.sendHighWaterMark, name: "ZMQ_SNDHWM")
        try setOption(ZMQ_RCVHWM, options.receiveHighWaterMark, name: "ZMQ_RCVHWM")
        try setOption(ZMQ_LINGER, options.lingerMilliseconds, name: "ZMQ_LINGER")
        try setOption(ZMQ_RECONNECT_IVL, options.reconnectIntervalMilliseconds, name: "ZMQ_RECONNECT_IVL")
        try setOption(ZMQ_RECONNECT_IVL_MAX, options.reconnectIntervalMaxMilliseconds, name: "ZMQ_RECONNECT_IVL_MAX")
        try setOption(ZMQ_MAXMSGSIZE, int64: options.maxMessageBytes, name: "ZMQ_MAXMSGSIZE")
        try setOption(ZMQ_TCP_KEEPALIVE, options.tcpKeepalive ? 1 : 0, name: "ZMQ_TCP_KEEPALIVE")
        if options.tcpKeepalive {
            try setOption(ZMQ_TCP_KEEPALIVE_IDLE, options.tcpKeepaliveIdleSeconds, name: "ZMQ_TCP_KEEPALIVE_IDLE")
            try setOption(ZMQ_TCP_KEEPALIVE_INTVL, options.tcpKeepaliveIntervalSeconds, name: "ZMQ_TCP_KEEPALIVE_INTVL")
        }
        if let curve = options.curve { try apply(curve) }
    }

    /// `ZMQ_ZAP_ENFORCE_DOMAIN` (93), hidden behind `ZMQ_BUILD_DRAFT_API` in zmq.h.
    static let zapEnforceDomain: Int32 = 93

    private func apply(_ curve: CurveRole) throws(ZeroMQError) {
        func key(_ text: String, _ name: String) throws(ZeroMQError) -> [UInt8] {
            guard let bytes = Curve.decode(text) else {
                throw ZeroMQError(code: .invalidArgument, operation: "\(name): not a 40-character Z85 key")
            }
            return bytes
        }
        switch curve {
        case .server(let secretKey, let domain):
            // The domain makes libzmq ask the context's ZAP handler about every client.
            try setOption(ZMQ_ZAP_DOMAIN, bytes: Array(domain.utf8), name: "ZMQ_ZAP_DOMAIN")
            // Without this, libzmq accepts every client when no ZAP handler is bound (the
            // "Stonehouse" legacy mode). zmq.h lists it under the draft API, but 4.3's
            // release builds implement it.
            try setOption(Socket.zapEnforceDomain, 1, name: "ZMQ_ZAP_ENFORCE_DOMAIN")
            try setOption(ZMQ_CURVE_SERVER, 1, name: "ZMQ_CURVE_SERVER")
            try setOption(ZMQ_CURVE_SECRETKEY, bytes: try key(secretKey, "ZMQ_CURVE_SECRETKEY"), name: "ZMQ_CURVE_SECRETKEY")
        case .client(let publicKey, let secretKey, let serverKey):
            try setOption(ZMQ_CURVE_SERVERKEY, bytes: try key(serverKey, "ZMQ_CURVE_SERVERKEY"), name: "ZMQ_CURVE_SERVERKEY")
            try setOption(ZMQ_CURVE_PUBLICKEY, bytes: try key(publicKey, "ZMQ_CURVE_PUBLICKEY"), name: "ZMQ_CURVE_PUBLICKEY")
            try setOption(ZMQ_CURVE_SECRETKEY, bytes: try key(secretKey, "ZMQ_CURVE_SECRETKEY"), name: "ZMQ_CURVE_SECRETKEY")
        }
    }

    /// Sets an integer socket option (`ZMQ_*`).
    public func setOption(_ option: Int32, _ value: Int32, name: String? = nil) throws(ZeroMQError) {
        var value = value
        let size = MemoryLayout<Int32>.size
        do throws(ZeroMQError) {
            try zmqCheck("zmq_setsockopt") { zmq_setsockopt(handle, option, &value, size) }
        } catch {
            throw ZeroMQError(code: error.code, operation: "zmq_setsockopt(\(name ?? String(option)))")
        }
    }

    /// Sets a 64-bit integer socket option such as `ZMQ_MAXMSGSIZE`.
    public func setOption(_ option: Int32, int64 value: Int64, name: String? = nil) throws(ZeroMQError) {
        var value = value
        let size = MemoryLayout<Int64>.size
        do throws(ZeroMQError) {
            try zmqCheck("zmq_setsockopt") { zmq_setsockopt(handle, option, &value, size) }
        } catch {
            throw ZeroMQError(code: error.code, operation: "zmq_setsockopt(\(name ?? String(option)))")
        }
    }

    /// Sets a bytes socket option such as `ZMQ_SUBSCRIBE`.
    public func setOption(_ option: Int32, bytes: [UInt8], name: String? = nil) throws(ZeroMQError) {
        let handle = self.handle
        do throws(ZeroMQError) {
            try zmqCheck("zmq_setsockopt") {
                bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
            }
        } catch {
            throw ZeroMQError(code: error.code, operation: "zmq_setsockopt(\(name ?? String(option)))")
        }
    }

    /// Binds to `endpoint` (`tcp://`, `ipc://`, `inproc://`) and returns the endpoint actually
    /// bound, which differs from the request for wildcard ports such as `tcp://127.0.0.1:*`.
    @discardableResult
    public func bind(_ endpoint: String) throws(ZeroMQError) -> String {
        try zmqCheck("zmq_bind", endpoint: endpoint) { zmq_bind(handle, endpoint) }
        return lastEndpoint ?? endpoint
    }

    /// Connects to `endpoint`. libzmq connects (and reconnects) in the background.
    public func connect(_ endpoint: String) throws(ZeroMQError) {
        try zmqCheck("zmq_connect", endpoint: endpoint) { zmq_connect(handle, endpoint) }
    }

    /// Subscribes a SUB socket to every message whose first frame starts with `prefix`.
    public func subscribe(_ prefix: [UInt8]) throws(ZeroMQError) {
        try setOption(ZMQ_SUBSCRIBE, bytes: prefix, name: "ZMQ_SUBSCRIBE")
    }

    /// Removes one earlier ``subscribe(_:)`` of the same prefix.
    public func unsubscribe(_ prefix: [UInt8]) throws(ZeroMQError) {
        try setOption(ZMQ_UNSUBSCRIBE, bytes: prefix, name: "ZMQ_UNSUBSCRIBE")
    }

    /// The endpoint last bound or connected, as libzmq resolved it.
    public var lastEndpoint: String? {
        var buffer = [CChar](repeating: 0, count: 512)
        var size = buffer.count
        let rc = zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size)
        guard rc == 0 else { return nil }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: Sending

    /// Sends one frame without blocking. `more` marks that another frame of the same
    /// message follows. Returns `false` when the message cannot be queued now.
    public func send(_ bytes: UnsafeRawBufferPointer, more: Bool = false) throws(ZeroMQError) -> Bool {
        let flags = ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)
        let handle = self.handle
        switch try zmqCall("zmq_send", { zmq_send(handle, bytes.baseAddress, bytes.count, flags) }) {
        case .done: return true
        case .wouldBlock: return false
        }
    }

    /// Sends a multipart message without blocking. Returns `false` if it could not be queued
    /// (only the first frame can fail that way; once it is queued the rest are guaranteed).
    @discardableResult
    public func send(frames: [[UInt8]]) throws(ZeroMQError) -> Bool {
        for index in frames.indices {
            let more = index < frames.count - 1
            let sent = try frames[index].withBytes { (buffer) throws(ZeroMQError) -> Bool in
                try send(buffer, more: more)
            }
            if !sent { return false }
        }
        return true
    }

    // MARK: Receiving

    /// Receives one whole multipart message without blocking and hands each frame to `frame`
    /// (the bytes are valid only during that call). Returns the frame count, or `nil` when no
    /// message is waiting.
    public func receive(
        _ frame: (_ index: Int, _ bytes: UnsafeRawBufferPointer) -> Void
    ) throws(ZeroMQError) -> Int? {
        var index = 0
        while true {
            let flags = index == 0 ? ZMQ_DONTWAIT : 0
            let message = self.message
            let handle = self.handle
            switch try zmqCall("zmq_msg_recv", { zmq_msg_recv(message, handle, flags) }) {
            case .wouldBlock:
                if index == 0 { return nil }
                continue  // cannot happen: later frames arrive with the first
            case .done:
                let bytes = UnsafeRawBufferPointer(start: zmq_msg_data(message), count: zmq_msg_size(message))
                frame(index, bytes)
                index += 1
                if zmq_msg_more(message) == 0 { return index }
            }
        }
    }

    /// Receives one whole multipart message without blocking, copying its frames.
    public func receiveFrames() throws(ZeroMQError) -> [[UInt8]]? {
        var frames: [[UInt8]] = []
        let count = try receive { _, bytes in frames.append(Array(bytes)) }
        return count == nil ? nil : frames
    }

    /// Forwards one waiting multipart message to `destination` without copying its frames.
    /// Returns the number of frames and bytes moved, or `nil` when none was waiting.
    /// The send never blocks; frames the destination cannot queue are dropped, as PUB does.
    public func forward(to destination: Socket) throws(ZeroMQError) -> (frames: Int, bytes: Int)? {
        var frames = 0
        var bytes = 0
        let message = self.message
        let handle = self.handle
        while true {
            let flags = frames == 0 ? ZMQ_DONTWAIT : 0
            switch try zmqCall("zmq_msg_recv", { zmq_msg_recv(message, handle, flags) }) {
            case .wouldBlock:
                if frames == 0 { return nil }
                continue
            case .done(let size):
                bytes += Int(size)
                frames += 1
                let more = zmq_msg_more(message) != 0
                let sendFlags = ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)
                let target = destination.handle
                // zmq_msg_send takes ownership of the content and leaves `message` empty.
                _ = try zmqCall("zmq_msg_send", { zmq_msg_send(message, target, sendFlags) })
                if !more { return (frames, bytes) }
            }
        }
    }

    /// What ``forward(to:checking:)`` did with one message.
    public enum CheckedForward {
        /// Passed on (`bytes` in both frames).
        case forwarded(bytes: Int)
        /// Dropped: the gate refused it.
        case refused(ProxyRefusal)
    }

    /// Receives one waiting message and forwards it to `destination` without copying, if it
    /// has the bus's two frames and `gate` admits it (the gate sees the `User-Id` that the
    /// sender's connection was authenticated as, the topic and the payload). Returns `nil`
    /// when no message was waiting.
    public func forward(to destination: Socket, checking gate: inout some ProxyGate) throws(ZeroMQError) -> CheckedForward? {
        let first = message
        let second = spare
        let handle = self.handle
        guard case .done(let topicSize) = try zmqCall("zmq_msg_recv", { zmq_msg_recv(first, handle, ZMQ_DONTWAIT) }) else {
            return nil
        }
        guard zmq_msg_more(first) != 0 else { return .refused(.malformed) }
        // Later frames of a message arrive with the first: a blocking receive returns at once.
        let payloadSize = try zmqCall("zmq_msg_recv", { zmq_msg_recv(second, handle, 0) })
        if zmq_msg_more(second) != 0 {
            while zmq_msg_more(second) != 0 {
                _ = try zmqCall("zmq_msg_recv", { zmq_msg_recv(second, handle, 0) })
            }
            return .refused(.malformed)
        }
        let topic = UnsafeRawBufferPointer(start: zmq_msg_data(first), count: zmq_msg_size(first))
        let payload = UnsafeRawBufferPointer(start: zmq_msg_data(second), count: zmq_msg_size(second))
        if let refusal = gate.admit(userID: zmq_msg_gets(first, "User-Id"), topic: topic, payload: payload) {
            return .refused(refusal)
        }
        let target = destination.handle
        // zmq_msg_send takes ownership of the content and leaves the message empty. A full
        // destination drops the message, as PUB does.
        _ = try zmqCall("zmq_msg_send", { zmq_msg_send(first, target, ZMQ_DONTWAIT | ZMQ_SNDMORE) })
        _ = try zmqCall("zmq_msg_send", { zmq_msg_send(second, target, ZMQ_DONTWAIT) })
        guard case .done(let payloadBytes) = payloadSize else { return .forwarded(bytes: Int(topicSize)) }
        return .forwarded(bytes: Int(topicSize) + Int(payloadBytes))
    }

    /// Waits up to `timeoutMilliseconds` until a message can be sent without blocking.
    public func waitWritable(timeoutMilliseconds: Int) throws(ZeroMQError) -> Bool {
        var items = [zmq_pollitem_t(socket: handle, fd: -1, events: Int16(ZMQ_POLLOUT), revents: 0)]
        return try poll(&items, timeoutMilliseconds: timeoutMilliseconds) > 0
    }

    /// Waits up to `timeoutMilliseconds` for this socket to become readable.
    public func waitReadable(timeoutMilliseconds: Int) throws(ZeroMQError) -> Bool {
        var items = [zmq_pollitem_t(socket: handle, fd: -1, events: Int16(ZMQ_POLLIN), revents: 0)]
        return try poll(&items, timeoutMilliseconds: timeoutMilliseconds) > 0
    }

    /// Closes the socket. Messages still queued are sent during the linger period.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        _ = zmq_close(handle)
    }
}

/// `zmq_poll` over `items` with a bounded timeout; returns how many are ready.
/// An interrupted poll counts as a timeout (nothing ready).
func poll(_ items: inout [zmq_pollitem_t], timeoutMilliseconds: Int) throws(ZeroMQError) -> Int {
    let count = Int32(items.count)
    let result = items.withUnsafeMutableBufferPointer { buffer -> Int32 in
        zmq_poll(buffer.baseAddress, count, timeoutMilliseconds)
    }
    if result >= 0 { return Int(result) }
    let errno = zmq_errno()
    if errno == EINTR { return 0 }
    throw ZeroMQError(code: .init(errno), operation: "zmq_poll")
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for bodies that throw ``ZeroMQError``.
    func withBytes<Result>(
        _ body: (UnsafeRawBufferPointer) throws(ZeroMQError) -> Result
    ) throws(ZeroMQError) -> Result {
        try withUnsafeBytes { buffer in
            Swift.Result { () throws(ZeroMQError) in try body(buffer) }
        }.get()
    }
}
