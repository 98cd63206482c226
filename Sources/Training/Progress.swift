import Foundation

/// A progress bar on standard error: redrawn in place on a terminal, one line per step
/// otherwise (logs, CI). Used by the one task that runs training (not Sendable).
public final class ProgressBar {
    private let total: Int
    private var done = 0
    private let interactive = isatty(STDERR_FILENO) != 0
    private let started = Date()

    public init(total: Int) { self.total = max(total, 1) }

    public func step(_ label: String) {
        done += 1
        let width = 30
        let filled = min(width, done * width / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let elapsed = Date().timeIntervalSince(started)
        let line = String(format: "[%@] %d/%d %@ (%.0fs)", bar, done, total, label, elapsed)
        let text = interactive ? "\r\u{1B}[2K" + line + (done == total ? "\n" : "") : line + "\n"
        FileHandle.standardError.write(Data(text.utf8))
    }
}
