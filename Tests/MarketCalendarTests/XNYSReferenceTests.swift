import Foundation
import MarketCalendar
import Testing

/// The XNYS sessions of `exchange_calendars`, from `Tests/python/xnys_reference.py` run with the
/// project's Python (`TICKWIRE_PYTHON`, else `<package root>/.venv/bin/python`).
struct XNYSReference {
    struct Session: Equatable {
        var date: LocalDate
        var open: Int64
        var close: Int64
        var earlyClose: Bool
    }

    /// The package root, through the symlinks that a development package may reach this file by.
    static let packageRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var python: String {
        if let python = ProcessInfo.processInfo.environment["TICKWIRE_PYTHON"], !python.isEmpty { return python }
        return packageRoot.appendingPathComponent(".venv/bin/python").path
    }

    /// Runs the script and parses its rows. Blocks for a second or two: call it off the pool.
    static func load() throws -> [Session] {
        let script = packageRoot.appendingPathComponent("Tests/python/xnys_reference.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script]
        let output = Pipe()
        let errors = FileManager.default.temporaryDirectory
            .appendingPathComponent("xnys-reference-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errors)
        do {
            try process.run()
        } catch {
            throw ReferenceError("cannot run \(python) \(script): \(error) (is exchange_calendars installed there?)")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw ReferenceError("xnys_reference.py exited \(process.terminationStatus): \(stderr.suffix(2000))")
        }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        guard lines.first == "date,open,close,early_close" else {
            throw ReferenceError("unexpected header: \(lines.first ?? "nothing")")
        }
        return try lines.dropFirst().map { line in
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard cells.count == 4, let date = LocalDate(cells[0]), let open = Int64(cells[1]),
                  let close = Int64(cells[2]), cells[3] == "true" || cells[3] == "false" else {
                throw ReferenceError("bad row: \(line)")
            }
            return Session(date: date, open: open * 1_000_000_000, close: close * 1_000_000_000,
                           earlyClose: cells[3] == "true")
        }
    }

    struct ReferenceError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// Runs `work` on a thread of its own, so that a Python process and a day-by-day comparison
/// do not hold one of the cooperative pool's few threads.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// Each difference between `ours` and `reference`, one line per date.
func differences(ours: [TradingDay], reference: [XNYSReference.Session]) -> [String] {
    let theirs = Dictionary(uniqueKeysWithValues: reference.map { ($0.date, $0) })
    let mine = Dictionary(uniqueKeysWithValues: ours.map { ($0.date, $0) })
    let zone = newYork
    func show(_ instant: Int64) -> String { Instants.iso8601(instant, in: zone) }
    var lines = [String]()
    for date in Set(theirs.keys).union(mine.keys).sorted() {
        switch (mine[date], theirs[date]) {
        case (.some, nil):
            lines.append("\(date): we trade, exchange_calendars does not")
        case let (nil, session?):
            let name = xnys.holiday(on: date) ?? "weekend"
            lines.append("\(date): exchange_calendars trades \(show(session.open))–\(show(session.close)), we are closed (\(name))")
        case let (day?, session?):
            if day.open != session.open { lines.append("\(date): open \(show(day.open)), exchange_calendars \(show(session.open))") }
            if day.close != session.close { lines.append("\(date): close \(show(day.close)), exchange_calendars \(show(session.close))") }
            if day.earlyClose != session.earlyClose {
                lines.append("\(date): early close \(day.earlyClose), exchange_calendars \(session.earlyClose)")
            }
        case (nil, nil):
            break
        }
    }
    return lines
}

@Suite("XNYS against exchange_calendars")
struct XNYSReferenceTests {
    @Test("2000–2035: same trading days, opens, closes and early closes")
    func matchesExchangeCalendars() async throws {
        let (reference, ours) = try await offPool {
            let reference = try XNYSReference.load()
            let ours = xnys.sessions(
                from: LocalDate(year: 2000, month: 1, day: 1), to: LocalDate(year: 2035, month: 12, day: 31))
            return (reference, ours)
        }
        // A reference that printed nothing, or stopped early, must not pass as agreement.
        #expect(reference.count > 9_000)
        #expect(reference.first?.date == LocalDate(year: 2000, month: 1, day: 3))
        #expect(reference.last?.date == LocalDate(year: 2035, month: 12, day: 31))
        #expect(reference.filter(\.earlyClose).count > 70)
        let lines = differences(ours: ours, reference: reference)
        #expect(lines.isEmpty, "\(lines.count) differences over \(reference.count) sessions:\n\(lines.joined(separator: "\n"))")
        #expect(ours.count == reference.count)
    }

    @Test("the comparison reports a difference with its date")
    func comparisonReportsDates() {
        let day = xnys.session(on: LocalDate(year: 2024, month: 11, day: 29))!
        let moved = XNYSReference.Session(date: day.date, open: day.open, close: day.close + 3_600_000_000_000, earlyClose: false)
        let extra = XNYSReference.Session(date: LocalDate(year: 2024, month: 11, day: 28), open: day.open, close: day.close, earlyClose: false)
        let lines = differences(ours: [day], reference: [moved, extra])
        #expect(lines == [
            "2024-11-28: exchange_calendars trades 2024-11-29T09:30:00-05:00–2024-11-29T13:00:00-05:00, we are closed (Thanksgiving Day)",
            "2024-11-29: close 2024-11-29T13:00:00-05:00, exchange_calendars 2024-11-29T14:00:00-05:00",
            "2024-11-29: early close true, exchange_calendars false",
        ])
        #expect(differences(ours: [day], reference: []) == ["2024-11-29: we trade, exchange_calendars does not"])
    }
}
