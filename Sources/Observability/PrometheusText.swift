import Foundation

/// The Prometheus text exposition format (version 0.0.4), written by hand for values a
/// service already keeps (its counters' snapshot, /proc): one `# HELP` and `# TYPE` per family,
/// then its samples. Label values are escaped; names are the caller's constants.
public struct PrometheusText: Sendable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    public private(set) var text = ""
    private var families: Set<String> = []

    public init() {}

    /// Starts a family; a family named twice is written once (its samples follow the first).
    public mutating func family(_ name: String, _ kind: Kind, help: String) {
        guard families.insert(name).inserted else { return }
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    /// One sample of the family last started.
    public mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.format(value) + "\n"
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)], _ value: UInt64) {
        sample(name, labels, Double(value))
    }

    /// One histogram's samples: `counts` per bucket (not cumulative; one more than `bounds`,
    /// the last above them all) become the cumulative `_bucket` series with `le`, then
    /// `_sum` and `_count`.
    public mutating func histogram(
        _ name: String, _ labels: [(String, String)], bounds: [Double], counts: [UInt64], sum: Double, count: UInt64
    ) {
        var cumulative: UInt64 = 0
        for (index, bound) in bounds.enumerated() {
            cumulative &+= index < counts.count ? counts[index] : 0
            sample(name + "_bucket", labels + [("le", Self.format(bound))], cumulative)
        }
        sample(name + "_bucket", labels + [("le", "+Inf")], count)
        sample(name + "_sum", labels, sum)
        sample(name + "_count", labels, count)
    }

    /// A label value as the format wants it: backslash, double quote and newline escaped.
    public static func escapeLabel(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func escapeHelp(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// `NaN`, `+Inf`, `-Inf`, integers without a fraction, others in full precision.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// A metric or label name made of what the format allows (`[a-zA-Z_][a-zA-Z0-9_]*`): other
    /// characters become `_`.
    public static func sanitizedName(_ raw: String) -> String {
        var out = ""
        for (index, scalar) in raw.unicodeScalars.enumerated() {
            let isLetter = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || scalar == "_"
            let isDigit = scalar >= "0" && scalar <= "9"
            out.unicodeScalars.append(isLetter || (isDigit && index > 0) ? scalar : "_")
        }
        return out.isEmpty ? "_" : out
    }
}
