import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A PostgreSQL 15 server of its own for one test: a fresh cluster in a temporary directory,
/// listening on a free loopback port (and a socket in that directory), trusting user
/// `tickwire`, with an empty database `journal`. ``stop()`` shuts it down at once and removes
/// the directory; a server never stopped is killed when the value is released.
///
/// Needs the PostgreSQL 15 server binaries (`apt-get install postgresql-15`; `make test`
/// installs them). As root, `initdb` and `pg_ctl` run as the `postgres` user (PostgreSQL
/// refuses to run as root), so the directory is made under `/tmp` and given to that user.
public final class ThrowawayPostgres: Sendable {
    public static let binaries = "/usr/lib/postgresql/15/bin"

    /// `postgres://tickwire@127.0.0.1:<port>/journal`.
    public let url: String
    public let port: Int
    /// The cluster's directory: `data/` (the cluster), `log`, and the server's socket.
    public let directory: String
    public var dataDirectory: String { directory + "/data" }
    public var logFile: String { directory + "/log" }
    private let runAs: String?
    private let stopped = Mutex(false)

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    private init(port: Int, directory: String, runAs: String?) {
        self.port = port
        self.directory = directory
        self.runAs = runAs
        url = "postgres://tickwire@127.0.0.1:\(port)/journal"
    }

