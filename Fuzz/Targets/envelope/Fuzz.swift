import Bus
import Contracts
import FuzzSupport

/// The bus boundary: bus-proxy's `PublishGate` (which scans the raw envelope for its
/// producer), then what every service runs each frame through: `Codec.decode`, then
/// `EnvelopeValidator`; a delivery that decodes is re-encoded too (bus-tap and replays do).
/// The input is the topic frame up to and including its first NUL byte, then the payload.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    let split = bytes.firstIndex(of: 0).map { $0 + 1 } ?? bytes.count
    let raw = RawMessage(topic: Array(bytes[..<split]), payload: Array(bytes[split...]))
    var gate = PublishGate(rights: ["ingestor": ["tick", "bar"]])
    let user: [CChar] = Array("ingestor".utf8CString)
    user.withUnsafeBufferPointer { identity in
        raw.topic.withUnsafeBytes { topic in
            raw.payload.withUnsafeBytes { payload in
                _ = gate.admit(userID: identity.baseAddress, topic: topic, payload: payload)
            }
        }
    }
    guard let delivery = try? Codec.decode(raw) else { return 0 }
    var validator = EnvelopeValidator()
    // A fixed clock (2026-01-01), so a crash replays the same way.
    _ = validator.check(delivery, now: 1_767_225_600_000_000_000)
    _ = try? Codec.encode(delivery.envelope)
    return 0
}
