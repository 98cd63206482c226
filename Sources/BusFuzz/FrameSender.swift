import Bus
import CZeroMQ
import Contracts
import Foundation
import Synchronization

/// What bus-fuzz sent, and how many refusals each listener owes for it.
public struct SendTally: Sendable, Equatable {
    /// Frames handed to the socket (the probe, mutations, ...; not the oversize ones).
    public var sent = 0
    public var bytes = 0
    /// Candidates that would have passed validation, or were too large, and were not sent.
    public var discardedValid = 0
    public var discardedLarge = 0
    /// Frames whose topic matched a subscription upstream: only those leave the socket
    /// (ZeroMQ filters at the publisher) and reach the proxy.
    public var reachedProxy = 0
    /// Of those, messages that were not two frames.
    public var malformedReachedProxy = 0
    /// Messages above `bus.max_message_bytes`, each sent on a connection of its own (libzmq in
    /// the proxy cuts such a connection off; the message must reach no one).
    public var oversizeSent = 0
    /// Frames sent, by how they were made and by the reason receivers refuse them.
    public var byOrigin: [String: Int] = [:]
    public var byReason: [String: Int] = [:]
    /// Per listener (same order as the listeners): refusals owed for two-frame messages, by
    /// reason, and deliveries of messages that were not two frames (refused as `frames` if
    /// the proxy forwards them).
    public var owed: [[String: Int]]
    public var malformedOwed: [Int]

    init(listeners: Int) {
        owed = Array(repeating: [:], count: listeners)
        malformedOwed = Array(repeating: 0, count: listeners)
    }

    /// Counts one frame sent while `upstream` were the subscriptions at the proxy.
    mutating func record(_ frame: FuzzFrame, reason: RejectReason, upstream: Set<[UInt8]>, listeners: [Listener]) {
        sent += 1
        bytes += frame.frames.reduce(0) { $0 + $1.count }
        byOrigin[frame.origin.rawValue, default: 0] += 1
        byReason[reason.rawValue, default: 0] += 1
        let topic = frame.topic
        guard upstream.contains(where: { topic.starts(with: $0) }) else { return }
        reachedProxy += 1
        let wellFormed = frame.frames.count == 2
        if !wellFormed { malformedReachedProxy += 1 }
        for (index, listener) in listeners.enumerated() {
            let deliveries = listener.deliveries(of: topic)
            guard deliveries > 0 else { continue }
            if wellFormed {
                owed[index][reason.rawValue, default: 0] += deliveries
            } else {
                malformedOwed[index] += deliveries
            }
        }
    }
}

/// What the sending thread needs.
struct SendJob: Sendable {
    var endpoint: String
    var options: SocketOptions
    var frames: Int
    var rate: Double
    var oversize: Int
    var seed: UInt64
    var settings: FrameFactory.Settings
    var listeners: [Listener]
    /// Subscriptions that must be in place upstream before sending (the listeners' own).
    var requiredPrefixes: Set<[UInt8]>
    /// How long to wait for them.
    var subscriptionTimeout: Duration
}

/// The sender's progress, for the caller to print while it runs.
final class SendProgress: Sendable {
    private let count = Mutex(0)
    var sent: Int { count.withLock { $0 } }
    func update(_ sent: Int) { count.withLock { $0 = sent } }
}

