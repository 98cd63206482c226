import Foundation

/// A directory of its own for one test, removed when the value is released.
public final class TemporaryDirectory {
    public let path: String

    public init(_ label: String = "tickwire-test") throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString.lowercased())").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `contents` to `name` inside the directory and returns the file's path.
    @discardableResult
    public func write(_ name: String, _ contents: String) throws -> String {
        let file = (path as NSString).appendingPathComponent(name)
        try Data(contents.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// The path `name` would have inside the directory (the file need not exist).
    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}