    /// Makes a cluster, starts it and creates the database `journal`. Every step is bounded
    /// in time; throws (saying what to install when the binaries are missing).
    public static func start() async throws -> ThrowawayPostgres {
        for tool in ["initdb", "pg_ctl", "createdb"] where !FileManager.default.isExecutableFile(atPath: "\(binaries)/\(tool)") {
            throw Failure(
                "\(binaries)/\(tool) not found: the PostgreSQL store's tests need a PostgreSQL 15 server "
                    + "(apt-get install postgresql-15)")
        }
        let asRoot = geteuid() == 0
        var runAs: String?
        if asRoot {
            guard FileManager.default.isExecutableFile(atPath: runuser) else {
                throw Failure("running as root needs \(runuser) to run PostgreSQL as the postgres user")
            }
            runAs = "postgres"
        }
        // Under /tmp as root: the postgres user must reach it (a TMPDIR under /root would not do).
        let base = asRoot ? "/tmp" : NSTemporaryDirectory()
        let directory = (base as NSString).appendingPathComponent("tickwire-pg-\(UUID().uuidString.lowercased().prefix(12))")
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        do {
            if asRoot {
                try await run(chown, ["-R", "postgres:postgres", directory], timeout: 10, in: directory)
            }
            let data = directory + "/data"
            try await run(
                "\(binaries)/initdb",
                ["-D", data, "-A", "trust", "-U", "tickwire", "-E", "UTF8", "--locale=C", "--no-sync"],
                as: runAs, timeout: 60, in: directory)
            var lastError: (any Error)?
            for _ in 0..<8 {
                let port = Int.random(in: 20_000...60_000)
                let server = ThrowawayPostgres(port: port, directory: directory, runAs: runAs)
                do {
                    try await run(
                        "\(binaries)/pg_ctl",
                        [
                            "-w", "-t", "30", "-D", data, "-l", server.logFile, "-o",
                            "-p \(port) -k \(directory) -h 127.0.0.1 -c fsync=off -c synchronous_commit=off "
                                + "-c full_page_writes=off -c shared_buffers=32MB -c max_connections=40",
                            "start",
                        ],
                        as: runAs, timeout: 45, in: directory)
                } catch {
                    // Most likely the port is taken: the server exits and pg_ctl says so.
                    lastError = error
                    server.stopped.withLock { $0 = true }
                    _ = try? await run("\(binaries)/pg_ctl", ["-D", data, "-m", "immediate", "stop"], as: runAs, timeout: 15, in: directory)
                    continue
                }
                try await run(
                    "\(binaries)/createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "tickwire", "journal"],
                    as: runAs, timeout: 30, in: directory)
                return server
            }
            throw Failure("PostgreSQL did not start on any of 8 ports: \(lastError.map { "\($0)" } ?? "")")
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// Runs `body` with a fresh server, stopping it afterwards whatever happens.
    public static func with<T: Sendable>(_ body: (ThrowawayPostgres) async throws -> T) async throws -> T {
        let server = try await start()
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// Stops the server at once (`pg_ctl -m immediate stop`) and removes its directory.
    public func stop() async {
        guard stopped.withLock({ stopped in
            defer { stopped = true }
            return !stopped
        }) else { return }
        do {
            try await Self.run(
                "\(Self.binaries)/pg_ctl", ["-D", dataDirectory, "-m", "immediate", "-w", "-t", "20", "stop"],
                as: runAs, timeout: 30, in: directory)
        } catch {
            killPostmaster()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Stops the server cleanly (a checkpoint first) and starts it again on the same port.
    public func restart() async throws {
        try await Self.run(
            "\(Self.binaries)/pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "30", "stop"],
            as: runAs, timeout: 45, in: directory)
        try await startAgain()
    }

    /// Stops the server cleanly and returns; ``startAgain()`` brings it back.
    public func pause() async throws {
        try await Self.run(
            "\(Self.binaries)/pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "30", "stop"],
            as: runAs, timeout: 45, in: directory)
    }

    public func startAgain() async throws {
        try await Self.run(
            "\(Self.binaries)/pg_ctl",
            [
                "-w", "-t", "30", "-D", dataDirectory, "-l", logFile, "-o",
                "-p \(port) -k \(directory) -h 127.0.0.1 -c fsync=off -c synchronous_commit=off "
                    + "-c full_page_writes=off -c shared_buffers=32MB -c max_connections=40",
                "start",
            ],
            as: runAs, timeout: 45, in: directory)
    }

    /// Runs `psql` on the `journal` database (`-tA`: bare values, one row a line).
    @discardableResult
    public func psql(_ sql: String, timeout: Double = 30) async throws -> String {
        try await Self.run(
            "\(Self.binaries)/psql",
            ["-X", "-v", "ON_ERROR_STOP=1", "-tA", "-h", "127.0.0.1", "-p", "\(port)", "-U", "tickwire", "-d", "journal", "-c", sql],
            as: runAs, timeout: timeout, in: directory)
    }

    /// The server's log, for a failure message.
    public func log() -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }

    deinit {
        if !stopped.withLock({ $0 }) {
            killPostmaster()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// SIGQUIT to the postmaster named in `postmaster.pid`: an immediate shutdown.
    private func killPostmaster() {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
            let first = text.split(separator: "\n").first, let pid = Int32(first.trimmingCharacters(in: .whitespaces)),
            pid > 1
        else { return }
        kill(pid, SIGQUIT)
    }

    // MARK: Processes

    static let runuser = "/usr/sbin/runuser"
    static let bash = "/bin/bash"
    /// Closes every descriptor above 2, then runs its arguments.
    static let closeInheritedThenExec = """
        for path in /proc/$$/fd/*; do fd=${path##*/}; if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi; done 2>/dev/null
        exec "$@"
        """

    /// Waits `duration` even in a cancelled task (a cancelled test still stops its server;
    /// `Task.sleep` would return at once and make the wait a busy loop).
    static func pause(_ duration: Duration) async {
        let nanoseconds = Int(duration.components.seconds) * 1_000_000_000 + Int(duration.components.attoseconds / 1_000_000_000)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { continuation.resume() }
        }
    }
    static var chown: String {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/chown") ? "/usr/bin/chown" : "/bin/chown"
    }
    private var runuser: String { Self.runuser }

    /// Runs `executable` (as `user` through runuser when given) with its output in a file, and
    /// waits at most `timeout` seconds (then kills it). Throws when it fails; returns stdout
    /// and stderr together.
    @discardableResult
    static func run(
        _ executable: String, _ arguments: [String], as user: String? = nil, timeout: Double, in directory: String
    ) async throws -> String {
        let process = Process()
        // Foundation learns that a child ended when every holder of a socket it gives the child
        // has closed it; `pg_ctl start` leaves a daemon behind that would hold it for the
        // server's lifetime. So the command runs behind a shell that closes what it inherits.
        var command = [executable] + arguments
        if FileManager.default.fileExists(atPath: "/proc/self/fd"), FileManager.default.isExecutableFile(atPath: bash) {
            command = [bash, "-c", closeInheritedThenExec, "bash"] + command
        }
        if let user {
            process.executableURL = URL(fileURLWithPath: runuser)
            process.arguments = ["-u", user, "--"] + command
        } else {
            process.executableURL = URL(fileURLWithPath: command[0])
            process.arguments = Array(command.dropFirst())
        }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let outputPath = NSTemporaryDirectory() + "/tickwire-pg-run-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: outputPath, contents: nil),
            let output = FileHandle(forWritingAtPath: outputPath)
        else { throw Failure("cannot create \(outputPath)") }
        defer {
            try? output.close()
            try? FileManager.default.removeItem(atPath: outputPath)
        }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let name = (executable as NSString).lastPathComponent
        try process.run()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(timeout))
        var interval = Duration.milliseconds(5)
        while process.isRunning {
            if clock.now >= deadline {
                process.terminate()
                await pause(.milliseconds(500))
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                throw Failure("\(name) did not finish within \(timeout) s")
            }
            await pause(interval)
            interval = min(interval * 2, .milliseconds(100))
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw Failure("\(name) \(arguments.joined(separator: " ")) failed (status \(process.terminationStatus)): \(text)")
        }
        return text
    }
}
