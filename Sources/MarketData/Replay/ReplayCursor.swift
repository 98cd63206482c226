import Contracts
import Logging
import Timekeeping

/// One event ready to play, with the row it came from.
struct ReplayEvent: Sendable, Equatable {
    /// The event time, UTC nanoseconds: a trade's time, a bar's end.
    var time: Int64
    var line: Int
    var event: MarketEvent

    /// The event with every time moved by `shift` nanoseconds (a looped pass; the caller
    /// keeps shifted times in range, and they saturate rather than trap if not).
    func shifted(by shift: Int64) -> MarketEvent {
        guard shift != 0 else { return event }
        switch event {
        case .trade(let trade, let time): return .trade(trade, time: Nanoseconds.adding(time, shift))
        case .quote(let quote, let time): return .quote(quote, time: Nanoseconds.adding(time, shift))
        case .bar(var bar):
            bar.startTimeNs = Nanoseconds.adding(bar.startTimeNs, shift)
            bar.endTimeNs = Nanoseconds.adding(bar.endTimeNs, shift)
            return .bar(bar)
        }
    }
}

/// Turns skipped rows into provider issues without flooding: the first
/// ``reportsPerFile`` per file are reported one by one, on the first pass only; every skipped
/// row is counted (`malformed_rows`).
final class ReplayReporter {
    static let reportsPerFile = 20

    let sink: ProviderSink
    private var reportIndividually = true
    private var reported: [Int: Int] = [:]
    /// Symbols outside `tickers` already logged; at most ``filteredSymbolsLogged``.
    private var filteredSymbols: Set<String> = []
    static let filteredSymbolsLogged = 100

    init(sink: ProviderSink) { self.sink = sink }

    func startPass(_ pass: Int) {
        reportIndividually = pass == 0
        reported = [:]
    }

    func malformed(
        _ file: ReplayFile, index: Int, line: Int, _ message: String, symbol: String = "",
        reason: ProviderRejectReason = .malformed
    ) {
        sink.count("malformed_rows")
        sink.reject(reason)
        guard reportIndividually else { return }
        let count = reported[index, default: 0] + 1
        reported[index] = count
        if count <= Self.reportsPerFile {
            sink.report(
                ProviderIssue(.malformedPayload, "replay: \(file.path):\(line): \(message); row skipped", symbol: symbol))
        } else if count == Self.reportsPerFile + 1 {
            sink.report(
                ProviderIssue(
                    .malformedPayload,
                    "replay: \(file.path): more than \(Self.reportsPerFile) rows skipped; further ones are only counted (malformed_rows)"))
        }
    }

    /// A row of a symbol outside `tickers`: counted, and logged once per symbol.
    func filtered(_ symbol: String) {
        sink.count("filtered_rows")
        guard filteredSymbols.count < Self.filteredSymbolsLogged else { return }
        if filteredSymbols.insert(symbol).inserted {
            sink.logger.info("replay: skipping \(symbol), which is not in tickers")
            if filteredSymbols.count == Self.filteredSymbolsLogged {
                sink.logger.info("replay: further symbols not in tickers are only counted (filtered_rows)")
            }
        }
    }
}

/// Reads one file for one pass and hands out its events oldest first.
///
/// It looks ahead at the first rows (at most ``lookahead``) to learn the file's direction and,
/// for bars without a known length, the bar length (the smallest gap between two rows of one
/// symbol). A file that is newest first (Alpha Vantage) is read whole and sorted; any other is
/// streamed, and a row older than the one before is reported and skipped, never played out of order.
final class ReplayCursor {
    static let lookahead = 2_000
    /// The most rows of a newest-first file (which is read whole and sorted).
    static let maximumSortedRows = 2_000_000
    static let defaultInterval: Int64 = 60 * 1_000_000_000

    let file: ReplayFile
    let index: Int
    private let reader: ReplayLineReader
    private var parser: ReplayRowParser
    private let reporter: ReplayReporter
    private let filter: Set<String>?
    private var ready: [ReplayEvent] = []
    private var readyIndex = 0
    private var streaming = false
    private var lastTime: Int64 = .min
    private(set) var interval = ReplayCursor.defaultInterval

    private init(file: ReplayFile, index: Int, reader: ReplayLineReader, reporter: ReplayReporter, filter: Set<String>?) {
        self.file = file
        self.index = index
        self.reader = reader
        parser = ReplayRowParser(file: file)
        self.reporter = reporter
        self.filter = filter
    }

    static func open(
        _ file: ReplayFile, index: Int, reporter: ReplayReporter, filter: Set<String>?
    ) async throws(ReplayIOError) -> ReplayCursor {
        let reader = try await ReplayLineReader.open(file.path)
        _ = try await reader.nextLine()  // the header, checked at start
        let cursor = ReplayCursor(file: file, index: index, reader: reader, reporter: reporter, filter: filter)
        try await cursor.prime()
        return cursor
    }

