import Foundation

/// What a bus-fuzz run sent and found.
public struct FuzzReport: Sendable, Codable, Equatable {
    /// One process of the stack (or bus-fuzz's own subscriber).
    public struct Row: Sendable, Codable, Equatable {
        public var process: String
        public var instance: String
        /// False for a process without a heartbeat (bus-tap).
        public var checked = true
        /// Heartbeats continued after the last frame, from the same process.
        public var up = false
        public var restarts = 0
        public var rssStartBytes: UInt64?
        public var rssEndBytes: UInt64?
        public var rssGrowthMiB: Double?
        /// Frames that reached it (by ``SubscriptionTable``) and the `rejected.<reason>`
        /// counters its bus boundary added, in total and by reason.
        public var owed = 0
        public var refused = 0
        public var owedByReason: [String: Int] = [:]
        public var refusedByReason: [String: Int] = [:]
        /// Its other `rejected.*` counters (service logic, not the bus boundary): shown, not checked.
        public var otherRejected: [String: Int] = [:]
        /// bus-proxy only: messages it forwarded and malformed ones it counted meanwhile.
        public var proxyMessages: Int?
        public var proxyMalformed: Int?
        public var problems: [String] = []

        init(process: String, instance: String) {
            self.process = process
            self.instance = instance
        }

        /// Problems that fail the run (a process without a heartbeat is only noted).
        var failures: [String] { checked ? problems.map { "\(process): \($0)" } : [] }
    }

    public var seed: UInt64 = 0
    public var framesRequested = 0
    public var sent = 0
    public var bytes = 0
    public var discardedValid = 0
    public var discardedLarge = 0
    public var reachedProxy = 0
    public var malformedReachedProxy = 0
    public var oversizeSent = 0
    public var byOrigin: [String: Int] = [:]
    public var byReason: [String: Int] = [:]
    public var sendSeconds = 0.0
    public var settleSeconds = 0.0
    public var ratePerSecond = 0.0
    public var maxRSSGrowthMiB = 0.0
    public var proxyForwardsMalformed = false
    public var rows: [Row] = []

    /// Everything that went wrong; empty when the run passed.
    public var failures: [String] { rows.flatMap(\.failures) }
    public var passed: Bool { failures.isEmpty }

    /// The report as one JSON object (snake_case keys, sorted), with `passed` and `failures`.
    public var json: String {
        struct Document: Encodable {
            var report: FuzzReport
            var passed: Bool
            var failures: [String]
            func encode(to encoder: any Encoder) throws {
                try report.encode(to: encoder)
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(passed, forKey: .passed)
                try container.encode(failures, forKey: .failures)
            }
            enum Keys: String, CodingKey { case passed, failures }
        }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let data = try? encoder.encode(Document(report: self, passed: passed, failures: failures)) else {
            return "{\"passed\":false,\"failures\":[\"the report could not be encoded\"]}"
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// A table for people.
    public var table: String {
        func mib(_ bytes: UInt64?) -> String { bytes.map { String(format: "%.1f", Double($0) / 1_048_576) } ?? "?" }
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
        }
        var lines: [String] = []
        lines.append(
            "bus-fuzz: \(sent) frames (\(bytes / 1_048_576) MiB) sent in \(String(format: "%.1f", sendSeconds)) s "
                + "(\(Int(ratePerSecond))/s), seed \(seed); \(reachedProxy) reached bus-proxy, "
                + "\(oversizeSent) oversize; "
                + "\(discardedValid) candidates discarded as valid, \(discardedLarge) as too large")
        lines.append(
            "  made as: " + byOrigin.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        lines.append(
            "  refused as: "
                + byReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        lines.append(
            "  bus-proxy \(proxyForwardsMalformed ? "forwards" : "drops") messages that are not two frames; "
                + "counters settled \(String(format: "%.1f", settleSeconds)) s after the last frame")
        lines.append(
            pad("process", 22) + pad("instance", 10) + pad("up", 4) + pad("restarts", 9)
                + pad("RSS MiB start→end", 19) + pad("growth (≤ \(String(format: "%.0f", maxRSSGrowthMiB)))", 14)
                + pad("reached", 9) + pad("refused", 9) + "result")
        for row in rows {
            let growth = row.rssGrowthMiB.map { String(format: "%+.1f", $0) } ?? "-"
            let rss =
                row.checked && row.process != "bus-fuzz" ? "\(mib(row.rssStartBytes))→\(mib(row.rssEndBytes))" : "-"
            let result = !row.checked ? "not checked (no heartbeat)" : row.problems.isEmpty ? "ok" : "FAIL"
            lines.append(
                pad(row.process, 22) + pad(row.instance.isEmpty ? "-" : row.instance, 10)
                    + pad(row.up ? "yes" : "NO", 4)
                    + pad(String(row.restarts), 9) + pad(rss, 19) + pad(growth, 14) + pad(String(row.owed), 9)
                    + pad(String(row.refused), 9) + result)
            if let messages = row.proxyMessages {
                lines.append(
                    "    forwarded \(messages) messages (≥ \(reachedProxy) fuzz frames); malformed counted "
                        + "\(row.proxyMalformed.map(String.init) ?? "?") of \(malformedReachedProxy) sent")
            }
            if !row.otherRejected.isEmpty {
                lines.append(
                    "    other rejections (service logic): "
                        + row.otherRejected.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                            separator: ", "))
            }
            for problem in row.problems where row.checked { lines.append("    ! \(problem)") }
        }
        lines.append(passed ? "PASSED" : "FAILED: \(failures.count) problem(s)")
        return lines.joined(separator: "\n")
    }
}
