import CZeroMQ

/// A CURVE key pair in Z85 text (40 characters each), as ZeroMQ's certificates store them.
public struct CurveKeyPair: Sendable, Equatable {
    public let publicKey: String
    public let secretKey: String

    /// Wraps keys read from a certificate; `nil` unless both are 40 Z85 characters that
    /// decode to 32 bytes and the public key belongs to the secret one.
    public init?(publicKey: String, secretKey: String) {
        guard Curve.isKey(publicKey), Curve.isKey(secretKey), Curve.publicKey(forSecret: secretKey) == publicKey else {
            return nil
        }
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    private init(checkedPublic publicKey: String, secret secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A fresh key pair from libzmq's generator (libsodium's random source).
    public static func generate() throws(ZeroMQError) -> CurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        try zmqCheck("zmq_curve_keypair") { zmq_curve_keypair(&publicKey, &secretKey) }
        return CurveKeyPair(checkedPublic: Curve.string(publicKey), secret: Curve.string(secretKey))
    }

    /// Never prints the secret key.
    public var redacted: String { "CurveKeyPair(public: \(publicKey))" }
}

extension CurveKeyPair: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { redacted }
    public var debugDescription: String { redacted }
}

/// A socket's part in CURVE: the server side authenticates clients through the context's
/// ZAP handler (``Authenticator``); the client side proves its key and checks the server's.
public enum CurveRole: Sendable, Hashable {
    /// Accepts clients that the ZAP handler of the same context allows. `domain` names the
    /// realm the handler is asked about.
    case server(secretKey: String, domain: String)
    /// Connects as `publicKey`/`secretKey` to a server whose public key is `serverKey`.
    case client(publicKey: String, secretKey: String, serverKey: String)
}

extension CurveRole: CustomStringConvertible {
    /// Never prints a secret key.
    public var description: String {
        switch self {
        case .server(_, let domain): "CURVE server (domain \(domain))"
        case .client(let publicKey, _, let serverKey): "CURVE client \(publicKey) of server \(serverKey)"
        }
    }
}

/// CURVE helpers: key checks and conversions.
public enum Curve {
    /// Whether libzmq was built with CURVE (`zmq_has("curve")`).
    public static var isAvailable: Bool { zmq_has("curve") == 1 }

    /// Whether `text` is a Z85 key: 40 characters that decode to 32 bytes.
    public static func isKey(_ text: String) -> Bool {
        decode(text) != nil
    }

    /// The 32 bytes of a Z85 key, or `nil` when it is not one.
    public static func decode(_ text: String) -> [UInt8]? {
        let characters = Array(text.utf8)
        guard characters.count == 40, characters.allSatisfy(isZ85) else { return nil }
        var bytes = [UInt8](repeating: 0, count: 32)
        let decoded = text.withCString { zmq_z85_decode(&bytes, $0) }
        return decoded == nil ? nil : bytes
    }

    /// The Z85 text of a 32-byte key, or `nil` for any other length.
    public static func encode(_ bytes: [UInt8]) -> String? {
        guard bytes.count == 32 else { return nil }
        var text = [CChar](repeating: 0, count: 41)
        guard zmq_z85_encode(&text, bytes, bytes.count) != nil else { return nil }
        return string(text)
    }

    /// The public key that belongs to a Z85 secret key, or `nil` when it is not one.
    public static func publicKey(forSecret secretKey: String) -> String? {
        guard isKey(secretKey) else { return nil }
        var text = [CChar](repeating: 0, count: 41)
        let rc = secretKey.withCString { zmq_curve_public(&text, $0) }
        return rc == 0 ? string(text) : nil
    }

    static func string(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Z85's alphabet (ZeroMQ RFC 32).
    private static func isZ85(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "A")...UInt8(ascii: "Z"):
            true
        default:
            Array(".-:+=^!/*?&<>()[]{}@%$#".utf8).contains(byte)
        }
    }
}
