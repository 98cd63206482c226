import ArgumentParser
import Bus
import Foundation
import ServiceKit

/// `tickwire keys`: the bus's CURVE key pairs (docs/security.md).
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the bus's CURVE key pairs (ZeroMQ certificate files).",
        subcommands: [Generate.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write <service>.key (public) and <service>.key_secret (mode 0600) for one identity.",
            discussion: """
                The identity is the service name a process runs as (bus-proxy, ingestor, processor, \
                signal-generator, notifier, scheduler, journal, dashboard, bus-tap, tickwire). bus-proxy \
                and every request/reply server accept a client whose public key is in their key directory; \
                copy a new identity's .key file next to theirs (they notice within a second). The secret \
                key is never printed.
                """
        )

        @Option(help: "The identity (service name).")
        var service: String?

        @Flag(help: "Every known identity that has no pair yet (existing pairs are kept).")
        var all = false

        @Option(help: "Directory to write into (default: TICKWIRE_KEYS_DIR, bus.keys_directory, ~/.config/tickwire/keys).")
        var out: String?

        @Option(help: "Config file whose bus.keys_directory is the default directory.")
        var config: String?

        @Flag(help: "Replace an existing pair (key rotation; clients keep the old one until restarted).")
        var force = false

        func validate() throws {
            guard (service != nil) != all else { throw ValidationError("give either --service NAME or --all") }
        }

        func run() throws {
            let directory: String
            if let out {
                directory = out
            } else {
                do {
                    let loaded = try ConfigLoader().load(file: config).config
                    directory = KeyStore.defaultDirectory(configured: loaded.bus.keysDirectory)
                } catch {
                    throw ValidationError("\(error)")
                }
            }
            let store = KeyStore(directory: directory)
            guard let service else {
                do {
                    let created = try store.generateMissing()
                    print(created.isEmpty ? "every identity has a key pair in \(directory)"
                        : "created key pairs for \(created.joined(separator: ", ")) in \(directory)")
                } catch {
                    throw ValidationError("\(error)")
                }
                return
            }
            if !force && FileManager.default.fileExists(atPath: store.secretPath(service)) {
                throw ValidationError("\(store.secretPath(service)) exists; pass --force to replace it")
            }
            do {
                let pair = try store.generate(service)
                print("wrote \(store.publicPath(service)) (public key \(pair.publicKey))")
                print("wrote \(store.secretPath(service)) (mode 0600; keep it secret)")
            } catch {
                throw ValidationError("\(error)")
            }
        }
    }
}
