import Bus
// `stat` and `timespec` can be attributed to CDispatch when swift-prometheus loads Dispatch first.
import CDispatch
import Foundation

/// The bus's CURVE keys on disk, one pair per identity, in ZeroMQ's certificate format (the
/// one CZMQ's `zcert` and pyzmq's `zmq.auth.create_certificates` write):
/// `<dir>/<identity>.key` holds the public key and `<dir>/<identity>.key_secret` the pair.
///
/// A key's identity is its file name up to the first dot, so `processor.key` and a rotated
/// `processor.2027.key` both authenticate as `processor`. Secret files must not be readable
/// by group or others (0600): a looser mode is refused, never used.
public struct KeyStore: Sendable {
    /// The identities Tickwire's services and tools use. `tickwire up` and the first bus
    /// client on a machine create a key pair for each.
    public static let knownIdentities = [
        "bus-proxy", "ingestor", "processor", "signal-generator", "notifier", "scheduler", "journal", "dashboard",
        "bus-tap", "tickwire", "bus-fuzz",
    ]

    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// The default directory: `TICKWIRE_KEYS_DIR`, else `bus.keys_directory`, else
    /// `$XDG_CONFIG_HOME/tickwire/keys` (or `~/.config/tickwire/keys`).
    public static func defaultDirectory(
        configured: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        if let fromEnvironment = environment["TICKWIRE_KEYS_DIR"], !fromEnvironment.isEmpty { return fromEnvironment }
        if !configured.isEmpty { return configured }
        let base: String
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty {
            base = xdg
        } else {
            base = (environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()) + "/.config"
        }
        return base + "/tickwire/keys"
    }

    public func publicPath(_ identity: String) -> String { directory + "/" + identity + ".key" }
    public func secretPath(_ identity: String) -> String { directory + "/" + identity + ".key_secret" }

    // MARK: Reading

    /// The key pair of `identity`, from its secret certificate.
    public func keyPair(_ identity: String) throws(KeyError) -> CurveKeyPair {
        let path = secretPath(identity)
        try Self.checkPrivate(path)
        let certificate = try Certificate.read(path)
        guard let secret = certificate.secretKey else {
            throw KeyError(path: path, message: "has no secret-key (is it a public certificate?)")
        }
        guard let pair = CurveKeyPair(publicKey: certificate.publicKey, secretKey: secret) else {
            throw KeyError(path: path, message: "public-key and secret-key do not belong together")
        }
        return pair
    }

    /// The public key of `identity`.
    public func publicKey(_ identity: String) throws(KeyError) -> String {
        try Certificate.read(publicPath(identity)).publicKey
    }

