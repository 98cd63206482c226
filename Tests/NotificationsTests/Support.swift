import Foundation
import Hummingbird
import Logging
import NIOCore
import Notifications
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

enum Paths {
    static let repository: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `TICKWIRE_PYTHON`, else `<repo>/.venv/bin/python` (needs aiosmtpd).
    static var python: String {
        if let python = ProcessInfo.processInfo.environment["TICKWIRE_PYTHON"], !python.isEmpty { return python }
        return repository.appendingPathComponent(".venv/bin/python").path
    }

    static var smtpSink: String { repository.appendingPathComponent("Tests/python/smtp_sink.py").path }
}

struct SupportError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Child processes

/// A child process whose stdout and stderr are read line by line on threads of their own.
final class ChildProcess: Sendable {
    private let process: Process
    private let stdin: Pipe
    private let lines = Collector<String>()
    private let errors = Collector<String>()

    init(executable: String, arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        self.process = process
        self.stdin = stdin
        try process.run()
        Self.read(stdout.fileHandleForReading, name: "test-child-stdout") { [lines] chunk, pending in
            pending += chunk
            while let newline = pending.firstIndex(of: "\n") {
                let line = String(pending[..<newline])
                pending = String(pending[pending.index(after: newline)...])
                lines.append(line)
            }
        }
        Self.read(stderr.fileHandleForReading, name: "test-child-stderr") { [errors] chunk, _ in
            if errors.count < 1000 { errors.append(chunk) }
        }
    }

    /// Reads `handle` to its end on a new thread (bounded by the child's life).
    private static func read(
        _ handle: FileHandle, name: String, _ onChunk: @escaping @Sendable (String, inout String) -> Void
    ) {
        let thread = Thread {
            var pending = ""
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                onChunk(String(decoding: data, as: UTF8.self), &pending)
            }
        }
        thread.name = name
        thread.start()
    }

    var output: [String] { lines.values }
    var errorOutput: String { errors.values.joined() }
    var isRunning: Bool { process.isRunning }

    /// Waits (bounded) for a stdout line starting with `prefix`.
    func waitForLine(prefix: String, seconds: Double = 20) async throws -> String {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(seconds)
        while clock.now < deadline {
            if let line = output.first(where: { $0.hasPrefix(prefix) }) { return line }
            if !process.isRunning {
                throw SupportError(
                    "the child exited (\(process.terminationStatus)) before printing '\(prefix)': \(errorOutput)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw SupportError("no '\(prefix)' line within \(seconds) s; stderr: \(errorOutput)")
    }

    /// SIGTERM, then SIGKILL after 5 s; waits (bounded) for the exit.
    func stop() async {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        let clock = ContinuousClock()
        var deadline = clock.now + .seconds(5)
        while process.isRunning && clock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            deadline = clock.now + .seconds(5)
            while process.isRunning && clock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        }
    }
}

// MARK: - SMTP

/// One message as the aiosmtpd sink received and parsed it (see Tests/python/smtp_sink.py).
struct ReceivedMail: Decodable, Sendable {
    struct Part: Decodable, Sendable {
        var type: String
        var charset: String?
        var cte: String?
        var text: String
    }

    var mail_from: String
    var rcpt_tos: [String]
    var content: String
    var tls: Bool
    var auth_login: String?
    var headers: [String: String]
    var content_type: String
    var parts: [Part]
    var defects: [String]
    var date_ok: Bool
}

/// The aiosmtpd sink as a child process on 127.0.0.1.
final class SMTPSink: Sendable {
    let port: Int
    private let child: ChildProcess

    private init(port: Int, child: ChildProcess) {
        self.port = port
        self.child = child
    }

    struct Options: Sendable {
        enum TLS: Sendable { case none, starttls, implicit }
        var tls: TLS = .none
        var auth: (user: String, password: String)?
        var reject: [String: Int] = [:]
    }

    static func start(_ options: Options = Options(), certificate: TestCertificate? = nil) async throws -> SMTPSink {
        var arguments = [Paths.smtpSink, "--port", "0"]
        switch options.tls {
        case .none: break
        case .starttls: arguments.append("--starttls")
        case .implicit: arguments.append("--implicit-tls")
        }
        if options.tls != .none {
            guard let certificate else { throw SupportError("TLS needs a certificate") }
            arguments += ["--cert", certificate.certFile, "--key", certificate.keyFile]
        }
        if let auth = options.auth { arguments += ["--auth", "\(auth.user):\(auth.password)"] }
        for (address, code) in options.reject { arguments += ["--reject", "\(address)=\(code)"] }
        let python = Paths.python
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw SupportError(
                "no Python at \(python): set TICKWIRE_PYTHON to a Python with aiosmtpd 1.4 (or run make deps)")
        }
        let child = try ChildProcess(executable: python, arguments: arguments)
        do {
            let ready = try await child.waitForLine(prefix: "ready ")
            guard let port = Int(ready.dropFirst("ready ".count)) else {
                throw SupportError("bad ready line '\(ready)'")
            }
            return SMTPSink(port: port, child: child)
        } catch {
            await child.stop()
            throw error
        }
    }

    /// The messages received so far.
    func received() throws -> [ReceivedMail] {
        try child.output.filter { $0.hasPrefix("{") }.map {
            try JSONDecoder().decode(ReceivedMail.self, from: Data($0.utf8))
        }
    }

    /// Waits (bounded) until `count` messages have arrived.
    func waitForMessages(_ count: Int, seconds: Double = 10) async throws -> [ReceivedMail] {
        try await waitUntil(seconds: seconds, "\(count) message(s) at the SMTP sink") { try received().count >= count }
        return try received()
    }

    var errorOutput: String { child.errorOutput }

    func stop() async { await child.stop() }
}

