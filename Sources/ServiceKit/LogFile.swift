// `stat` and `timespec` can be attributed to CDispatch when swift-prometheus loads Dispatch first.
import CDispatch
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Whole-buffer writes to a file descriptor with `write(2)`, which reports failure instead of
/// trapping as `FileHandle.write` does (a full disk, a closed pipe).
public enum DescriptorWrite {
    /// Why a write stopped, and how many bytes it got out first.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var written: Int
        public var code: Int32
        public var description: String { String(cString: strerror(code)) }
    }

    /// Writes all of `bytes` to `descriptor`, resuming after partial writes and `EINTR`.
    public static func all(_ bytes: [UInt8], to descriptor: Int32) -> Failure? {
        bytes.withUnsafeBytes { buffer -> Failure? in
            guard let base = buffer.baseAddress else { return nil }
            var offset = 0
            while offset < buffer.count {
                let result = write(descriptor, base + offset, buffer.count - offset)
                if result > 0 {
                    offset += result
                } else if result < 0 && errno == EINTR {
                    continue
                } else {
                    // 0 bytes written for a non-empty buffer would loop for ever: a failure too.
                    return Failure(written: offset, code: result < 0 ? errno : EIO)
                }
            }
            return nil
        }
    }

    /// Makes a write to a pipe or socket whose reader has gone fail with `EPIPE` instead of
    /// killing the process with `SIGPIPE`. Process-wide; idempotent. A handler that does
    /// nothing rather than `SIG_IGN`: an ignored signal would stay ignored in the processes
    /// this one starts (`tickwire up`'s services), a handled one is reset to the default.
    public static func ignoreBrokenPipes() {
        signal(SIGPIPE) { _ in }
    }
}

/// The log file of one service and its rotated predecessors in one directory.
///
/// The current file is `<service>_<stamp>.log`; when the next line would take it past
/// `maxBytes` it becomes `.log.1` (the one before becomes `.log.2`, and so on) and a new one
/// is started. At most `maxFiles` files of the service are kept, counting the current one and
/// those of earlier runs (other stamps): the oldest go first. Nothing here traps; a failed
/// write closes the file, and it is opened again (recreating the directory) a second later,
/// as is a file found deleted.
struct LogFile {
    let directory: String
    let service: String
    let stamp: String
    let maxBytes: Int64
    let maxFiles: Int

    private var descriptor: Int32 = -1
    private var size: Int64 = 0
    /// The last write stopped in the middle of a line: start the next with a newline.
    private var tornLine = false
    private var reopenAfter: ContinuousClock.Instant?
    /// When the open file was last checked for having been deleted.
    private var checkedAt = ContinuousClock.now

    /// Seconds between attempts to reopen a file that failed.
    static let retryInterval = Duration.seconds(1)

    init(directory: String, service: String, stamp: String, maxBytes: Int64, maxFiles: Int) {
        self.directory = directory
        self.service = service
        self.stamp = stamp
        self.maxBytes = max(1, maxBytes)
        self.maxFiles = min(max(1, maxFiles), 1_000)
    }

    var name: String { "\(service)_\(stamp).log" }
    var path: String { (directory as NSString).appendingPathComponent(name) }
    var isOpen: Bool { descriptor >= 0 }

