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
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString)/o.sqlite").path
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
        #expect(try await reopened.due(channel: "email", now: Date().addingTimeInterval(61)).map(\.message) == [message])
    }

    @Test("throttle times are recorded per key")
    func throttle() async throws {
        let box = try outbox()
        #expect(try await box.lastSent(key: "error_x") == nil)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        try await box.recordSent(key: "error_x", at: now)
        #expect(try await box.lastSent(key: "error_x") == now)
    }
}
