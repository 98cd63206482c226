import Foundation
import Notifications
import Testing

@Suite("Outbox")
struct OutboxTests {
    func outbox() throws -> Outbox {
        try Outbox(path: FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString)/o.sqlite").path)
    }

    let message = OutgoingMessage(id: "signal-AAPL-1-BUY", subject: "BUY AAPL", text: "t", html: "", priority: "high")

    @Test("a message is stored once per channel: the same id never twice")
    func dedupe() throws {
        let box = try outbox()
        #expect(try box.enqueue(message, channels: ["email", "sms"]) == ["email", "sms"])
        #expect(try box.enqueue(message, channels: ["email", "telegram"]) == ["telegram"])
        #expect(try box.due(channel: "email").map(\.id) == [message.id])
        try box.markSent(try box.due(channel: "email")[0])
        #expect(try box.due(channel: "email").isEmpty)
        #expect(try box.enqueue(message, channels: ["email"]).isEmpty, "a confirmed message is not stored again")
        #expect(try box.state(id: message.id, channel: "email") == .sent)
    }

    @Test("failures wait for their retry time; a permanent one stops; everything survives reopening")
    func retriesAndRestart() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString)/o.sqlite").path
        do {
            let box = try Outbox(path: path)
            try box.enqueue(message, channels: ["email", "sms"], throttleKey: "signal_AAPL_BUY")
            let email = try box.due(channel: "email")[0]
            #expect(email.throttleKey == "signal_AAPL_BUY")
            try box.markFailed(email, error: "unreachable", retryAt: Date().addingTimeInterval(60))
            #expect(try box.due(channel: "email").isEmpty)
            #expect(try box.due(channel: "email", now: Date().addingTimeInterval(61)).first?.attempts == 1)
            try box.markFailed(try box.due(channel: "sms")[0], error: "auth", retryAt: nil)
        }
        let reopened = try Outbox(path: path)
        #expect(try reopened.counts() == [.pending: 1, .failed: 1])
        #expect(try reopened.due(channel: "email", now: Date().addingTimeInterval(61)).map(\.message) == [message])
    }

    @Test("throttle times are recorded per key")
    func throttle() throws {
        let box = try outbox()
        #expect(try box.lastSent(key: "error_x") == nil)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        try box.recordSent(key: "error_x", at: now)
        #expect(try box.lastSent(key: "error_x") == now)
    }
}