    /// Opens (appending) the current file, creating the directory, then drops files past the
    /// retention count. Returns the error text on failure.
    mutating func openCurrent(truncating: Bool = false) -> String? {
        closeCurrent()
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            return "cannot create \(directory): \(error.localizedDescription)"
        }
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (truncating ? O_TRUNC : O_APPEND)
        let opened = open(path, flags, 0o644)
        guard opened >= 0 else { return "cannot open \(path): \(String(cString: strerror(errno)))" }
        var status = stat()
        size = fstat(opened, &status) == 0 ? Int64(status.st_size) : 0
        descriptor = opened
        if truncating { tornLine = false }
        reopenAfter = nil
        checkedAt = .now
        prune()
        return nil
    }

    /// Appends `line` (ending in a newline), rotating first when it would not fit. Returns the
    /// error text when the line did not reach the file, or `nil`.
    mutating func append(_ line: [UInt8]) -> String? {
        if isOpen && ContinuousClock.now - checkedAt > Self.retryInterval {
            // Writes to a deleted file (or directory) succeed and vanish: start a new one.
            checkedAt = .now
            var status = stat()
            if fstat(descriptor, &status) == 0 && status.st_nlink == 0 { closeCurrent() }
        }
        if !isOpen {
            if let reopenAfter, ContinuousClock.now < reopenAfter { return "still failing" }
            if let failure = openCurrent() {
                reopenAfter = .now + Self.retryInterval
                return failure
            }
        }
        if size > 0 && size + Int64(line.count) > maxBytes {
            if let failure = rotate() {
                reopenAfter = .now + Self.retryInterval
                return failure
            }
        }
        let bytes = tornLine ? [0x0A] + line : line
        if let failure = DescriptorWrite.all(bytes, to: descriptor) {
            size += Int64(failure.written)
            // A partial line stays in the file; the next one starts on a line of its own.
            tornLine = failure.written > 0 || tornLine
            closeCurrent()
            reopenAfter = .now + Self.retryInterval
            return "cannot write \(path): \(failure)"
        }
        size += Int64(bytes.count)
        tornLine = false
        return nil
    }

    /// Moves the current file to `.log.1` (shifting older ones up and deleting those past the
    /// retention count) and starts an empty one.
    private mutating func rotate() -> String? {
        closeCurrent()
        let rotated = files().filter { $0.stamp == stamp && $0.suffix > 0 }.map(\.suffix).sorted(by: >)
        for suffix in rotated {
            let from = rotatedPath(suffix)
            if suffix + 1 >= maxFiles {
                unlink(from)
            } else {
                rename(from, rotatedPath(suffix + 1))
            }
        }
        if maxFiles > 1 { rename(path, rotatedPath(1)) } else { unlink(path) }
        // Truncating: if the move failed, the file still may not grow past its bound.
        return openCurrent(truncating: true)
    }

    private func rotatedPath(_ suffix: Int) -> String { "\(path).\(suffix)" }

    /// A log file of this service: its run's stamp and its rotation number (0 = current).
    struct Entry: Equatable {
        var name: String
        var stamp: String
        var suffix: Int
    }

    /// This service's log files in the directory: `<service>_<stamp>.log[.N]`.
    func files() -> [Entry] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        let prefix = "\(service)_"
        return names.compactMap { name -> Entry? in
            guard name.hasPrefix(prefix) else { return nil }
            let rest = name.dropFirst(prefix.count)
            let stampLength = 16  // yyyyMMddTHHmmssZ
            guard rest.count >= stampLength + 4 else { return nil }
            let stamp = String(rest.prefix(stampLength))
            guard stamp.utf8.enumerated().allSatisfy({ index, byte in
                switch index {
                case 8: byte == UInt8(ascii: "T")
                case 15: byte == UInt8(ascii: "Z")
                default: (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                }
            }) else { return nil }
            let tail = rest.dropFirst(stampLength)
            if tail == ".log" { return Entry(name: name, stamp: stamp, suffix: 0) }
            guard tail.hasPrefix(".log."), let suffix = Int(tail.dropFirst(5)), suffix > 0 else { return nil }
            return Entry(name: name, stamp: stamp, suffix: suffix)
        }
    }

    /// Deletes this service's oldest log files beyond `maxFiles` (the current one always stays).
    func prune() {
        let others = files().filter { !($0.stamp == stamp && $0.suffix == 0) }.sorted {
            $0.stamp != $1.stamp ? $0.stamp > $1.stamp : $0.suffix < $1.suffix
        }
        for entry in others.dropFirst(maxFiles - 1) {
            unlink((directory as NSString).appendingPathComponent(entry.name))
        }
    }

    /// Flushes to disk and closes.
    mutating func closeCurrent() {
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
        descriptor = -1
    }
}
