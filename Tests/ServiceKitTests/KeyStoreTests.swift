import Bus
import Foundation
import ServiceKit
import TestSupport
import Testing

@Suite("Bus keys: ZeroMQ certificates on disk, permissions, allow-list, first use")
struct KeyStoreTests {
    @Test("a generated pair reads back; the public file has no secret; identities are file names up to the first dot")
    func roundTrip() throws {
        let directory = try TemporaryDirectory("keys")
        let store = KeyStore(directory: directory.file("keys"))
        let pair = try store.generate("ingestor")
        #expect(try store.keyPair("ingestor") == pair)
        #expect(try store.publicKey("ingestor") == pair.publicKey)
        let publicText = try String(contentsOfFile: store.publicPath("ingestor"), encoding: .utf8)
        #expect(!publicText.contains("secret-key") && !publicText.contains(pair.secretKey))
        #expect(publicText.contains("public-key = \"\(pair.publicKey)\""))
        // A rotated public key under another name authenticates as the same identity.
        let rotated = try KeyStore(directory: directory.file("other")).generate("ingestor")
        try FileManager.default.copyItem(
            atPath: KeyStore(directory: directory.file("other")).publicPath("ingestor"),
            toPath: directory.file("keys") + "/ingestor.2027.key")
        let allowed = store.allowList()
        #expect(allowed.problems.isEmpty)
        #expect(allowed.keys[pair.publicKey] == "ingestor" && allowed.keys[rotated.publicKey] == "ingestor")
        #expect(pair.description.contains(pair.publicKey) && !pair.description.contains(pair.secretKey))
    }

    @Test("a secret file that group or others may read is refused, with the chmod to fix it")
    func looseMode() throws {
        let directory = try TemporaryDirectory("keys")
        let store = KeyStore(directory: directory.path)
        try store.generate("notifier")
        #expect(chmod(store.secretPath("notifier"), 0o640) == 0)
        let error = try #require(throws: KeyError.self) { try store.keyPair("notifier") }
        #expect(error.message.contains("mode 640") && error.message.contains("chmod 600"))
        #expect(chmod(store.secretPath("notifier"), 0o400) == 0)
        #expect(throws: Never.self) { try store.keyPair("notifier") }
    }

    @Test("malformed certificates name the file and line; a mismatched pair is refused")
    func malformed() throws {
        let directory = try TemporaryDirectory("keys")
        let store = KeyStore(directory: directory.path)
        let path = try directory.write("x.key", "curve\n    public-key = \"short\"\n")
        #expect(store.allowList().problems.map(\.path) == ["\(path):2"])
        let one = try CurveKeyPair.generate()
        let other = try CurveKeyPair.generate()
        let secret = try directory.write(
            "y.key_secret",
            "curve\n    public-key = \"\(one.publicKey)\"\n    secret-key = \"\(other.secretKey)\"\n")
        #expect(chmod(secret, 0o600) == 0)
        let error = try #require(throws: KeyError.self) { try store.keyPair("y") }
        #expect(error.message.contains("do not belong together"))
        #expect(throws: KeyError.self) { try store.generate("../escape") }
    }

    @Test("generateMissing creates only what is missing and keeps existing pairs")
    func generateMissing() throws {
        let directory = try TemporaryDirectory("keys")
        let store = KeyStore(directory: directory.file("k"))
        let kept = try store.generate("ingestor")
        let created = try store.generateMissing(["ingestor", "processor"])
        #expect(created == ["processor"])
        #expect(try store.keyPair("ingestor") == kept)
        #expect(try store.generateMissing(["ingestor", "processor"]).isEmpty)
        let entries = try FileManager.default.contentsOfDirectory(atPath: store.directory).sorted()
        #expect(entries == ["ingestor.key", "ingestor.key_secret", "processor.key", "processor.key_secret"])
    }

    @Test("first use creates keys in the per-user default only; a configured directory is never written")
    func firstUse() throws {
        let home = try TemporaryDirectory("home")
        var config = TickwireConfig()
        var notices: [String] = []
        let security = try #require(
            try BusSecurity.load(config: config, identity: "ingestor", environment: ["HOME": home.path]) { notices.append($0) })
        #expect(security.store.directory == home.path + "/.config/tickwire/keys")
        #expect(notices.count == 1 && notices[0].contains("created bus keys"))
        #expect(FileManager.default.fileExists(atPath: security.store.secretPath("bus-proxy")))
        // Known keys identify themselves; strangers do not.
        #expect(security.identify(publicKey: try security.store.publicKey("processor")) == "processor")
        #expect(security.identify(publicKey: try CurveKeyPair.generate().publicKey) == nil)

        config.bus.keysDirectory = home.file("configured")
        let error = try #require(throws: KeyError.self) {
            try BusSecurity.load(config: config, identity: "ingestor", environment: ["HOME": home.path])
        }
        #expect(error.message.contains("tickwire keys generate --service ingestor"))
        #expect(!FileManager.default.fileExists(atPath: home.file("configured")))
        config.bus.security = .none
        #expect(try BusSecurity.load(config: config, identity: "ingestor", environment: [:]) == nil)
    }

    @Test("loopback endpoints are local; anything reachable from elsewhere is not")
    func localEndpoints() {
        for endpoint in ["tcp://127.0.0.1:7750", "tcp://localhost:1", "tcp://[::1]:5", "ipc:///tmp/x", "inproc://a"] {
            #expect(isLocalEndpoint(endpoint), "\(endpoint)")
        }
        for endpoint in ["tcp://*:7750", "tcp://0.0.0.0:7750", "tcp://10.0.0.5:7750", "tcp://bus-proxy:7750", "tcp://eth0:1"] {
            #expect(!isLocalEndpoint(endpoint), "\(endpoint)")
        }
    }
}