    /// Every public key in the directory with the identity it authenticates as. Unreadable
    /// or malformed files are reported in `problems` and skipped.
    public func allowList() -> (keys: [String: String], problems: [KeyError]) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            return ([:], [KeyError(path: directory, message: "cannot be listed: \(error.localizedDescription)")])
        }
        var keys: [String: String] = [:]
        var problems: [KeyError] = []
        for name in names.sorted() where name.hasSuffix(".key") {
            let identity = String(name.prefix { $0 != "." })
            guard !identity.isEmpty else { continue }
            do {
                keys[try Certificate.read(directory + "/" + name).publicKey] = identity
            } catch {
                problems.append(error)
            }
        }
        return (keys, problems)
    }

    // MARK: Writing

    /// Writes a fresh key pair for `identity` (public 0644, secret 0600), replacing any.
    @discardableResult
    public func generate(_ identity: String) throws(KeyError) -> CurveKeyPair {
        guard Self.isIdentity(identity) else {
            throw KeyError(path: directory, message: "'\(identity)' is not a service name (letters, digits, '-', '_')")
        }
        let pair: CurveKeyPair
        do {
            pair = try CurveKeyPair.generate()
        } catch {
            throw KeyError(path: directory, message: "cannot generate a key pair: \(error)")
        }
        try createDirectory()
        try Self.write(
            Certificate.text(identity: identity, publicKey: pair.publicKey, secretKey: pair.secretKey),
            to: secretPath(identity), mode: 0o600)
        try Self.write(Certificate.text(identity: identity, publicKey: pair.publicKey), to: publicPath(identity), mode: 0o644)
        return pair
    }

    /// Creates key pairs for those of `identities` that have none; returns the identities
    /// created. Safe against another process doing the same at once: each pair is written
    /// under a temporary name and renamed into place only if still missing.
    @discardableResult
    public func generateMissing(_ identities: [String] = KeyStore.knownIdentities) throws(KeyError) -> [String] {
        var created: [String] = []
        for identity in identities where !FileManager.default.fileExists(atPath: secretPath(identity)) {
            let staging = KeyStore(directory: directory + "/.staging-\(identity)-\(ProcessInfo.processInfo.processIdentifier)")
            try staging.generate(identity)
            defer { try? FileManager.default.removeItem(atPath: staging.directory) }
            // link(2) fails if the target exists, so two processes racing keep one pair.
            if link(staging.secretPath(identity), secretPath(identity)) == 0 {
                _ = unlink(publicPath(identity))
                guard link(staging.publicPath(identity), publicPath(identity)) == 0 else {
                    throw KeyError(path: publicPath(identity), message: "cannot be written: \(String(cString: strerror(errno)))")
                }
                created.append(identity)
            }
        }
        return created
    }

    private func createDirectory() throws(KeyError) {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw KeyError(path: directory, message: "cannot be created: \(error.localizedDescription)")
        }
    }

    private static func write(_ text: String, to path: String, mode: mode_t) throws(KeyError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw KeyError(path: path, message: "cannot be written: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        _ = fchmod(descriptor, mode)
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw KeyError(path: path, message: "cannot be written: \(String(cString: strerror(errno)))")
        }
    }

    /// Refuses a secret file that group or others may read or write.
    static func checkPrivate(_ path: String) throws(KeyError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw KeyError(path: path, message: "cannot be read: \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o077 == 0 else {
            let mode = String(info.st_mode & 0o777, radix: 8)
            throw KeyError(
                path: path, message: "has mode \(mode); a secret key must be private (chmod 600 \(path))")
        }
    }

    static func isIdentity(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64
            && text.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: "_")
            }
    }
}

/// A key file that cannot be used: which file, and why. Never carries key material.
public struct KeyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// ZeroMQ's certificate text (ZPL): a `metadata` section and a `curve` section with
/// `public-key` and, in a secret certificate, `secret-key`, both Z85 in double quotes.
enum Certificate {
    struct Parsed {
        var publicKey: String
        var secretKey: String?
    }

    static func read(_ path: String) throws(KeyError) -> Parsed {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeyError(path: path, message: "cannot be read")
        }
        guard data.count <= 64 * 1024, let text = String(data: data, encoding: .utf8) else {
            throw KeyError(path: path, message: "is not a ZeroMQ certificate (binary or over 64 KiB)")
        }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws(KeyError) -> Parsed {
        var section = ""
        var publicKey: String?
        var secretKey: String?
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if !raw.hasPrefix(" ") && !raw.hasPrefix("\t") {
                section = line
                continue
            }
            guard section == "curve", let equals = line.firstIndex(of: "=") else { continue }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: CharacterSet(charactersIn: " \t\"'"))
            guard name == "public-key" || name == "secret-key" else { continue }
            guard Curve.isKey(value) else {
                throw KeyError(path: "\(path):\(number + 1)", message: "\(name) is not a 40-character Z85 key")
            }
            if name == "public-key" { publicKey = value } else { secretKey = value }
        }
        guard let publicKey else { throw KeyError(path: path, message: "has no public-key in a curve section") }
        return Parsed(publicKey: publicKey, secretKey: secretKey)
    }

    static func text(identity: String, publicKey: String, secretKey: String? = nil) -> String {
        var lines = [
            "#   ****  Generated by tickwire  ****",
            secretKey == nil
                ? "#   ZeroMQ CURVE Public Certificate" : "#   ZeroMQ CURVE **Secret** Certificate",
            secretKey == nil
                ? "#   Exchange securely, or use a secure mechanism to verify the contents of this file."
                : "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.",
            "",
            "metadata",
            "    name = \"\(identity)\"",
            "curve",
            "    public-key = \"\(publicKey)\"",
        ]
        if let secretKey { lines.append("    secret-key = \"\(secretKey)\"") }
        return lines.joined(separator: "\n") + "\n"
    }
}
