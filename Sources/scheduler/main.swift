import ArgumentParser
import Foundation
import Logging
import MarketCalendar
import Scheduling
import SessionClient
import ServiceKit

/// The exchange calendar: the service that publishes the session, and two offline queries.
@main
struct SchedulerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scheduler",
        abstract: "Publish market.session and timers from the XNYS calendar; print the calendar or the session at an instant.",
        subcommands: [Run.self, CalendarTable.self, Status.self],
        defaultSubcommand: Run.self
    )
}

/// The service (the default subcommand).
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Publish market.session and timer.<name> (the default); scheduler.simulated_start runs a simulated clock."
    )

    @OptionGroup var common: CommonOptions

    mutating func run() async throws {
        let status = await ServiceRuntime.run(service: "scheduler", options: common) { environment in
            let config = environment.config
            let clock = SchedulerClock(
                simulatedStart: config.scheduler.simulatedStart.isEmpty ? nil : ISO8601Instant.parse(config.scheduler.simulatedStart),
                speed: config.scheduler.simulatedSpeed)
            let calendar = try MarketCalendar.configured(config)
            for date in calendar.ignoredOverrides {
                environment.logger.warning("market_hours: the override for \(date) changes nothing (a weekend, a holiday, or a close outside 09:30–16:00)")
            }
            return [SchedulerService(environment: environment, calendar: calendar, clock: clock)]
        }
        if status != 0 { throw ExitCode(status) }
    }
}

/// Config for the offline queries: the calendar's overrides and the display time zone.
struct CalendarOptions: ParsableArguments {
    @Option(help: "Config file: market_hours.timezone, special_closures and early_closes are used. Env: TICKWIRE_CONFIG.")
    var config: String?

    @Option(help: "Time zone to print instants in (default: market_hours.timezone, America/New_York).")
    var timezone: String?

    func load() throws -> (calendar: MarketCalendar, zone: TimeZone) {
        let file = config ?? ProcessInfo.processInfo.environment["TICKWIRE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let loaded: TickwireConfig
        do {
            loaded = try ConfigLoader().load(file: file).config
        } catch {
            FileHandle.standardError.write(Data("scheduler: \(error)\n".utf8))
            throw ExitCode(78)
        }
        let name = timezone ?? loaded.marketHours.timezone
        guard let zone = TimeZone(identifier: name) else { throw ValidationError("unknown time zone '\(name)'") }
        do {
            return (try MarketCalendar.configured(loaded), zone)
        } catch {
            FileHandle.standardError.write(Data("scheduler: \(error)\n".utf8))
            throw ExitCode(78)
        }
    }
}

struct CalendarTable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calendar",
        abstract: "One row per trading day: date, open, close, early_close, pre_open, post_close."
    )

    @Option(help: "First date, YYYY-MM-DD.") var from: String
    @Option(help: "Last date, YYYY-MM-DD (inclusive).") var to: String
    @Option(help: "csv or json (one JSON array).") var format = "csv"
    @OptionGroup var options: CalendarOptions

    func validate() throws {
        guard let start = LocalDate(from) else { throw ValidationError("--from '\(from)' is not a YYYY-MM-DD date") }
        guard let end = LocalDate(to) else { throw ValidationError("--to '\(to)' is not a YYYY-MM-DD date") }
        guard start <= end else { throw ValidationError("--from \(from) is after --to \(to)") }
        guard start.year >= 1900, end.year <= 2200 else {
            throw ValidationError("--from and --to must lie within the years 1900 to 2200")
        }
        guard ["csv", "json"].contains(format) else { throw ValidationError("--format must be csv or json") }
    }

    func run() throws {
        let (calendar, zone) = try options.load()
        guard let start = LocalDate(from), let end = LocalDate(to) else { throw ValidationError("bad --from or --to") }
        let days = calendar.sessions(from: start, to: end)
        var text = ""
        text.reserveCapacity(days.count * 140)
        func iso(_ instant: Int64) -> String { Instants.iso8601(instant, in: zone) }
        if format == "csv" {
            text += "date,open,close,early_close,pre_open,post_close\n"
            for day in days {
                text += "\(day.date),\(iso(day.open)),\(iso(day.close)),\(day.earlyClose),\(iso(day.preOpen)),\(iso(day.postClose))\n"
            }
        } else {
            text += "[\n"
            for (index, day) in days.enumerated() {
                text += "  {\"date\": \"\(day.date)\", \"open\": \"\(iso(day.open))\", \"close\": \"\(iso(day.close))\", "
                text += "\"early_close\": \(day.earlyClose), \"pre_open\": \"\(iso(day.preOpen))\", \"post_close\": \"\(iso(day.postClose))\"}"
                text += index == days.count - 1 ? "\n" : ",\n"
            }
            text += "]\n"
        }
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The session at an instant (default: now), and the next open and close."
    )

    @Option(help: "An ISO 8601 instant with a UTC offset, e.g. 2025-03-14T09:29:59-04:00 (default: now).")
    var at: String?

    @Flag(help: "Count pre-market and after-hours as sessions (market_hours.include_extended_hours).")
    var extendedHours = false

    @OptionGroup var options: CalendarOptions

    func validate() throws {
        if let at, ISO8601Instant.parse(at) == nil {
            throw ValidationError("--at '\(at)' is not an ISO 8601 instant with a UTC offset, e.g. 2025-03-14T09:30:00-04:00")
        }
    }

    func run() throws {
        let (calendar, zone) = try options.load()
        let instant = at.flatMap(ISO8601Instant.parse) ?? Instants.nanoseconds(Date())
        let status = calendar.status(at: instant, includeExtendedHours: extendedHours)
        func iso(_ value: Int64) -> String { Instants.iso8601(value, in: zone) }
        var lines = [
            "at           \(iso(instant))",
            "phase        \(status.phase.rawValue) since \(iso(status.since))",
            "next         \(status.nextPhase.rawValue) at \(iso(status.nextChange))",
            "trading_day  \(status.tradingDay)\(status.session == nil ? " (no session)" : "")",
        ]
        if let holiday = status.holiday { lines.append("holiday      \(holiday)") }
        if let session = status.session {
            lines.append("today        open \(iso(session.open)), close \(iso(session.close))\(session.earlyClose ? " (early close)" : "")")
        }
        lines.append("next_open    \(iso(calendar.nextOpen(after: instant)))")
        lines.append("next_close   \(iso(calendar.nextClose(after: instant)))")
        print(lines.joined(separator: "\n"))
    }
}
