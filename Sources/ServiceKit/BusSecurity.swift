import Bus
import Foundation
import Synchronization

/// How one process takes part in the bus's security (`bus.security`, docs/security.md): the
/// key pair of its identity, the public keys of the servers it connects to, and, for a
/// process that serves (bus-proxy, a request/reply endpoint), the allow-list its ZAP handler
/// authenticates clients against.
public final class BusSecurity: Sendable {
    /// The ZAP domain every Tickwire server socket uses.
    public static let domain = "tickwire"

    /// Who this process is on the bus.
    public let identity: String
    public let store: KeyStore
    private let keyPair: CurveKeyPair
    private let allowList: Mutex<AllowList>

    private struct AllowList {
        var keys: [String: String] = [:]
        var loadedStamp: timespec?
        var checkedAt = ContinuousClock.now - .seconds(60)
    }

    init(identity: String, store: KeyStore, keyPair: CurveKeyPair) {
        self.identity = identity
        self.store = store
        self.keyPair = keyPair
        allowList = Mutex(AllowList())
    }

    /// The security `config` asks for, as `identity`: `nil` when `bus.security` is `none`.
    /// Keys come from ``KeyStore/defaultDirectory(configured:environment:)``; when that is the
    /// per-user default and keys are missing, a pair for every known identity is created
    /// there first and `notice` says so. A configured directory is never written to.
    public static func load(
        config: TickwireConfig, identity: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        notice: (String) -> Void = { _ in }
    ) throws(KeyError) -> BusSecurity? {
        guard config.bus.security == .curve else { return nil }
        let directory = KeyStore.defaultDirectory(configured: config.bus.keysDirectory, environment: environment)
        let store = KeyStore(directory: directory)
        let isDefault = (environment["TICKWIRE_KEYS_DIR"] ?? "").isEmpty && config.bus.keysDirectory.isEmpty
        if isDefault && !FileManager.default.fileExists(atPath: store.secretPath(identity)) {
            let created = try store.generateMissing(KeyStore.knownIdentities + [identity])
            if !created.isEmpty {
                notice("created bus keys for \(created.joined(separator: ", ")) in \(directory) (the bus is authenticated; see docs/security.md)")
            }
        }
        guard FileManager.default.fileExists(atPath: store.secretPath(identity)) else {
            throw KeyError(
                path: store.secretPath(identity),
                message: "no key for '\(identity)': run `tickwire keys generate --service \(identity) --out \(directory)` "
                    + "(or set bus.security to \"none\" on a trusted single machine)")
        }
        return BusSecurity(identity: identity, store: store, keyPair: try store.keyPair(identity))
    }

    /// `base` as a CURVE client of `server` (bus-proxy by default).
    public func clientOptions(_ base: SocketOptions, server: String = "bus-proxy") throws(KeyError) -> SocketOptions {
        var options = base
        options.curve = .client(
            publicKey: keyPair.publicKey, secretKey: keyPair.secretKey, serverKey: try store.publicKey(server))
        return options
    }

    /// `base` as a CURVE server with this identity's key; clients are authenticated by the
    /// context's ``Authenticator`` (see ``identify(publicKey:)``).
    public func serverOptions(_ base: SocketOptions) -> SocketOptions {
        var options = base
        options.curve = .server(secretKey: keyPair.secretKey, domain: Self.domain)
        return options
    }

    /// The identity `publicKey` authenticates as, from the public certificates in the key
    /// directory. The directory is read again when it changes (checked at most once a second),
    /// so a key added or removed takes effect without a restart.
    public func identify(publicKey: String) -> String? {
        allowList.withLock { list in
            let now = ContinuousClock.now
            if now - list.checkedAt >= .seconds(1) {
                list.checkedAt = now
                var info = stat()
                let stamp = stat(store.directory, &info) == 0 ? info.st_mtim : nil
                if stamp == nil || list.loadedStamp == nil || stamp?.tv_sec != list.loadedStamp?.tv_sec
                    || stamp?.tv_nsec != list.loadedStamp?.tv_nsec
                {
                    list.keys = store.allowList().keys
                    list.loadedStamp = stamp
                }
            }
            return list.keys[publicKey]
        }
    }
}

extension TickwireConfig.BusSettings {
    /// Whether the bus authenticates and encrypts (`curve`, the default) or not (`none`).
    public enum Security: String, Sendable, Codable, CaseIterable {
        case curve
        case none
    }
}

/// Whether a ZeroMQ endpoint stays on this machine: `ipc://`, `inproc://`, or `tcp://` on a
/// loopback address. Without bus security nothing may be bound beyond it.
public func isLocalEndpoint(_ endpoint: String) -> Bool {
    if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") { return true }
    guard endpoint.hasPrefix("tcp://") else { return false }
    var host = String(endpoint.dropFirst("tcp://".count))
    if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return host == "localhost" || host == "::1" || host.hasPrefix("127.")
}
