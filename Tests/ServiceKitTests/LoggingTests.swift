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

/// Rotation, retention and failures of the log file; escaping of text lines.
@Suite("Log files that rotate and never trap")
struct LogRotationTests {
    func lines(of path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// A console that writes to a file of its own in `directory`.
    func console(in directory: TemporaryDirectory) throws -> (FileHandle, String) {
        let path = directory.file("console.txt")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        return (try #require(FileHandle(forWritingAtPath: path)), path)
    }

    func logs(in directory: String, service: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix(service + "_") }.sorted()
    }

    @Test("a full file is rotated to .log.1, .log.2, …; max_files counts the current one; lines are kept in order")
    func rotation() throws {
        let directory = try TemporaryDirectory()
        let logs = directory.file("logs")
        let (console, _) = try console(in: directory)
        let sink = try LogSink(
            service: "ingestor", directory: logs, format: .text, maxFileBytes: 1_000, maxFiles: 3, console: console)
        let path = try #require(sink.filePath)
        let logger = Logger(label: "ingestor") { TickwireLogHandler(label: $0, sink: sink, level: .info) }
        for number in 1...100 { logger.info("line \(number) padded to about sixty bytes") }
        sink.close()
        let names = self.logs(in: logs, service: "ingestor")
        let current = (path as NSString).lastPathComponent
        #expect(names == [current, current + ".1", current + ".2"], "\(names)")
        var kept: [Int] = []
        for name in [current + ".2", current + ".1", current] {
            let file = (logs as NSString).appendingPathComponent(name)
            let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            #expect(size <= 1_000, "\(name) has \(size) bytes")
            kept += lines(of: file).compactMap { line in
                line.range(of: #"line (\d+) "#, options: .regularExpression).flatMap {
                    Int(line[$0].dropFirst(5).dropLast())
                }
            }
        }
        #expect(kept.last == 100)
        #expect(kept == Array((kept.first ?? 0)...100), "the newest lines, consecutive: \(kept)")
        #expect(kept.count > 20 && kept.count < 60, "about three files of lines: \(kept.count)")
        #expect(sink.lostLines == 0)
    }

    @Test("retention covers earlier runs of the same service, oldest first, and nothing else")
    func retentionAcrossRuns() throws {
        let directory = try TemporaryDirectory()
        for name in [
            "signal-generator_20200101T000000Z.log", "signal-generator_20200101T000000Z.log.1",
            "signal-generator_20210101T000000Z.log", "signal-generator_20210101T000000Z.log.1",
            "signal-generator-2_20200101T000000Z.log", "notes.txt",
        ] {
            try directory.write(name, "old\n")
        }
        let (console, _) = try console(in: directory)
        let sink = try LogSink(
            service: "signal-generator", directory: directory.path, format: .text, maxFiles: 3, console: console)
        let current = (try #require(sink.filePath) as NSString).lastPathComponent
        sink.close()
        let remaining = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(
            remaining == [
                "console.txt", "notes.txt", "signal-generator-2_20200101T000000Z.log",
                "signal-generator_20210101T000000Z.log", "signal-generator_20210101T000000Z.log.1", current,
            ].sorted(), "\(remaining)")
    }

    @Test("a full disk (/dev/full): lines go to stderr, are counted lost in log.lost_lines, and nothing traps")
    func fullDisk() throws {
        let directory = try TemporaryDirectory()
        let logs = directory.file("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        // The sink names its file after the current second: point the next few names at /dev/full.
        let now = Date()
        for offset in -1...5 {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
            let name = "notifier_\(formatter.string(from: now.addingTimeInterval(Double(offset)))).log"
            try FileManager.default.createSymbolicLink(
                atPath: (logs as NSString).appendingPathComponent(name), withDestinationPath: "/dev/full")
        }
        let (console, consolePath) = try console(in: directory)
        let sink = try LogSink(service: "notifier", directory: logs, format: .text, maxFiles: 10, console: console)
        let counters = ServiceCounters()
        sink.attach(counters)
        let logger = Logger(label: "notifier") { TickwireLogHandler(label: $0, sink: sink, level: .info) }
        for number in 1...50 { logger.info("delivered \(number)") }
        sink.close()
        #expect(sink.lostLines == 50)
        #expect(counters.snapshot.named[LogSink.lostLinesCounter] == 50)
        let written = lines(of: consolePath)
        #expect(written.filter { $0.contains("delivered") }.count == 50, "every line reached the console")
        #expect(
            written.contains { $0.contains("failed") && $0.contains("No space left on device") }, "\(written.prefix(3))")
    }

    @Test("a log directory on a full tmpfs: no trap, losses counted, the file written again once there is room",
          .enabled(if: geteuid() == 0, "mounting a tmpfs needs root"))
    func fullTmpfs() async throws {
        let directory = try TemporaryDirectory()
        let mountPoint = directory.file("small")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mountPoint]
        try await run(mount)
        // Not allowed here (e.g. an unprivileged container): the /dev/full test covers the case.
        guard mount.terminationStatus == 0 else { return }
        defer {
            let unmount = Process()
            unmount.executableURL = URL(fileURLWithPath: "/bin/umount")
            unmount.arguments = ["-l", mountPoint]
            if (try? unmount.run()) != nil { unmount.waitUntilExit() }  // a few ms, at the end
            withExtendedLifetime(directory) {}
        }
        let (console, _) = try console(in: directory)
        let sink = try LogSink(
            service: "processor", directory: mountPoint, format: .json, maxFileBytes: 1 << 20, console: console)
        let logger = Logger(label: "processor") { TickwireLogHandler(label: $0, sink: sink, level: .info) }
        let filler = String(repeating: "x", count: 200)
        for number in 1...1_000 { logger.info("bar \(number) \(filler)") }
        #expect(sink.lostLines > 0, "64 KiB cannot hold 200 KiB of lines")
        // Room again: the file takes lines once more after the retry interval.
        let path = try #require(sink.filePath)
        #expect(truncate(path, 0) == 0)
        try await Task.sleep(for: .seconds(1.2))  // the file's retry interval; never park a pool thread
        let lost = sink.lostLines
        logger.info("after the disk was freed")
        sink.close()
        #expect(sink.lostLines == lost)
        #expect(lines(of: path).last?.contains("after the disk was freed") == true)
    }

    @Test("a deleted log directory is created again; one replaced by a file loses lines, counted, without a trap")
    func deletedDirectory() async throws {
        let directory = try TemporaryDirectory()
        let logs = directory.file("logs")
        let (console, consolePath) = try console(in: directory)
        let sink = try LogSink(service: "scheduler", directory: logs, format: .text, console: console)
        let path = try #require(sink.filePath)
        let logger = Logger(label: "scheduler") { TickwireLogHandler(label: $0, sink: sink, level: .info) }
        logger.info("before")
        try FileManager.default.removeItem(atPath: logs)
        try await Task.sleep(for: .seconds(1.2))  // the file's retry interval; never park a pool thread
        logger.info("after the directory was deleted")
        #expect(lines(of: path).last?.hasSuffix("after the directory was deleted") == true, "\(lines(of: path))")

        try FileManager.default.removeItem(atPath: logs)
        try directory.write("logs", "a file where the directory was\n")
        try await Task.sleep(for: .seconds(1.2))  // the file's retry interval; never park a pool thread
        for number in 1...5 { logger.info("nowhere \(number)") }
        #expect(sink.lostLines == 5)
        #expect(lines(of: consolePath).filter { $0.contains("nowhere") }.count == 5)

        try FileManager.default.removeItem(atPath: logs)
        try await Task.sleep(for: .seconds(1.2))  // the file's retry interval; never park a pool thread
        logger.info("back")
        sink.close()
        #expect(sink.lostLines == 5)
        #expect(lines(of: path).last?.hasSuffix("back") == true)
        #expect(lines(of: consolePath).contains { $0.contains("is written again; 5 line(s) lost") })
    }

    @Test("a closed standard error (EPIPE) neither kills nor traps; the file still gets the line")
    func brokenConsolePipe() throws {
        let directory = try TemporaryDirectory()
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()
        let sink = try LogSink(
            service: "bus-tap", directory: directory.path, format: .text, console: pipe.fileHandleForWriting)
        let logger = Logger(label: "bus-tap") { TickwireLogHandler(label: $0, sink: sink, level: .info) }
        logger.info("nobody reads standard error")
        sink.close()
        #expect(sink.lostLines == 0)
        #expect(lines(of: try #require(sink.filePath)).last?.hasSuffix("nobody reads standard error") == true)
    }

    @Test("text lines escape newlines and control characters of message and metadata: no forged lines")
    func escaping() throws {
        let directory = try TemporaryDirectory()
        let (console, consolePath) = try console(in: directory)
        let sink = try LogSink(service: "ingestor", directory: "", format: .text, console: console)
        let logger = Logger(label: "ingestor") { TickwireLogHandler(label: $0, sink: sink, level: .info) }
        logger.warning(
            "bad symbol 'X\n2026-01-01T00:00:00.000Z CRITICAL ingestor: forged\r\u{1B}[2J\u{85}\u{2028}'",
            metadata: ["producer": "evil\nCRITICAL", "ke\ny": "v"])
        try console.close()
        let written = lines(of: consolePath)
        #expect(written.count == 1, "\(written)")
        let line = try #require(written.first)
        let escaped = #"X\n2026-01-01T00:00:00.000Z CRITICAL ingestor: forged\r\u{1b}[2J\u{85}\u{2028}'"#
        #expect(line.contains(escaped), "\(line)")
        #expect(line.hasSuffix(#" ke\ny=v producer=evil\nCRITICAL"#), "\(line)")
        let controls = line.unicodeScalars.filter {
            $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x2028 || $0.value == 0x2029
        }
        #expect(controls.isEmpty)
    }

    @Test("logging.max_file_bytes and logging.max_files: defaults 10 MiB and 5, bounded, errors name the key")
    func settings() throws {
        let defaults = try ConfigLoader(environment: [:]).load(file: nil).config.logging
        #expect(defaults.maxFileBytes == 10_485_760)
        #expect(defaults.maxFiles == 5)
        for (json, path) in [
            (#"{"logging": {"max_file_bytes": 1000}}"#, "logging.max_file_bytes"),
            (#"{"logging": {"max_file_bytes": 1e15}}"#, "logging.max_file_bytes"),
            (#"{"logging": {"max_files": 0}}"#, "logging.max_files"),
            (#"{"logging": {"max_files": 100000}}"#, "logging.max_files"),
        ] {
            let directory = try TemporaryDirectory()
            let file = try directory.write("config.json", json)
            do {
                _ = try ConfigLoader(environment: [:]).load(file: file)
                Issue.record("accepted \(json)")
            } catch {
                #expect(error.path == path, "\(json): \(error)")
            }
        }
        let directory = try TemporaryDirectory()
        let file = try directory.write("config.json", #"{"logging": {"max_file_bytes": 65536, "max_files": 1000}}"#)
        let logging = try ConfigLoader(environment: [:]).load(file: file).config.logging
        #expect(logging.maxFileBytes == 65_536)
        #expect(logging.maxFiles == 1_000)
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

/// Runs `process` to its end without parking a thread of the cooperative pool.
private func run(_ process: Process) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        process.terminationHandler = { _ in continuation.resume() }
        do {
            try process.run()
        } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
        }
    }
}
