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
    /// waits at most `timeout` seconds (then kills its process group). Throws when it fails;
    /// returns stdout and stderr together.
    ///
    /// Spawned with `posix_spawn` and reaped with `waitpid`, not Foundation's `Process`: that
    /// learns of a child's end when a socket it hands the child is closed, and a child that
    /// another test spawns at the same moment can inherit that socket (a python reference run
    /// kept a `chown` "running" for its whole 25 s). A pid cannot leak that way.
    @discardableResult
    static func run(
        _ executable: String, _ arguments: [String], as user: String? = nil, timeout: Double, in directory: String
    ) async throws -> String {
        // The shell enters the directory and closes every descriptor it inherited above 2, so
        // a daemon `pg_ctl start` leaves behind holds nothing of this process or of others'.
        var command = [bash, "-c", "cd \"$1\" || exit 1; shift\n" + closeInheritedThenExec, "bash", directory, executable] + arguments
        if let user { command = [runuser, "-u", user, "--"] + command }
        let outputPath = NSTemporaryDirectory() + "/tickwire-pg-run-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let name = (executable as NSString).lastPathComponent
        let pid = try spawn(command, output: outputPath)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(timeout))
        var interval = Duration.milliseconds(5)
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped == -1, errno != EINTR { throw Failure("waitpid for \(name) failed: errno \(errno)") }
            if clock.now >= deadline {
                kill(-pid, SIGTERM)
                await pause(.milliseconds(500))
                kill(-pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw Failure("\(name) did not finish within \(timeout) s")
            }
            await pause(interval)
            interval = min(interval * 2, .milliseconds(100))
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // `waitpid`'s status: the low 7 bits are the signal (0 when it exited), the next 8 the exit code.
        let signal = status & 0x7f
        let exitCode = (status >> 8) & 0xff
        guard signal == 0, exitCode == 0 else {
            let how = signal == 0 ? "status \(exitCode)" : "signal \(signal)"
            throw Failure("\(name) \(arguments.joined(separator: " ")) failed (\(how)): \(text)")
        }
        return text
    }

    /// `posix_spawn` of `command` in a process group of its own, stdin from /dev/null, stdout
    /// and stderr to `output`.
    private static func spawn(_ command: [String], output: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, command[0], &actions, &attributes, argv, environ)
        guard result == 0 else { throw Failure("cannot start \(command[0]): error \(result)") }
        return pid
    }
}
