import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A replay file could not be opened or read.
struct ReplayIOError: Error, Sendable, CustomStringConvertible {
    var path: String
    var message: String
    var description: String { "\(path): \(message)" }
}

/// Thin POSIX file calls shared by the config check (synchronous, at start) and the
/// line reader (on a Dispatch queue, never on the cooperative pool).
enum ReplaySystemFile {
    /// Opens `path` for reading; a directory or an unreadable file is an error.
    static func open(_ path: String) throws(ReplayIOError) -> Int32 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw ReplayIOError(path: path, message: errorText(errno)) }
        guard (info.st_mode & S_IFMT) != S_IFDIR else {
            throw ReplayIOError(path: path, message: "is a directory, not a CSV file")
        }
        let fd = path.withCString { systemOpen($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw ReplayIOError(path: path, message: errorText(errno)) }
        return fd
    }

    /// Reads up to `count` bytes (fewer at the end of the file; none at its end).
    static func read(_ fd: Int32, count: Int, path: String) throws(ReplayIOError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        while true {
            let got = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, count) }
            if got >= 0 {
                buffer.removeLast(count - got)
                return buffer
            }
            if errno == EINTR { continue }
            throw ReplayIOError(path: path, message: "read failed: \(errorText(errno))")
        }
    }

    static func close(_ fd: Int32) { _ = systemClose(fd) }

    static func errorText(_ code: Int32) -> String {
        switch code {
        case ENOENT: "file not found"
        case EACCES: "not readable (permission denied)"
        default: String(cString: strerror(code))
        }
    }

    private static func systemOpen(_ path: UnsafePointer<CChar>, _ flags: Int32) -> Int32 {
        #if canImport(Darwin)
        Darwin.open(path, flags)
        #elseif canImport(Musl)
        Musl.open(path, flags)
        #else
        Glibc.open(path, flags)
        #endif
    }

    private static func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        #if canImport(Darwin)
        Darwin.read(fd, buffer, count)
        #elseif canImport(Musl)
        Musl.read(fd, buffer, count)
        #else
        Glibc.read(fd, buffer, count)
        #endif
    }

    private static func systemClose(_ fd: Int32) -> Int32 {
        #if canImport(Darwin)
        Darwin.close(fd)
        #elseif canImport(Musl)
        Musl.close(fd)
        #else
        Glibc.close(fd)
        #endif
    }
}

/// One line of a replay file: its 1-based number and its text without the line ending
/// (`nil` when the line was longer than ``ReplayLineReader/maximumLineLength`` and skipped).
struct ReplayLine: Sendable, Equatable {
    var number: Int
    var text: String?
}

/// Streams a file line by line in 64 KiB chunks. Every `open` and `read` runs on a Dispatch
/// queue and the caller awaits it, so a slow disk never parks a cooperative-pool thread, and
/// only one chunk plus one partial line is ever held in memory. Not `Sendable`: one task owns it.
final class ReplayLineReader {
    static let chunkSize = 64 * 1024
    /// Longer lines are skipped (reported by the caller): no CSV row of market data is this long.
    static let maximumLineLength = 1024 * 1024

    let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    private var closed = false
    private(set) var lineNumber = 0

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit {
        if !closed { ReplaySystemFile.close(fd) }
    }

    static func open(_ path: String) async throws(ReplayIOError) -> ReplayLineReader {
        let result: Result<Int32, ReplayIOError> = await offPool { () throws(ReplayIOError) in
            try ReplaySystemFile.open(path)
        }
        return ReplayLineReader(path: path, fd: try result.get())
    }

    /// Closes the file now rather than when the reader is released.
    func close() {
        guard !closed else { return }
        closed = true
        ReplaySystemFile.close(fd)
    }

    /// The next line, or nil at the end of the file.
    func nextLine() async throws(ReplayIOError) -> ReplayLine? {
        var discarding = false
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let lineStart = start
                start = newline + 1
                lineNumber += 1
                if discarding || newline - lineStart > Self.maximumLineLength { return ReplayLine(number: lineNumber, text: nil) }
                return ReplayLine(number: lineNumber, text: text(lineStart..<newline))
            }
            if atEnd {
                guard start < buffer.count || discarding else { return nil }
                let lineStart = start
                start = buffer.count
                lineNumber += 1
                if discarding || buffer.count - lineStart > Self.maximumLineLength { return ReplayLine(number: lineNumber, text: nil) }
                return ReplayLine(number: lineNumber, text: text(lineStart..<buffer.count))
            }
            if buffer.count - start > Self.maximumLineLength {
                discarding = true
                start = buffer.count
            }
            if start > 0 {
                buffer.removeSubrange(0..<start)
                start = 0
            }
            let chunk = try await readChunk()
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }

    private func text(_ range: Range<Int>) -> String {
        var end = range.upperBound
        if end > range.lowerBound && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return String(decoding: buffer[range.lowerBound..<end], as: UTF8.self)
    }

    private func readChunk() async throws(ReplayIOError) -> [UInt8] {
        guard !closed else { return [] }
        let fd = self.fd
        let path = self.path
        let result: Result<[UInt8], ReplayIOError> = await Self.offPool { () throws(ReplayIOError) in
            try ReplaySystemFile.read(fd, count: Self.chunkSize, path: path)
        }
        return try result.get()
    }

    /// Runs a blocking call on a Dispatch queue and awaits its result.
    private static func offPool<T: Sendable>(
        _ work: @escaping @Sendable () throws(ReplayIOError) -> T
    ) async -> Result<T, ReplayIOError> {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                do throws(ReplayIOError) {
                    continuation.resume(returning: .success(try work()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
    }
}