    /// The next event in time order, or nil at the end of the file.
    func next() async throws(ReplayIOError) -> ReplayEvent? {
        while true {
            let candidate: ReplayEvent
            if readyIndex < ready.count {
                candidate = ready[readyIndex]
                readyIndex += 1
                if readyIndex == ready.count {
                    ready = []
                    readyIndex = 0
                }
            } else if streaming, let row = try await nextRow() {
                guard let event = event(from: row) else { continue }
                candidate = event
            } else {
                streaming = false
                reader.close()
                return nil
            }
            guard candidate.time >= lastTime else {
                reporter.malformed(
                    file, index: index, line: candidate.line,
                    "time goes backwards (rows must be in time order, oldest or newest first; split a file grouped by symbol into one file per symbol)",
                    symbol: candidate.event.symbol)
                continue
            }
            lastTime = candidate.time
            return candidate
        }
    }

    private func prime() async throws(ReplayIOError) {
        var rows: [ReplayRow] = []
        var first: Int64?
        var direction = 0
        var needGap = file.layout.isBars && file.interval == nil
        var lastBySymbol: [String: Int64] = [:]
        var smallestGap: Int64?
        var gaps = 0
        var atEnd = false
        while rows.count < Self.lookahead {
            guard let row = try await nextRow() else {
                atEnd = true
                break
            }
            rows.append(row)
            if direction == 0 {
                if let first {
                    if row.time != first { direction = row.time > first ? 1 : -1 }
                } else {
                    first = row.time
                }
            }
            if row.dayEnd != nil { needGap = false }
            if needGap {
                if let previous = lastBySymbol[row.symbol], previous != row.time {
                    let gap =
                        row.time > previous
                        ? Nanoseconds.subtracting(row.time, previous) : Nanoseconds.subtracting(previous, row.time)
                    smallestGap = min(smallestGap ?? gap, gap)
                    gaps += 1
                }
                lastBySymbol[row.symbol] = row.time
            }
            if direction != 0 && (!needGap || gaps >= 10) { break }
        }
        interval = file.interval ?? smallestGap ?? Self.defaultInterval
        if direction < 0 && !atEnd {
            while let row = try await nextRow() {
                guard rows.count < Self.maximumSortedRows else {
                    throw ReplayIOError(
                        path: file.path,
                        message:
                            "newest first, with more than \(Self.maximumSortedRows) rows (read whole to sort them); "
                            + "sort it oldest first")
                }
                rows.append(row)
            }
            atEnd = true
        }
        ready = rows.compactMap(event(from:))
        if direction < 0 {
            ready.sort { ($0.time, $0.line) < ($1.time, $1.line) }
        }
        streaming = !atEnd
        if atEnd { reader.close() }
    }

    private func nextRow() async throws(ReplayIOError) -> ReplayRow? {
        while let line = try await reader.nextLine() {
            guard let text = line.text else {
                reporter.malformed(file, index: index, line: line.number, "longer than \(ReplayLineReader.maximumLineLength) bytes")
                continue
            }
            if text.allSatisfy(\.isWhitespace) { continue }
            switch parser.parse(ReplayCSV.fields(Substring(text)), line: line.number) {
            case .success(let row):
                if let filter, !filter.contains(row.symbol) {
                    reporter.filtered(row.symbol)
                    continue
                }
                return row
            case .failure(let error):
                reporter.malformed(
                    file, index: index, line: line.number, error.message, symbol: error.symbol, reason: error.reason)
            }
        }
        return nil
    }

    /// The event of a row; nil (reported, skipped) when the bar's other edge is out of range.
    private func event(from row: ReplayRow) -> ReplayEvent? {
        switch row.values {
        case .bar(let open, let high, let low, let close, let volume, let vwap, let tradeCount):
            let start: Int64
            let end: Int64
            if let dayEnd = row.dayEnd {
                (start, end) = (row.time, dayEnd)
            } else if file.label == .start {
                (start, end) = (row.time, Nanoseconds.adding(row.time, interval))
            } else {
                (start, end) = (Nanoseconds.subtracting(row.time, interval), row.time)
            }
            guard MarketLimits.isPlausible(time: start), MarketLimits.isPlausible(time: end) else {
                let edge = file.label == .start ? "end" : "start"
                reporter.malformed(
                    file, index: index, line: row.line, "the bar's \(edge) is out of range (1900 to 2200)",
                    symbol: row.symbol, reason: .timeRange)
                return nil
            }
            var bar = Bar()
            bar.symbol = row.symbol
            bar.startTimeNs = start
            bar.endTimeNs = end
            bar.open = open
            bar.high = high
            bar.low = low
            bar.close = close
            bar.volume = volume
            bar.vwap = vwap
            bar.tradeCount = tradeCount
            bar.origin = .live
            bar.provider = ReplayProvider.providerName
            return ReplayEvent(time: end, line: row.line, event: .bar(bar))
        case .trade(let price, let size, let exchange, let tradeID):
            var trade = Trade()
            trade.symbol = row.symbol
            trade.price = price
            trade.size = size
            trade.exchange = exchange
            trade.tradeID = tradeID
            trade.provider = ReplayProvider.providerName
            return ReplayEvent(time: row.time, line: row.line, event: .trade(trade, time: row.time))
        }
    }
}
