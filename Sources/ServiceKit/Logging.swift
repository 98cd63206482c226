// `stat` and `timespec` can be attributed to CDispatch when swift-prometheus loads Dispatch first.
import CDispatch
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

/// Where log lines go: standard error and, optionally, a file that rotates by size. One per
/// process.
///
/// Nothing here traps: writes use `write(2)` and check its result. When the file cannot be
/// written (a full or read-only disk, a deleted directory) the lines still go to standard
/// error, ``lostLines`` counts those the file missed, and the file is tried again a second
/// later. Creating a sink makes `SIGPIPE` ignored, so a closed standard error is an error to
/// count, not the end of the process.
public final class LogSink: Sendable {
    public enum Format: String, Sendable { case text, json }

    /// Default `logging.max_file_bytes`: 10 MiB.
    public static let defaultMaxFileBytes = 10 * 1_024 * 1_024
    /// Default `logging.max_files`.
    public static let defaultMaxFiles = 5
    /// The name of the heartbeat counter of lost lines.
    public static let lostLinesCounter = "log.lost_lines"

    private struct State {
        var file: LogFile?
        var lostLines: UInt64 = 0
        /// The reason the file is failing, while it is.
        var failure: String?
        var counters: ServiceCounters?
    }

    private let state: Mutex<State>
    public let format: Format
    /// The log file, when one is written.
    public let filePath: String?
    private let console: FileHandle

    /// Opens `directory/<service>_<UTC timestamp>.log` (creating the directory) unless
    /// `directory` is empty. The file rotates when it would pass `maxFileBytes`; at most
    /// `maxFiles` files of `service` are kept, the current one included. Throws
    /// ``ConfigError`` when the directory cannot be written.
    public init(
        service: String, directory: String, format: Format, maxFileBytes: Int = LogSink.defaultMaxFileBytes,
        maxFiles: Int = LogSink.defaultMaxFiles, console: FileHandle = .standardError
    ) throws(ConfigError) {
        DescriptorWrite.ignoreBrokenPipes()
        self.format = format
        self.console = console
        guard !directory.isEmpty else {
            filePath = nil
            state = Mutex(State())
            return
        }
        var file = LogFile(
            directory: directory, service: service, stamp: LogSink.fileTimestamp(Date()),
            maxBytes: Int64(maxFileBytes), maxFiles: maxFiles)
        if let failure = file.openCurrent() {
            throw ConfigError(path: "logging.directory", message: failure)
        }
        filePath = file.path
        state = Mutex(State(file: file))
    }

    /// A sink for `service` as the `logging` section says.
    public convenience init(
        service: String, logging: TickwireConfig.Logging, console: FileHandle = .standardError
    ) throws(ConfigError) {
        try self.init(
            service: service, directory: logging.directory, format: Format(rawValue: logging.format) ?? .text,
            maxFileBytes: logging.maxFileBytes, maxFiles: logging.maxFiles, console: console)
    }

    static func fileTimestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    /// Lines that did not reach the log file (or, with no file, standard error).
    public var lostLines: UInt64 { state.withLock { $0.lostLines } }

    /// Keeps `log.lost_lines` in `counters` (the heartbeat's) equal to ``lostLines`` from now on.
    public func attach(_ counters: ServiceCounters) {
        state.withLock { state in
            state.counters = counters
            counters.set(Self.lostLinesCounter, state.lostLines)
        }
    }

    /// Writes one finished line to every output.
    func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        state.withLock { state in
            let consoleFailure = DescriptorWrite.all(bytes, to: console.fileDescriptor)
            guard var file = state.file else {
                if consoleFailure != nil { lost(&state) }
                return
            }
            let failure = file.append(bytes)
            state.file = file
            if let failure {
                lost(&state)
                if state.failure == nil {
                    state.failure = failure
                    notice(
                        .warning,
                        "log file \(file.path) failed: \(failure); lines go to standard error only, "
                            + "counted in \(Self.lostLinesCounter)")
                }
            } else if state.failure != nil {
                state.failure = nil
                notice(.notice, "log file \(file.path) is written again; \(state.lostLines) line(s) lost so far")
            }
        }
    }

    private func lost(_ state: inout State) {
        state.lostLines &+= 1
        state.counters?.add(Self.lostLinesCounter)
    }

    /// A line about the sink itself, to standard error only.
    private func notice(_ level: Logger.Level, _ message: String) {
        let line = TickwireLogHandler.format(
            format, time: TickwireLogHandler.timestamp(), level: level, label: "log", message: message, metadata: [:])
        _ = DescriptorWrite.all(Array((line + "\n").utf8), to: console.fileDescriptor)
    }

    /// Flushes and closes the file.
    public func close() {
        state.withLock { state in
            state.file?.closeCurrent()
            state.file = nil
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
        var merged = self.metadata
        if let metadata = event.metadata { merged.merge(metadata) { _, new in new } }
        sink.write(
            Self.format(
                sink.format, time: Self.timestamp(), level: event.level, label: label, message: "\(event.message)",
                metadata: merged))
    }

    /// One log line, without its newline. In text, newlines and other control characters of
    /// the label, message and metadata are escaped, so no text can start a line of its own.
    static func format(
        _ format: LogSink.Format, time: String, level: Logger.Level, label: String, message: String,
        metadata: Logger.Metadata
    ) -> String {
        switch format {
        case .text:
            let escaped = LogEscaping.escape(message)
            var line = "\(time) \(level.rawValue.uppercased()) \(LogEscaping.escape(label)): \(escaped)"
            if !metadata.isEmpty {
                line += " " + metadata.sorted { $0.key < $1.key }
                    .map { "\(LogEscaping.escape($0.key))=\(LogEscaping.escape("\($0.value)"))" }.joined(separator: " ")
            }
            return line
        case .json:
            var object: [String: String] = ["time": time, "level": level.rawValue, "logger": label, "message": message]
            for (key, value) in metadata where object[key] == nil { object[key] = "\(value)" }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return String(decoding: data, as: UTF8.self)
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

/// Escapes for text log lines: control characters (C0, DEL, C1) and the Unicode line and
/// paragraph separators become `\n`, `\r`, `\t` or `\u{XX}`, so a message cannot break a
/// line or drive the terminal.
public enum LogEscaping {
    public static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where needsEscape(scalar): result += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029: true
        default: false
        }
    }
}
