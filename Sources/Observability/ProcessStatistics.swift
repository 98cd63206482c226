import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What the kernel says about this process (Linux `/proc/self`); a field it cannot read is nil.
public struct ProcessStatistics: Sendable, Equatable {
    /// User plus system CPU time, in seconds.
    public var cpuSeconds: Double?
    /// Resident memory, in bytes.
    public var residentBytes: UInt64?
    /// Virtual memory, in bytes.
    public var virtualBytes: UInt64?
    /// Open file descriptors.
    public var openFileDescriptors: Int?
    /// The most file descriptors the process may open (the soft limit).
    public var maxFileDescriptors: Int?
    public var threads: Int?
    /// When the process started, in seconds since 1970.
    public var startTimeSeconds: Double?

    /// Reads them now.
    public static func read() -> ProcessStatistics {
        var statistics = ProcessStatistics()
        let ticks = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))
        let pageSize = UInt64(max(0, sysconf(Int32(_SC_PAGESIZE))))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let fields = Self.statFields(stat)
        {
            // Fields after the command, numbered as proc(5) numbers them from 1: state is 3.
            func field(_ number: Int) -> Double? {
                let index = number - 3
                return fields.indices.contains(index) ? Double(fields[index]) : nil
            }
            if let user = field(14), let system = field(15) { statistics.cpuSeconds = (user + system) / ticks }
            statistics.threads = field(20).flatMap { Int(exactly: $0) }
            if let start = field(22), let boot = Self.bootTime() { statistics.startTimeSeconds = boot + start / ticks }
        }
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let pages = statm.split(separator: " ").compactMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if pages.count > 1 {
                statistics.virtualBytes = pages[0].multipliedReportingOverflow(by: pageSize).partialValue
                statistics.residentBytes = pages[1].multipliedReportingOverflow(by: pageSize).partialValue
            }
        }
        statistics.openFileDescriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")).map(\.count)
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < UInt(Int.max) {
            statistics.maxFileDescriptors = Int(limit.rlim_cur)
        }
        return statistics
    }

    /// `/proc/self/stat`'s fields after `(command)`: the command may hold spaces and parentheses,
    /// so the split starts after the last `)`.
    static func statFields(_ stat: String) -> [Substring]? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    /// The boot time from `/proc/stat` (`btime`), in seconds since 1970.
    static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
