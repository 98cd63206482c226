import Contracts
import Crypto
import Foundation

/// Signal ids that nobody without this process's key can predict (so a forged message
/// cannot take a real signal's place in the notifier's outbox), yet stable: the same signal
/// (symbol, bar, action) gets the same id after a restart, and the outbox's dedupe holds.
///
/// The id is `<symbol>-<bar end ns>-<action>-<16 hex digits of HMAC-SHA256>`, keyed by 32
/// random bytes kept next to the ensemble state (`signal-id.key`, mode 0600).
public struct SignalID: Sendable {
    private let key: [UInt8]

    init(key: SymmetricKey) { self.key = key.withUnsafeBytes { Array($0) } }

    /// The key at `path`, created when missing. When it can be neither read nor written, a
    /// key for this run only (ids then change across restarts) and the reason.
    public static func load(path: String) -> (id: SignalID, problem: String?) {
        if let data = FileManager.default.contents(atPath: path), data.count == 32 {
            return (SignalID(key: SymmetricKey(data: data)), nil)
        }
        let key = SymmetricKey(size: .bits256)
        let bytes = key.withUnsafeBytes { Data($0) }
        let directory = (path as NSString).deletingLastPathComponent
        do {
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            guard FileManager.default.createFile(atPath: path, contents: bytes, attributes: [.posixPermissions: 0o600])
            else {
                return (SignalID(key: key), "cannot write \(path): signal ids will change after a restart")
            }
        } catch {
            return (SignalID(key: key), "cannot create \(directory): signal ids will change after a restart")
        }
        return (SignalID(key: key), nil)
    }

    /// Where the key lives for a given ensemble state file.
    public static func path(stateFile: String) -> String {
        let directory = (stateFile as NSString).deletingLastPathComponent
        return directory.isEmpty ? "signal-id.key" : directory + "/signal-id.key"
    }

    /// The id of the signal for `symbol`'s bar ending at `barEnd` with `action`.
    public func id(symbol: String, barEnd: Int64, action: Action) -> String {
        let text = "\(symbol)-\(barEnd)-\(action)"
        let mac = HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: SymmetricKey(data: key))
        var hex = ""
        for byte in mac.prefix(8) { hex += byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16) }
        return text + "-" + hex
    }
}
