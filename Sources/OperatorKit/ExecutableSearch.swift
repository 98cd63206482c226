import Foundation

/// Where `tickwire up` looks for the service executables, in order.
///
/// Without `--bin-dir`: next to the running executable (`/proc/self/exe`, symlinks resolved),
/// next to `argv[0]` when it names a path (as given, then resolved), then each `PATH` entry.
/// So `tickwire up` works from the build directory, through a symlink, and as a plain
/// `tickwire` found on `PATH`.
public struct ExecutableSearch: Sendable, Equatable {
    /// A directory to look in and why it is on the list.
    public struct Place: Sendable, Equatable {
        public var directory: String
        public var reason: String

        public init(directory: String, reason: String) {
            self.directory = directory
            self.reason = reason
        }
    }

    /// A service executable found in none of the places.
    public struct NotFound: Error, Sendable, CustomStringConvertible {
        public var name: String
        public var places: [Place]

        public var description: String {
            let looked = places.map { "\($0.directory) (\($0.reason))" }.joined(separator: ", ")
            return "\(name) not found; looked in \(looked.isEmpty ? "no directory" : looked). "
                + "Build the services ('make build') or pass --bin-dir"
        }
    }

    public var places: [Place]

    public init(places: [Place]) {
        var seen = Set<String>()
        self.places = places.filter { !$0.directory.isEmpty && seen.insert($0.directory).inserted }
    }

    /// The places for `tickwire up`: `binDirectory` alone when given, else the running
    /// executable's directory, `argv0`'s, and `path`'s entries (empty entries skipped).
    public static func forServices(
        binDirectory: String?, executable: String?, argv0: String, path: String?
    ) -> ExecutableSearch {
        if let binDirectory { return ExecutableSearch(places: [Place(directory: binDirectory, reason: "--bin-dir")]) }
        var places: [Place] = []
        if let executable {
            let directory = directoryOf(executable, resolvingSymlinks: true)
            places.append(Place(directory: directory, reason: "next to tickwire"))
        }
        if argv0.contains("/") {
            places.append(Place(directory: directoryOf(argv0, resolvingSymlinks: false), reason: "next to argv[0]"))
            let resolved = directoryOf(argv0, resolvingSymlinks: true)
            places.append(Place(directory: resolved, reason: "next to argv[0], resolved"))
        }
        for entry in (path ?? "").split(separator: ":", omittingEmptySubsequences: true) {
            places.append(Place(directory: String(entry), reason: "PATH"))
        }
        return ExecutableSearch(places: places)
    }

    /// The running executable as the kernel knows it (`/proc/self/exe`), or nil.
    public static func runningExecutable() -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }

    /// The path of `name` in the first place that has it as an executable file.
    public func locate(
        _ name: String, isExecutable: (String) -> Bool = FileManager.default.isExecutableFile
    ) throws(NotFound) -> String {
        for place in places {
            let candidate = (place.directory as NSString).appendingPathComponent(name)
            if isExecutable(candidate) { return candidate }
        }
        throw NotFound(name: name, places: places)
    }

    private static func directoryOf(_ file: String, resolvingSymlinks: Bool) -> String {
        var url = URL(fileURLWithPath: file)
        if resolvingSymlinks { url = url.resolvingSymlinksInPath() }
        return url.deletingLastPathComponent().path
    }
}
