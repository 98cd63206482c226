import Foundation

/// ISO 8601 instants with an explicit UTC offset (`2025-03-14T09:25:00-04:00`, `…Z`), as
/// config and command lines give them, in UTC nanoseconds.
public enum ISO8601Instant {
    public static func parse(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1e9).rounded()) }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1e9).rounded()) }
        return nil
    }
}
