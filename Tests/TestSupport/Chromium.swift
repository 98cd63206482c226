import Foundation

/// Debian's chromium-headless-shell for the browser checks (or `TICKWIRE_CHROMIUM`); nil when
/// there is none (`make deps` installs it).
public enum Chromium {
    public static var executable: String? {
        if let configured = ProcessInfo.processInfo.environment["TICKWIRE_CHROMIUM"], !configured.isEmpty {
            return FileManager.default.isExecutableFile(atPath: configured) ? configured : nil
        }
        return ["/usr/lib/chromium/chromium-headless-shell", "/usr/bin/chromium-headless-shell"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
