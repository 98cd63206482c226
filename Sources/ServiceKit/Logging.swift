import Foundation
import Logging
import Synchronization

/// Log level names as config and flags spell them (case-insensitive; `warn` means warning).
public enum LogLevelName {
    public static let all = Logger.Level.allCases.map(\.rawValue)

    public static func parse(_ text: String) -> Logger.Level? {
        let lower = text.lowercased()
        if lower == "warn" { return .warning }
        return Logger.Level(rawValue: lower)
    }
}

/// Where log lines go: standard error and, optionally, a file. One per process.
public final class LogSink: Sendable {
    public enum Format: String, Sendable { case text, json }

    private struct Outputs {
        var file: FileHandle?
    }

    private let outputs: Mutex<Outputs>
    public let format: Format
    /// The log file, when one is written.
    public let filePath: String?
    private let console: FileHandle

    /// Opens `directory/<service>_<UTC timestamp>.log` (creating the directory) unless
    /// `directory` is empty. Throws ``ConfigError`` when the directory cannot be written.
    public init(service: String, directory: String, format: Format, console: FileHandle = .standardError) throws(ConfigError) {
        self.format = format
        self.console = console
        guard !directory.isEmpty else {
            filePath = nil
            outputs = Mutex(Outputs(file: nil))
            return
        }
        let stamp = LogSink.fileTimestamp(Date())
        let path = (directory as NSString).appendingPathComponent("\(service)_\(stamp).log")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ConfigError(path: "logging.directory", message: "cannot create \(directory): \(error.localizedDescription)")
        }
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw ConfigError(path: "logging.directory", message: "cannot create log file \(path)")
        }
        filePath = path
        outputs = Mutex(Outputs(file: handle))
    }

    static func fileTimestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    /// Writes one finished line to every output.
    func write(_ line: String) {
        let data = Data((line + "\n").utf8)
        outputs.withLock { outputs in
            console.write(data)
            outputs.file?.write(data)
        }
    }

    /// Flushes and closes the file.
    public func close() {
        outputs.withLock { outputs in
            try? outputs.file?.synchronize()
            try? outputs.file?.close()
            outputs.file = nil
        }
    }
}

/// A swift-log handler writing text or JSON lines to a ``LogSink``.
public struct TickwireLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let sink: LogSink

    public init(label: String, sink: LogSink, level: Logger.Level) {
        self.label = label
        self.sink = sink
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let level = event.level
        let message = event.message
        let metadata = event.metadata
        let time = Self.timestamp()
        var merged = self.metadata
        if let metadata { merged.merge(metadata) { _, new in new } }
        switch sink.format {
        case .text:
            var line = "\(time) \(level.rawValue.uppercased()) \(label): \(message)"
            if !merged.isEmpty {
                line += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            }
            sink.write(line)
        case .json:
            var object: [String: String] = [
                "time": time, "level": level.rawValue, "logger": label, "message": "\(message)",
            ]
            for (key, value) in merged where object[key] == nil { object[key] = "\(value)" }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            sink.write(String(decoding: data, as: UTF8.self))
        }
    }

    static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = time_t(spec.tv_sec)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int(spec.tv_nsec) / 1_000_000
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }
}
