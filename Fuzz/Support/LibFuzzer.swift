import CLibFuzzer

#if canImport(Glibc)
import Glibc
#endif

/// Runs libFuzzer with this process's arguments on `callback` and exits with its status.
///
/// SwiftPM makes an executable's `main.swift` its entry point (it renames `main` so tests can
/// link executables), which hides libFuzzer's own `main`; `LLVMFuzzerRunDriver` takes the same
/// flags. Each target still defines `LLVMFuzzerTestOneInput` with `@_cdecl`, which libFuzzer's
/// objects reference.
public func runLibFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
}

/// The input as an array (an empty one for a null pointer).
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// The input's lines (at most `limit`), for targets that read a stream of frames or rows.
public func fuzzLines(_ bytes: [UInt8], limit: Int = 64) -> [String] {
    bytes.split(separator: UInt8(ascii: "\n"), maxSplits: limit, omittingEmptySubsequences: false)
        .prefix(limit).map { String(decoding: $0, as: UTF8.self) }
}

/// Writes `bytes` to a file of this process's own (the same path every time) and returns its
/// path, for targets whose entry point reads a file.
public func fuzzFile(_ bytes: [UInt8], name: String) -> String {
    let directory = "/tmp/tickwire-fuzz-\(getpid())"
    mkdir(directory, 0o700)
    let path = "\(directory)/\(name)"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return path }
    var written = 0
    while written < bytes.count {
        let result = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if result <= 0 { break }
        written += result
    }
    close(fd)
    return path
}
