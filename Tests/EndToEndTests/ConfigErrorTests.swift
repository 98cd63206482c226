import Foundation
import Testing

/// A bad config stops a service at start, non-zero, naming the field.
@Suite("Config errors at start", .timeLimit(.minutes(1)))
struct ConfigErrorTests {
    func run(_ arguments: [String], config: String? = nil) async throws -> (Int32?, String) {
        let bus = try TestBus()
        var arguments = arguments
        if let config {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-\(UUID().uuidString).json")
            try config.write(to: file, atomically: true, encoding: .utf8)
            arguments += ["--config", file.path]
        }
        let process = try RunningProcess("ingestor", arguments: arguments, environment: bus.environment)
        let status = await process.wait(seconds: 20)
        if status == nil { await process.stop() }
        return (status, process.stderr)
    }

    @Test("wrong type names the path")
    func wrongType() async throws {
        let (status, stderr) = try await run([], config: #"{"window_size": "large"}"#)
        #expect(status == 78)
        #expect(stderr.contains("'window_size'"), "\(stderr)")
        #expect(stderr.contains("expected an integer"), "\(stderr)")
    }

    @Test("nested wrong type names the nested path")
    func nested() async throws {
        let (status, stderr) = try await run([], config: #"{"notifications": {"email": {"smtp_port": "587x"}}}"#)
        #expect(status == 78)
        #expect(stderr.contains("'notifications.email.smtp_port'"), "\(stderr)")
    }

    @Test("unknown provider names the field and the choices")
    func unknownProvider() async throws {
        let (status, stderr) = try await run(["--provider", "bloomberg"])
        #expect(status == 78)
        #expect(stderr.contains("'provider'") && stderr.contains("bloomberg") && stderr.contains("simulated"), "\(stderr)")
    }

    @Test("a missing config file is an error, not a default")
    func missingFile() async throws {
        let (status, stderr) = try await run(["--config", "/nonexistent/tickwire.json"])
        #expect(status == 78)
        #expect(stderr.contains("/nonexistent/tickwire.json") && stderr.contains("not found"), "\(stderr)")
    }

    @Test("a provider without its key fails at start naming api_key", arguments: ["alphavantage", "polygon", "alpaca", "finnhub"])
    func missingKey(_ provider: String) async throws {
        let (status, stderr) = try await run(["--provider", provider])
        #expect(status == 78)
        #expect(stderr.contains("'api_key'"), "\(stderr)")
    }

    @Test("the secret is never printed")
    func secretNotLogged() async throws {
        let (status, stderr) = try await run(["--api-key", "SUPERSECRET123", "--provider", "bloomberg"])
        #expect(status == 78)
        #expect(!stderr.contains("SUPERSECRET123"))
    }
}
