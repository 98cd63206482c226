import Bus
import Foundation
import ServiceKit
import Synchronization
import Testing

/// Finds the built executables and the repository.
enum Paths {
    static let repository: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `TICKWIRE_BIN_DIR` (set by `make test`) or `.build/debug`.
    static var binaries: URL {
        if let directory = ProcessInfo.processInfo.environment["TICKWIRE_BIN_DIR"], !directory.isEmpty {
            return URL(fileURLWithPath: directory)
        }
        return repository.appendingPathComponent(".build/debug")
    }

    static func executable(_ name: String) throws -> String {
        let path = binaries.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("\(path) is missing: run 'swift build' (or make test) first")
        }
        return path
    }

    static var python: String {
        if let python = ProcessInfo.processInfo.environment["TICKWIRE_PYTHON"], !python.isEmpty { return python }
        return repository.appendingPathComponent(".venv/bin/python").path
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Two free loopback ports for a private bus, and the environment that points services at it.
struct TestBus {
    let publishPort: Int
    let subscribePort: Int
    /// The ingestor's history endpoint (processors' warm-up), private to this bus too.
    let historyPort: Int
    /// The journal's catch-up endpoint, private to this bus.
    let journalPort: Int
    let logDirectory: String
    /// This bus's CURVE keys, one pair per known identity (the bus is secured, as shipped).
    let keys: KeyStore

    init() throws {
        publishPort = try TestBus.freePort()
        subscribePort = try TestBus.freePort()
        historyPort = try TestBus.freePort()
        journalPort = try TestBus.freePort()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-e2e-\(UUID().uuidString)")
        logDirectory = scratch.path
        keys = KeyStore(directory: scratch.appendingPathComponent("keys").path)
        try keys.generateMissing()
    }

    /// Socket options for an in-test client of bus-proxy (or of another server) as `identity`.
    func options(as identity: String, server: String = "bus-proxy") throws -> SocketOptions {
        let pair = try keys.keyPair(identity)
        var options = SocketOptions()
        options.curve = .client(publicKey: pair.publicKey, secretKey: pair.secretKey, serverKey: try keys.publicKey(server))
        return options
    }

    var publishEndpoint: String { "tcp://127.0.0.1:\(publishPort)" }
    var subscribeEndpoint: String { "tcp://127.0.0.1:\(subscribePort)" }
    var historyEndpoint: String { "tcp://127.0.0.1:\(historyPort)" }
    var journalEndpoint: String { "tcp://127.0.0.1:\(journalPort)" }
    /// Where this bus's journal keeps its files and its consumers their positions.
    var journalDirectory: String { (logDirectory as NSString).appendingPathComponent("journal") }
    var positionsDirectory: String { (logDirectory as NSString).appendingPathComponent("positions") }

    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["TICKWIRE_PUBLISH_ENDPOINT"] = publishEndpoint
        environment["TICKWIRE_SUBSCRIBE_ENDPOINT"] = subscribeEndpoint
        environment["TICKWIRE_PROXY_XSUB_BIND"] = publishEndpoint
        environment["TICKWIRE_PROXY_XPUB_BIND"] = subscribeEndpoint
        // Tests run at any hour: without a scheduler, the market is open unless a test says not.
        environment["TICKWIRE_SESSION_DEFAULT"] = "open"
        environment["TICKWIRE_HISTORY_BIND"] = historyEndpoint
        environment["TICKWIRE_HISTORY_ENDPOINTS"] = historyEndpoint
        environment["TICKWIRE_LOG_DIR"] = logDirectory
        environment["TICKWIRE_JOURNAL_BIND"] = journalEndpoint
        environment["TICKWIRE_JOURNAL_ENDPOINT"] = journalEndpoint
        environment["TICKWIRE_JOURNAL_DIR"] = journalDirectory
        environment["TICKWIRE_JOURNAL_STORE"] = nil
        environment["TICKWIRE_POSITIONS_DIR"] = positionsDirectory
        environment["TICKWIRE_KEYS_DIR"] = keys.directory
        environment["TICKWIRE_BUS_SECURITY"] = nil
        environment["TICKWIRE_CONFIG"] = nil
        // No metrics endpoint unless a test passes --metrics-port: parallel tests share ports.
        environment["TICKWIRE_METRICS_PORT"] = "0"
        return environment
    }

    /// A port free now, for a service a test starts. Chosen below the kernel's ephemeral range
    /// (32768 and up), from a random start, never twice in this process: a port from bind(0)
    /// lies in that range, and any outgoing connection (every ZeroMQ connect) could take it as
    /// its local port before the service binds it (a fresh-clone run saw an ingestor's history
    /// endpoint never answer).
    static func freePort() throws -> Int {
        for _ in 0..<2_000 {
            let port = handedOut.withLock { state -> Int in
                state.next = state.next >= 32_000 ? 20_000 : state.next + 1
                return state.next
            }
            guard handedOut.withLock({ $0.used.insert(port).inserted }) else { continue }
            if isFree(port) { return port }
        }
        throw HarnessError("no free port between 20000 and 32000")
    }

    static let handedOut = Mutex((next: Int.random(in: 20_000..<32_000), used: Set<Int>()))

    /// Whether `port` can be bound on loopback now.
    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 }
        }
    }
}

