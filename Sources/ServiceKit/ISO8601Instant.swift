import Foundation
import Timekeeping

/// ISO 8601 instants with an explicit UTC offset (`2025-03-14T09:25:00-04:00`, `…Z`), as
/// config and command lines give them, in UTC nanoseconds.
public enum ISO8601Instant {
    /// The instant `text` names, or `nil` when it is not one or lies outside what
    /// nanoseconds can hold (before 1677 or after 2262).
    public static func parse(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return Nanoseconds.checkedSeconds(date.timeIntervalSince1970) }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Nanoseconds.checkedSeconds(date.timeIntervalSince1970) }
        return nil
    }

    /// `2025-03-14T13:25:00.123Z` for UTC nanoseconds (milliseconds shown).
    public static func format(nanoseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Nanoseconds.seconds(nanoseconds)))
    }
}
