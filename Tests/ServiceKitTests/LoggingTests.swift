import Foundation
import Logging
import ServiceKit
import TestSupport
import Testing

@Suite("Logging")
struct LoggingTests {
    func lines(of path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test("writes logs/<service>_<UTC timestamp>.log, as JSON lines when asked")
    func jsonFile() throws {
        let directory = try TemporaryDirectory()
        let null = try #require(FileHandle(forWritingAtPath: "/dev/null"))
        let sink = try LogSink(service: "ingestor", directory: directory.path, format: .json, console: null)
        let path = try #require(sink.filePath)
        let name = (path as NSString).lastPathComponent
        #expect(name.range(of: #"^ingestor_\d{8}T\d{6}Z\.log$"#, options: .regularExpression) != nil, "\(name)")
        var logger = Logger(label: "ingestor") { TickwireLogHandler(label: $0, sink: sink, level: .info) }
        logger[metadataKey: "instance"] = "7"
        logger.debug("not written: below the level")
        logger.warning("feed silent", metadata: ["provider": "polygon", "key": "\(Secret("hunter2"))"])
        sink.close()
        let written = try lines(of: path)
        #expect(written.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(written[0].utf8)) as? [String: String])
        #expect(object["level"] == "warning")
        #expect(object["logger"] == "ingestor")
        #expect(object["message"] == "feed silent")
        #expect(object["provider"] == "polygon")
        #expect(object["instance"] == "7")
        #expect(object["key"] == "<redacted>")
        #expect(object["time"]?.hasSuffix("Z") == true)
        #expect(!written[0].contains("hunter2"))
    }

    @Test("text lines carry time, level, label and message; an empty directory writes no file")
    func textConsoleOnly() throws {
        let directory = try TemporaryDirectory()
        let capture = directory.file("console.txt")
        #expect(FileManager.default.createFile(atPath: capture, contents: nil))
        let console = try #require(FileHandle(forWritingAtPath: capture))
        let sink = try LogSink(service: "bus-proxy", directory: "", format: .text, console: console)
        #expect(sink.filePath == nil)
        let logger = Logger(label: "bus-proxy") { TickwireLogHandler(label: $0, sink: sink, level: .info) }
        logger.info("forwarding")
        try console.close()
        let written = try lines(of: capture)
        #expect(written.count == 1)
        #expect(written[0].range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z INFO bus-proxy: forwarding$"#, options: .regularExpression) != nil, "\(written[0])")
    }

    @Test("an unwritable log directory is a config error naming logging.directory")
    func unwritable() throws {
        #expect(throws: ConfigError.self) {
            try LogSink(service: "x", directory: "/proc/tickwire-cannot-exist", format: .text)
        }
        do {
            _ = try LogSink(service: "x", directory: "/proc/tickwire-cannot-exist", format: .text)
        } catch {
            #expect(error.path == "logging.directory")
        }
    }
}

@Suite("Numeric environment overrides")
struct NumericEnvironmentTests {
    @Test("update interval and rate limits come from the environment, typed")
    func numbers() throws {
        let loader = ConfigLoader(environment: [
            "TICKWIRE_UPDATE_INTERVAL": "5", "TICKWIRE_RATE_LIMIT_PER_MINUTE": "75", "TICKWIRE_RATE_LIMIT_PER_DAY": "1e5",
        ])
        let config = try loader.load(file: nil).config
        #expect(config.updateInterval == 5)
        #expect(config.rateLimit.requestsPerMinute == 75)
        #expect(config.rateLimit.requestsPerDay == 100_000)
    }

    @Test("a value that is not a number names the variable and the key")
    func notANumber() throws {
        do {
            _ = try ConfigLoader(environment: ["TICKWIRE_RATE_LIMIT_PER_DAY": "lots"]).load(file: nil)
            Issue.record("loaded a non-numeric rate limit")
        } catch {
            #expect(error.path == "rate_limit.requests_per_day")
            #expect(error.message.contains("TICKWIRE_RATE_LIMIT_PER_DAY='lots'"))
        }
    }
}
