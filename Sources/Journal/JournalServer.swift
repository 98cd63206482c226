import Bus
import Contracts
import Dispatch
import Foundation
import SwiftProtobuf
import Synchronization
import Timekeeping

/// Answers catch-up requests (`JournalRequest` → `JournalReply`, docs/bus.md "Journal").
///
/// A request is outside data: its patterns must parse, its numbers are capped, and anything
/// else is answered with an `error`, never a crash. The store is read on a task; the
/// replier's own thread waits for it at most `timeout`.
public struct JournalServer: Sendable {
    public let store: any JournalStore
    public let producer: Producer
    /// Records per reply at most.
    public let maxMessages: Int
    /// Frame bytes per reply at most.
    public let maxBytes: Int
    public let timeout: Duration

    public init(store: any JournalStore, producer: Producer, maxMessages: Int, maxBytes: Int, timeout: Duration) {
        self.store = store
        self.producer = producer
        self.maxMessages = max(1, maxMessages)
        self.maxBytes = max(1 << 16, maxBytes)
        self.timeout = timeout
    }

    /// Patterns per request at most.
    public static let maxPatterns = 256

    /// The query a request asks for, or why it cannot be answered.
    public func query(for request: JournalRequest) -> Result<JournalQuery, RequestError> {
        guard request.schemaVersion == Codec.schemaVersion else {
            return .failure(RequestError("unknown schema version \(request.schemaVersion) (this journal speaks \(Codec.schemaVersion))"))
        }
        guard request.patterns.count <= Self.maxPatterns else {
            return .failure(RequestError("\(request.patterns.count) patterns; at most \(Self.maxPatterns)"))
        }
        var query = JournalQuery()
        for text in request.patterns {
            do {
                query.patterns.append(try TopicPattern(text))
            } catch {
                return .failure(RequestError("pattern '\(text.prefix(100))' is not a topic pattern: \(error)"))
            }
        }
        guard request.fromPublishTimeNs >= 0, request.toPublishTimeNs >= 0 else {
            return .failure(RequestError("times must not be negative"))
        }
        query.fromPublishNs = request.fromPublishTimeNs
        query.toPublishNs = request.toPublishTimeNs
        if request.hasStream {
            let stream = request.stream
            guard !stream.topic.isEmpty, (try? TopicPattern(stream.topic)).map({ if case .exact = $0.match { true } else { false } }) == true
            else {
                return .failure(RequestError("stream.topic '\(stream.topic.prefix(100))' is not one topic"))
            }
            guard request.toSequence == 0 || request.toSequence >= request.fromSequence else {
                return .failure(RequestError("to_sequence is below from_sequence"))
            }
            query.stream = JournalStream(
                service: stream.service, instance: stream.instance, startedAtNs: stream.startedAtNs, topic: stream.topic)
            query.fromSequence = request.fromSequence
            query.toSequence = request.toSequence
        }
        query.afterID = request.afterID
        query.limit = request.maxMessages == 0 ? maxMessages : min(maxMessages, Int(request.maxMessages))
        query.byteLimit = maxBytes
        return .success(query)
    }

    /// A request's error.
    public struct RequestError: Error, Sendable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Answers one request (its frames) with the reply's frames. Runs on the replier's thread.
    public func handle(frames: [[UInt8]]) -> [[UInt8]] {
        var reply = JournalReply()
        reply.schemaVersion = Codec.schemaVersion
        reply.producer = producer
        guard frames.count == 1, let request = try? JournalRequest(serializedBytes: frames[0]) else {
            reply.error = "expected one frame holding a JournalRequest"
            return Self.encode(reply)
        }
        switch query(for: request) {
        case .failure(let error):
            reply.error = error.description
        case .success(let query):
            switch wait(for: query) {
            case .success(let page):
                reply.messages = page.records.map { record in
                    var message = JournaledMessage()
                    message.id = record.id
                    message.topic = Data(record.topicFrame)
                    message.envelope = Data(record.envelope)
                    message.receivedNs = record.receivedNs
                    return message
                }
                reply.nextID = page.nextID
                reply.oldestPublishTimeNs = page.oldestPublishNs
            case .failure(let error):
                reply.error = error.description
            }
        }
        return Self.encode(reply)
    }

    static func encode(_ reply: JournalReply) -> [[UInt8]] {
        if let bytes: [UInt8] = try? reply.serializedBytes() { return [bytes] }
        var failed = JournalReply()
        failed.schemaVersion = Codec.schemaVersion
        failed.error = "internal: the reply could not be encoded"
        return [(try? failed.serializedBytes()) ?? []]
    }

    /// Runs the store's read on a task and waits for it here (a replier thread, never the
    /// cooperative pool) at most `timeout`.
    func wait(for query: JournalQuery) -> Result<JournalPage, RequestError> {
        let box = ResultBox()
        let store = self.store
        Task {
            let result: Result<JournalPage, RequestError>
            do {
                result = .success(try await store.read(query))
            } catch {
                result = .failure(RequestError("the store could not be read: \(error)"))
            }
            box.result.withLock { $0 = result }
            box.done.signal()
        }
        let millis = Nanoseconds.timeoutMilliseconds(timeout)
        guard box.done.wait(timeout: .now() + .milliseconds(millis)) == .success else {
            return .failure(RequestError("the store did not answer within \(timeout)"))
        }
        return box.result.withLock { $0 } ?? .failure(RequestError("internal: no result"))
    }

    private final class ResultBox: Sendable {
        let result = Mutex<Result<JournalPage, RequestError>?>(nil)
        let done = DispatchSemaphore(value: 0)
    }
}
