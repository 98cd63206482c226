import Bus

/// bus-proxy's rules for publishers: an identity (the `User-Id` its CURVE key was
/// authenticated as) may publish only its own topic kinds, and only envelopes that name it as
/// their producer's service. Anything else is refused before it reaches a subscriber.
///
/// Cheap per message: the identity's rights are looked up again only when the identity
/// changes, and the producer is found by scanning the envelope's bytes for field 2, never by
/// decoding it. The scan follows protobuf's merge rule (a repeated `producer` field merges,
/// the last `service` wins), so it reads the service every subscriber will decode.
public struct PublishGate: ProxyGate {
    /// Topic kinds by identity.
    public let rights: [String: Set<String>]

    private var identity: [UInt8] = []
    private var kinds: [[UInt8]] = []
    private var known = false

    public init(rights: [String: [String]]) {
        self.rights = rights.mapValues(Set.init)
    }

    public mutating func admit(
        userID: UnsafePointer<CChar>?, topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer
    ) -> ProxyRefusal? {
        guard let userID else { return .unauthenticated }
        var length = 0
        while length < 256 && userID[length] != 0 { length += 1 }
        guard length > 0, length < 256 else { return .unauthenticated }
        let user = UnsafeRawBufferPointer(start: userID, count: length)
        if !user.elementsEqual(identity) { load(user) }
        guard known else { return .notPermitted }
        // The kind: the topic up to its first dot.
        guard let dot = topic.firstIndex(of: UInt8(ascii: ".")) else { return .malformed }
        let kind = UnsafeRawBufferPointer(rebasing: topic[..<dot])
        guard kinds.contains(where: { kind.elementsEqual($0) }) else { return .notPermitted }
        guard let service = Self.producerService(in: payload) else { return .malformed }
        guard UnsafeRawBufferPointer(rebasing: service).elementsEqual(identity) else { return .producerMismatch }
        return nil
    }

    private mutating func load(_ user: UnsafeRawBufferPointer) {
        identity = Array(user)
        let name = String(decoding: identity, as: UTF8.self)
        known = rights[name] != nil
        kinds = (rights[name] ?? []).map { Array($0.utf8) }
    }

    /// The bytes of `Envelope.producer.service` in an encoded envelope: the last `service`
    /// of all `producer` fields, as a protobuf decoder merges them; an empty slice when there
    /// is none; `nil` when the bytes are not a well-formed message.
    static func producerService(in bytes: UnsafeRawBufferPointer) -> Slice<UnsafeRawBufferPointer>? {
        var service = bytes[bytes.startIndex..<bytes.startIndex]
        var reader = TickCodec.Reader(bytes)
        while !reader.isAtEnd {
            guard let (field, type) = reader.tag() else { return nil }
            if field == 2 && type == .lengthDelimited {
                guard var inner = reader.nested() else { return nil }
                while !inner.isAtEnd {
                    guard let (innerField, innerType) = inner.tag() else { return nil }
                    if innerField == 1 && innerType == .lengthDelimited {
                        guard let range = inner.bytesRange() else { return nil }
                        service = bytes[range]
                    } else {
                        guard inner.skip(innerType) else { return nil }
                    }
                }
            } else {
                guard reader.skip(type) else { return nil }
            }
        }
        return service
    }
}