extension SMTPSink.Options.TLS: Equatable {}

/// A self-signed certificate for `localhost` and `127.0.0.1`, made with the openssl CLI.
final class TestCertificate: Sendable {
    let directory: String
    var certFile: String { directory + "/cert.pem" }
    var keyFile: String { directory + "/key.pem" }

    init() throws {
        directory =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("tickwire-notify-tls-\(UUID().uuidString.lowercased())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory + "/key.pem", "-out",
            directory + "/cert.pem", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()  // openssl finishes in well under a second
        guard process.terminationStatus == 0, FileManager.default.fileExists(atPath: directory + "/cert.pem") else {
            throw SupportError("openssl req failed (\(process.terminationStatus))")
        }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

// MARK: - Raw sockets

/// A TCP socket on 127.0.0.1 that is listening (but never accepts or answers) or merely bound
/// (so connecting is refused). Closed on deinit.
final class LoopbackSocket: Sendable {
    let port: Int
    private let descriptor: Int32

    init(listening: Bool) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SupportError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, !listening || listen(fd, 16) == 0 else {
            close(fd)
            throw SupportError("bind/listen failed")
        }
        var actual = sockaddr_in()
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: actual.sin_port))
    }

    deinit { close(descriptor) }
}

// MARK: - HTTP

/// One request a ``FakeHTTPServer`` received.
struct RecordedRequest: Sendable {
    var method: String
    var path: String
    /// Lower-cased names.
    var headers: [String: String]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw SupportError("the body is not a JSON object: \(text)")
        }
        return object
    }

    /// `application/x-www-form-urlencoded` fields.
    func form() -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            fields[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }
}

/// The answer a ``FakeHTTPServer`` gives.
struct CannedResponse: Sendable {
    var status: Int = 200
    var body: String = "{}"
    var retryAfter: String?
}

/// A Hummingbird server on 127.0.0.1 that records every request and answers with `respond`.
/// Stopped by graceful shutdown of its service group (never by cancellation).
final class FakeHTTPServer: Sendable {
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    private let recorded: Collector<RecordedRequest>

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var requests: [RecordedRequest] { recorded.values }

    private init(port: Int, group: ServiceGroup, task: Task<Void, any Error>, recorded: Collector<RecordedRequest>) {
        self.port = port
        self.group = group
        self.task = task
        self.recorded = recorded
    }

    static func start(_ respond: @escaping @Sendable (RecordedRequest) -> CannedResponse = { _ in CannedResponse() })
        async throws -> FakeHTTPServer
    {
        let recorded = Collector<RecordedRequest>()
        let port = Mutex<Int?>(nil)
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers {
                let name = field.name.canonicalName
                headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
            }
            let record = RecordedRequest(
                method: request.method.rawValue, path: request.uri.path, headers: headers,
                body: Array(buffer.readableBytesView))
            recorded.append(record)
            let canned = respond(record)
            var responseHeaders = HTTPFields()
            responseHeaders[.contentType] = "application/json"
            if let retryAfter = canned.retryAfter { responseHeaders[.retryAfter] = retryAfter }
            return Response(
                status: .init(code: canned.status), headers: responseHeaders,
                body: .init(byteBuffer: ByteBuffer(string: canned.body)))
        }
        let app = Application(
            responder: responder, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port ?? 0 } })
        var logger = Logger(label: "fake-http")
        logger.logLevel = .critical
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        try await waitUntil(seconds: 10, "fake HTTP server listening") { port.withLock { $0 != nil } }
        return FakeHTTPServer(port: port.withLock { $0 } ?? 0, group: group, task: task, recorded: recorded)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        let task = self.task
        _ = try? await withTimeout(seconds: 10, "fake HTTP server stop") { _ = await task.result }
    }
}

/// Runs `body` with `resource`, then `stop`s it whether `body` threw or not.
func using<R: Sendable, T>(
    _ resource: R, stop: (R) async -> Void, _ body: (R) async throws -> T
) async throws -> T {
    let result: Result<T, any Error>
    do {
        result = .success(try await body(resource))
    } catch {
        result = .failure(error)
    }
    await stop(resource)
    return try result.get()
}

/// The ``ChannelError`` delivering `message` throws; records an issue when it succeeds.
func deliveryError(
    _ channel: some DeliveryChannel, _ message: OutgoingMessage, sourceLocation: SourceLocation = #_sourceLocation
) async -> Notifications.ChannelError? {
    do {
        try await channel.deliver(message)
        Issue.record("\(channel.name): the delivery succeeded, expected an error", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}