/// Sends the fuzz frames from a thread of its own through an XPUB socket connected to
/// bus-proxy's XSUB side. XPUB rather than PUB: it reads the subscriptions the proxy passes
/// upstream, so it knows when every listener is subscribed and which frames leave at all, and
/// with `ZMQ_XPUB_NODROP` a full queue makes it wait instead of dropping. The rate is bounded.
enum FrameSender {
    static func run(_ job: SendJob, context: Context, progress: SendProgress) async -> Result<SendTally, FuzzError> {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                Thread.current.name = "bus-fuzz-send"
                continuation.resume(returning: send(job, context: context, progress: progress))
            }
            thread.stackSize = 1 << 22
            thread.start()
        }
    }

    static func send(_ job: SendJob, context: Context, progress: SendProgress) -> Result<SendTally, FuzzError> {
        do throws(ZeroMQError) {
            let socket = try openSocket(job, context: context)
            defer { socket.close() }
            var upstream = Set<[UInt8]>()
            let missing = try awaitSubscriptions(socket, job: job, quiet: .milliseconds(500), upstream: &upstream)
            guard missing.isEmpty else {
                return .failure(
                    FuzzError(
                        "bus-proxy never passed on the subscriptions \(missing.joined(separator: ", ")) "
                            + "within \(job.subscriptionTimeout): is every service of the stack up?"))
            }
            var factory = FrameFactory(settings: job.settings, seed: job.seed)
            var tally = SendTally(listeners: job.listeners.count)
            let interval = Duration.seconds(1 / max(job.rate, 1))
            let started = ContinuousClock.now
            for index in 0..<job.frames {
                if index % 256 == 0 {
                    try readSubscriptions(socket, into: &upstream)
                    progress.update(tally.sent)
                    let due = started + interval * index
                    if due > .now { Thread.sleep(forTimeInterval: (due - .now).seconds) }
                }
                let (frame, reason) = factory.next(now: WallClock.nanoseconds())
                guard try sendWaiting(socket, frame.frames) else {
                    return .failure(FuzzError("bus-proxy took no frame for 30 s (after \(tally.sent) frames)"))
                }
                tally.record(frame, reason: reason, upstream: upstream, listeners: job.listeners)
            }
            tally.discardedValid = factory.discardedValid
            tally.discardedLarge = factory.discardedLarge
            progress.update(tally.sent)
            // On status.bus-proxy, which bus-fuzz's own subscriber and the notifier listen to: were
            // one forwarded, their refusals would not add up.
            let topic = FrameFactory.probe.topic
            for _ in 0..<job.oversize {
                guard try sendOversize(factory.oversize(topic: topic), job: job, context: context) else {
                    return .failure(
                        FuzzError(
                            "an oversize frame's connection never received the subscription to \(printable(topic))"))
                }
                tally.oversizeSent += 1
            }
            return .success(tally)
        } catch {
            return .failure(FuzzError("sending to \(job.endpoint): \(error)"))
        }
    }

    static func openSocket(_ job: SendJob, context: Context) throws(ZeroMQError) -> Socket {
        let socket = try Socket(context: context, type: .xpub, options: job.options)
        do throws(ZeroMQError) {
            try socket.setOption(ZMQ_XPUB_NODROP, 1, name: "ZMQ_XPUB_NODROP")
            try socket.connect(job.endpoint)
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// Waits until every required subscription arrived and none changed for `quiet`; returns
    /// those still missing at the timeout (printable), none on success.
    static func awaitSubscriptions(
        _ socket: Socket, job: SendJob, quiet: Duration, upstream: inout Set<[UInt8]>
    ) throws(ZeroMQError) -> [String] {
        let deadline = ContinuousClock.now + job.subscriptionTimeout
        var lastChange = ContinuousClock.now
        while true {
            let before = upstream
            try readSubscriptions(socket, into: &upstream)
            if upstream != before { lastChange = .now }
            if job.requiredPrefixes.isSubset(of: upstream), ContinuousClock.now - lastChange >= quiet { return [] }
            guard ContinuousClock.now < deadline else {
                return job.requiredPrefixes.subtracting(upstream).map(printable).sorted()
            }
            _ = try socket.waitReadable(timeoutMilliseconds: 50)
        }
    }

    /// Applies the subscribe (first byte 1) and unsubscribe (0) messages waiting on `socket`.
    static func readSubscriptions(_ socket: Socket, into upstream: inout Set<[UInt8]>) throws(ZeroMQError) {
        for _ in 0..<10_000 {
            guard let frames = try socket.receiveFrames(), let message = frames.first, let first = message.first else {
                return
            }
            let prefix = Array(message.dropFirst())
            if first == 1 { upstream.insert(prefix) } else if first == 0 { upstream.remove(prefix) }
        }
    }

    /// Sends one message, waiting while the queue is full; false after 30 s of waiting.
    static func sendWaiting(_ socket: Socket, _ frames: [[UInt8]]) throws(ZeroMQError) -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while try !socket.send(frames: frames) {
            guard ContinuousClock.now < deadline else { return false }
            Thread.sleep(forTimeInterval: 0.001)
        }
        return true
    }

    /// Sends `frame` on a connection of its own, once the proxy passed the subscription its
    /// topic needs: the proxy cuts off a peer that sends more than `bus.max_message_bytes`.
    /// False when the subscription never came.
    static func sendOversize(_ frame: FuzzFrame, job: SendJob, context: Context) throws(ZeroMQError) -> Bool {
        var oversizeJob = job
        oversizeJob.options.lingerMilliseconds = 2_000
        oversizeJob.requiredPrefixes = [frame.topic]
        oversizeJob.subscriptionTimeout = .seconds(10)
        let socket = try openSocket(oversizeJob, context: context)
        defer { socket.close() }
        var upstream = Set<[UInt8]>()
        guard try awaitSubscriptions(socket, job: oversizeJob, quiet: .zero, upstream: &upstream).isEmpty else {
            return false
        }
        return try sendWaiting(socket, frame.frames)
    }
}

/// Bytes shown safely: printable ASCII as is, the rest as `\xNN`.
func printable(_ bytes: [UInt8]) -> String {
    var text = ""
    for byte in bytes.prefix(64) {
        if byte >= 0x20 && byte < 0x7f {
            text.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            text += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }
    }
    return bytes.count > 64 ? text + "…" : text
}

extension Duration {
    /// In seconds, as a `Double`.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
