import Foundation
import MarketCalendar

/// `date` ("YYYY-MM-DD"), trapping on a typo.
func day(_ text: String) -> LocalDate {
    guard let date = LocalDate(text) else { fatalError("bad date \(text)") }
    return date
}

/// The instant (UTC ns) of New York wall-clock `time` ("HH:MM[:SS]") on `date`, by Foundation's
/// `Calendar` — independent of `MarketCalendar.instant`, which the tests check against it.
func ny(_ date: String, _ time: String) -> Int64 {
    guard let zone = TimeZone(identifier: "America/New_York"), let localDate = LocalDate(date),
          let localTime = LocalTime(time) else { fatalError("bad instant \(date) \(time)") }
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = zone
    let components = DateComponents(year: localDate.year, month: localDate.month, day: localDate.day,
                                    hour: localTime.hour, minute: localTime.minute, second: localTime.second)
    guard let instant = calendar.date(from: components) else { fatalError("no instant \(date) \(time)") }
    return Int64(instant.timeIntervalSince1970) * 1_000_000_000
}

/// UTC epoch seconds as nanoseconds.
func utc(_ seconds: Int64) -> Int64 { seconds * 1_000_000_000 }

let newYork = TimeZone(identifier: "America/New_York")!
let xnys = MarketCalendar(timeZone: newYork)
