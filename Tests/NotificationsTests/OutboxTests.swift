import Foundation
import Notifications
import TestSupport
import Testing

@Suite("Outbox")
struct OutboxTests {
    func outbox() throws -> Outbox {
        try Outbox(
            path: FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString)/o.sqlite")
                .path)
    }

    let message = OutgoingMessage(id: "signal-AAPL-1-BUY", subject: "BUY AAPL", text: "t", html: "", priority: "high")

    @Test("a message is stored once per channel: the same id never twice")
    func dedupe() async throws {
        let box = try outbox()
        #expect(try await box.enqueue(message, channels: ["email", "sms"]) == ["email", "sms"])
        #expect(try await box.enqueue(message, channels: ["email", "telegram"]) == ["telegram"])
        #expect(try await box.due(channel: "email").map(\.id) == [message.id])
        try await box.markSent(try await box.due(channel: "email")[0])
        #expect(try await box.due(channel: "email").isEmpty)
        #expect(try await box.enqueue(message, channels: ["email"]).isEmpty, "a confirmed message is not stored again")
        #expect(try await box.state(id: message.id, channel: "email") == .sent)
    }

    @Test("failures wait for their retry time; a permanent one stops; everything survives reopening")
    func retriesAndRestart() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString)/o.sqlite")
            .path
        do {
            let box = try Outbox(path: path)
            try await box.enqueue(message, channels: ["email", "sms"], throttleKey: "signal_AAPL_BUY")
            let email = try await box.due(channel: "email")[0]
            #expect(email.throttleKey == "signal_AAPL_BUY")
            try await box.markFailed(email, error: "unreachable", retryAt: Date().addingTimeInterval(60))
            #expect(try await box.due(channel: "email").isEmpty)
            #expect(try await box.due(channel: "email", now: Date().addingTimeInterval(61)).first?.attempts == 1)
            try await box.markFailed(try await box.due(channel: "sms")[0], error: "auth", retryAt: nil)
        }
        let reopened = try Outbox(path: path)
        #expect(try await reopened.counts() == [.pending: 1, .failed: 1])
        #expect(
            try await reopened.due(channel: "email", now: Date().addingTimeInterval(61)).map(\.message) == [message])
    }

    @Test("pending deliveries are counted by channel; sent and given-up ones are not")
    func pendingByChannel() async throws {
        let box = try outbox()
        #expect(try await box.pendingByChannel().isEmpty)
        try await box.enqueue(message, channels: ["email", "sms", "webhook"])
        try await box.enqueue(OutgoingMessage(id: "second", subject: "s", text: "t"), channels: ["email"])
        try await box.markSent(try await box.due(channel: "sms")[0])
        try await box.markFailed(try await box.due(channel: "webhook")[0], error: "gone", retryAt: nil)
        #expect(try await box.pendingByChannel() == ["email": 2])
        try await box.markFailed(try await box.due(channel: "email")[0], error: "busy", retryAt: Date().addingTimeInterval(60))
        #expect(try await box.pendingByChannel() == ["email": 2], "a retry still waits")
    }

    @Test("throttle times are recorded per key")
    func throttle() async throws {
        let box = try outbox()
        #expect(try await box.lastSent(key: "error_x") == nil)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        try await box.recordSent(key: "error_x", at: now)
        #expect(try await box.lastSent(key: "error_x") == now)
    }

    @Test("delivered and given-up rows older than the retention are pruned; pending ones and recent ones stay")
    func prune() async throws {
        let box = try outbox()
        let now = Date()
        let old = now.addingTimeInterval(-10 * 86_400)
        func message(_ id: String) -> OutgoingMessage { OutgoingMessage(id: id, subject: id, text: id) }
        for id in ["old-sent", "old-failed", "old-pending", "new-sent"] {
            try await box.enqueue(message(id), channels: ["email"], now: id.hasPrefix("old") ? old : now)
        }
        try await box.markSent(id: "old-sent", channel: "email", at: old)
        try await box.markFailed(id: "old-failed", channel: "email", error: "auth", retryAt: nil, now: old)
        try await box.markSent(id: "new-sent", channel: "email", at: now)
        try await box.recordSent(key: "error_old", at: old)
        try await box.recordSent(key: "error_new", at: now)
        let deleted = try await box.prune(
            deliveredBefore: now.addingTimeInterval(-7 * 86_400), throttledBefore: now.addingTimeInterval(-900))
        #expect(deleted == 2)
        #expect(try await box.counts() == [.pending: 1, .sent: 1])
        #expect(try await box.state(id: "old-pending", channel: "email") == .pending)
        #expect(try await box.lastSent(key: "error_old") == nil)
        #expect(try await box.lastSent(key: "error_new") != nil)
    }

    @Test("a file that is not a database, a directory, or a path under a file: an OutboxError naming the path")
    func unusable() throws {
        let directory = try TemporaryDirectory("outbox-unusable")
        let garbage = try directory.write("garbage.sqlite", String(repeating: "not a database\n", count: 200))
        let file = try directory.write("file", "x")
        let paths = [garbage, directory.path, (file as NSString).appendingPathComponent("o.sqlite")]
        for path in paths {
            let error = #expect(throws: OutboxError.self) { _ = try Outbox(path: path) }
            #expect(error?.description.contains(path) == true, "\(String(describing: error))")
        }
    }

    @Test("a row that cannot be read back is marked failed and counted; the rows behind it are delivered")
    func unreadableRow() async throws {
        let directory = try TemporaryDirectory("outbox-unreadable")
        let path = directory.file("o.sqlite")
        let box = try Outbox(path: path)
        let past = Date().addingTimeInterval(-60)
        try await box.enqueue(OutgoingMessage(id: "good", subject: "s", text: "t"), channels: ["email"])
        // Older than the good row, so first in line: a damaged message and a damaged count.
        let script = """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            for id, message, attempts in [("bad-json", "{not json", 0), ("bad-count", sys.argv[2], "many")]:
                c.execute("INSERT INTO delivery (id, channel, message, priority, attempts, createdAt, nextAttemptAt)"
                          " VALUES (?, 'email', ?, 'normal', ?, ?, ?)", (id, message, attempts, \(past.timeIntervalSince1970), 0))
            c.commit()
            """
        let valid = #"{"id":"bad-count","subject":"s","text":"t","html":"","priority":"normal"}"#
        let child = try ChildProcess(executable: Paths.python, arguments: ["-c", script, path, valid])
        try await waitUntil(seconds: 10, "the rows inserted") { !child.isRunning }
        #expect(child.errorOutput.isEmpty, "\(child.errorOutput)")
        #expect(try await box.due(channel: "email").map(\.id) == ["good"])
        #expect(box.unreadableRows == 2)
        #expect(try await box.state(id: "bad-json", channel: "email") == .failed)
        #expect(try await box.state(id: "bad-count", channel: "email") == .failed)
    }
}