/// A child process with its output collected.
final class RunningProcess: Sendable {
    let name: String
    let process: Process
    /// Output collected from one pipe.
    final class Collected: Sendable {
        let data = Mutex(Data())
        func append(_ chunk: Data) { data.withLock { $0.append(chunk) } }
        var text: String { String(decoding: data.withLock { $0 }, as: UTF8.self) }
    }

    private let stdoutData = Collected()
    /// Kept here, not only in `Process`, so the child's stdin stays open while we live.
    private let input = Pipe()
    private let stderrData = Collected()

    init(_ name: String, arguments: [String], environment: [String: String], executable: String? = nil) throws {
        self.name = name
        process = Process()
        process.executableURL = URL(fileURLWithPath: try executable ?? Paths.executable(name))
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = Paths.repository
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        // A stdin that stays open as long as this object (peers such as smtp_sink.py stop at EOF).
        process.standardInput = input
        process.standardError = err
        try process.run()
        // Blocking reads on threads of their own until EOF (no libdispatch sources).
        for (pipe, collected) in [(out, stdoutData), (err, stderrData)] {
            let handle = pipe.fileHandleForReading
            Thread {
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    collected.append(chunk)
                }
            }.start()
        }
    }

    var stdout: String { stdoutData.text }
    var stderr: String { stderrData.text }
    var pid: Int32 { process.processIdentifier }

    /// Waits up to `seconds` for the process to exit; returns its status, or nil on timeout.
    func wait(seconds: Double) async -> Int32? {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning { return nil }
        // Let the pipes drain.
        try? await Task.sleep(for: .milliseconds(100))
        return process.terminationStatus
    }

    /// Waits until `predicate` holds for stdout+stderr, up to `seconds`.
    func waitForOutput(seconds: Double, _ predicate: (String) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if predicate(stdout + stderr) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return predicate(stdout + stderr)
    }

    func signal(_ number: Int32) { if process.isRunning { kill(pid, number) } }

    /// SIGTERM, then SIGKILL after `grace` seconds. Returns the exit status if it stopped in grace.
    @discardableResult
    func stop(grace: Double = 5) async -> Int32? {
        signal(SIGTERM)
        if let status = await wait(seconds: grace) { return status }
        signal(SIGKILL)
        _ = await wait(seconds: 2)
        return nil
    }
}

/// JSON lines of bus-tap output, parsed.
func jsonLines(_ text: String) -> [[String: Any]] {
    text.split(separator: "\n").compactMap { line in
        guard line.hasPrefix("{") else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }
}

/// The summary line bus-tap writes to stderr on exit.
func tapSummary(_ stderr: String) -> [String: Any]? {
    jsonLines(stderr).last { $0["summary"] as? Bool == true }
}

/// Writes `json` to a fresh temporary config file and returns its path.
func writeConfig(_ json: String) throws -> String {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-config-\(UUID().uuidString).json")
    try json.write(to: file, atomically: true, encoding: .utf8)
    return file.path
}

/// Starts bus-proxy on `bus` and waits until it forwards.
func startProxy(_ bus: TestBus, environment: [String: String]? = nil) async throws -> RunningProcess {
    let proxy = try RunningProcess("bus-proxy", arguments: [], environment: environment ?? bus.environment)
    #expect(await proxy.waitForOutput(seconds: 10) { $0.contains("forwarding") }, "bus-proxy did not start: \(proxy.stderr)")
    return proxy
}
