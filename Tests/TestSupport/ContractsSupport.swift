import Contracts

/// Fixed values the contract tests stamp on hand-built messages.
public enum Fixtures {
    /// 2023-11-14T22:13:20Z in nanoseconds.
    public static let time: Int64 = 1_700_000_000_000_000_000

    /// The topic tests use to warm up and fence subscriptions (`status.test-control`).
    public static let controlTopic: Topic = {
        do {
            return try Topic.status("test-control")
        } catch {
            preconditionFailure("status.test-control must be a valid topic: \(error)")
        }
    }()

    /// A producer identity for hand-built envelopes.
    public static func producer(_ service: String = "test", instance: String = "1") -> Producer {
        Producer(service: service, instance: instance, startedAt: time)
    }

    /// A `status` payload that marks a warm-up (`starting`) or a fence (`stopping`).
    public static func control(_ state: ServiceState) -> Envelope.OneOf_Payload {
        var status = ServiceStatus()
        status.service = "test-control"
        status.state = state
        return .status(status)
    }

    /// True for a delivery on ``controlTopic``.
    public static func isControl(_ delivery: Delivery) -> Bool { delivery.topic == controlTopic }

    /// True for a fence delivery.
    public static func isFence(_ delivery: Delivery) -> Bool {
        guard isControl(delivery), case .status(let status) = delivery.envelope.payload else { return false }
        return status.state == .stopping
    }

    /// An envelope as a producer would stamp it.
    public static func envelope(
        _ payload: Envelope.OneOf_Payload?,
        sequence: UInt64,
        producer: Producer = Fixtures.producer(),
        schemaVersion: UInt32 = Codec.schemaVersion
    ) -> Envelope {
        var envelope = Envelope()
        envelope.schemaVersion = schemaVersion
        envelope.producer = producer
        envelope.sequence = sequence
        envelope.eventTimeNs = time
        envelope.publishTimeNs = time
        envelope.payload = payload
        return envelope
    }

    /// The two frames of a bus message.
    public static func frames(_ topic: Topic, _ envelope: Envelope) throws -> [[UInt8]] {
        [topic.wire, try Codec.encode(envelope)]
    }

    /// The producer of hand-built control messages.
    public static let controlProducer = Producer(service: "test-control", instance: "raw", startedAt: time)

    /// The frames of a control message (warm-up or fence) from ``controlProducer``, for raw
    /// sockets. `sequence` must count up from 1 per test so the messages never look like gaps.
    public static func controlFrames(_ state: ServiceState, sequence: UInt64) -> [[UInt8]] {
        let envelope = Fixtures.envelope(control(state), sequence: sequence, producer: controlProducer)
        do {
            return try frames(controlTopic, envelope)
        } catch {
            preconditionFailure("a control envelope must encode: \(error)")
        }
    }

    /// A trade on `symbol`.
    public static func trade(_ symbol: String, price: Double = 100.25, size: Double = 100) -> Envelope.OneOf_Payload {
        var trade = Trade()
        trade.symbol = symbol
        trade.price = price
        trade.size = size
        trade.exchange = "TEST"
        trade.provider = "test"
        return .trade(trade)
    }
}
