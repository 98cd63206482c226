import Contracts
import ServiceKit
import Timekeeping

/// What a replay file holds, decided from its header row (or its `format=` option).
public enum ReplayFormat: String, Sendable, Equatable, CaseIterable {
    /// Alpha Vantage `TIME_SERIES_INTRADAY` with `datatype=csv`: the header is exactly
    /// `timestamp,open,high,low,close,volume`, times are US/Eastern wall clock, newest first,
    /// the symbol comes from the file name.
    case alphaVantage = "alphavantage"
    /// OHLCV bars: a time column and open, high, low, close (volume, vwap, trade count optional).
    case bars
    /// Trades: a time column, price and size (exchange and trade id optional).
    case trades
}

/// Which edge of a bar an intraday bar file's timestamp names.
public enum ReplayBarLabel: String, Sendable, Equatable {
    /// The bar's start (Alpha Vantage, Polygon, Alpaca; the default).
    case start
    /// The bar's end (some exporters label a minute bar by its close, e.g. 09:01 for 09:00–09:01).
    case end
}

/// One entry of `replay.files`, checked at start: the file exists, is readable and its header
/// names a known format.
///
/// An entry is a path, optionally followed by `#` and comma-separated options:
/// `data/nvda-1999-2014-daily.csv#symbol=NVDA`, `fut.csv#symbol=FESX,tz=Europe/Berlin,label=end`.
/// Options: `symbol` (the symbol of every row; instead of the file name's, or overriding a symbol column),
/// `format` (`alphavantage`, `bars`, `trades`), `tz` (IANA zone of zone-less timestamps),
/// `interval` (bar length: `1min`, `5min`, `1h`, `1d`, `30s`…) and `label` (`start`, `end`).
/// A path that exists as written is taken whole, even if it contains `#`.
public struct ReplayFile: Sendable, Equatable {
    /// The file's path as configured (relative paths are relative to the working directory).
    public let path: String
    /// Where it is in the config, e.g. `replay.files[1]`.
    public let configPath: String
    public let format: ReplayFormat
    /// The symbol of every row for a file without a symbol column; nil when rows name it.
    public let symbol: String?
    /// The zone of timestamps written without one: `UTC` unless `tz=` says otherwise,
    /// `America/New_York` for Alpha Vantage files.
    public var timeZone: String { zone.identifier }
    /// Bar length in nanoseconds from `interval=` or the file name; nil = inferred from the rows.
    public let interval: Int64?
    public let label: ReplayBarLabel

    let zone: ReplayZone
    let layout: ReplayLayout

    /// Checks one entry of `replay.files`, reading its header row.
    public init(entry: String, configPath: String) throws(ConfigError) {
        func fail(_ message: String) -> ConfigError { ConfigError(path: configPath, message: message) }
        let (path, options) = try Self.split(entry: entry, configPath: configPath)
        self.path = path
        self.configPath = configPath

        let header: String
        do {
            header = try Self.readHeader(path)
        } catch {
            throw fail("cannot replay '\(path)': \(error.message)")
        }
        let names = ReplayCSV.fields(Substring(header)).map(ReplayLayout.normalize)
        guard !names.allSatisfy(\.isEmpty) else {
            throw fail("cannot replay '\(path)': the file is empty (the first line must be a CSV header)")
        }
        let requested = options["format"].flatMap(ReplayFormat.init(rawValue:))
        let format: ReplayFormat
        let layout: ReplayLayout
        do {
            (format, layout) = try ReplayLayout.detect(names: names, requested: requested)
        } catch {
            throw fail("cannot replay '\(path)': \(error.message) (header: '\(header.prefix(200))')")
        }
        self.format = format
        self.layout = layout

        if let symbol = options["symbol"] {
            self.symbol = symbol
        } else if layout.symbol == nil {
            guard let symbol = Self.symbol(fromFileName: path) else {
                throw fail(
                    "cannot tell the symbol of '\(path)' from its name and it has no symbol column; add '#symbol=XYZ' to the entry")
            }
            self.symbol = symbol
        } else {
            symbol = nil
        }

        if let tz = options["tz"] {
            guard let zone = ReplayZone(identifier: tz) else { throw fail("unknown time zone '\(tz)' (use an IANA name such as America/New_York)") }
            self.zone = zone
        } else if format == .alphaVantage, let eastern = ReplayZone(identifier: "America/New_York") {
            zone = eastern
        } else {
            zone = .utc
        }
        interval = options["interval"].flatMap(Self.interval(from:)) ?? Self.intervalHint(fromFileName: path)
        label = options["label"].flatMap(ReplayBarLabel.init(rawValue:)) ?? .start
    }

    static let optionNames = ["symbol", "format", "tz", "interval", "label"]

    /// Splits `path#key=value,…` and checks each option's value.
    static func split(entry: String, configPath: String) throws(ConfigError) -> (path: String, options: [String: String]) {
        func fail(_ message: String) -> ConfigError { ConfigError(path: configPath, message: message) }
        let trimmed = entry.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw fail("is empty; name a CSV file") }
        guard let hash = trimmed.lastIndex(of: "#"), !ReplaySystemFile.exists(trimmed) else { return (trimmed, [:]) }
        let path = String(trimmed[..<hash]).trimmingWhitespace()
        guard !path.isEmpty else { throw fail("'\(entry)' names no file before '#'") }
        var options: [String: String] = [:]
        for pair in trimmed[trimmed.index(after: hash)...].split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).trimmingWhitespace() }
            guard parts.count == 2, !parts[1].isEmpty else { throw fail("option '\(pair)' must be key=value") }
            let (key, value) = (parts[0].lowercased(), parts[1])
            guard optionNames.contains(key) else {
                throw fail("unknown option '\(key)' (known: \(optionNames.joined(separator: ", ")))")
            }
            switch key {
            case "symbol":
                do {
                    try Topic.validate(key: value)
                } catch {
                    throw fail("symbol '\(value)' is not a valid symbol: \(error)")
                }
            case "format":
                guard ReplayFormat(rawValue: value) != nil else {
                    throw fail("unknown format '\(value)' (known: \(ReplayFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
            case "interval":
                guard interval(from: value) != nil else {
                    throw fail(
                        "interval '\(value)' is not a length such as 1min, 5min, 1h or 1d (more than 0, at most 366d)")
                }
            case "label":
                guard ReplayBarLabel(rawValue: value) != nil else { throw fail("label must be 'start' or 'end'") }
            default:
                break
            }
            options[key] = value
        }
        return (path, options)
    }

    /// The first line of the file, without a UTF-8 byte order mark.
    static func readHeader(_ path: String) throws(ReplayIOError) -> String {
        let fd = try ReplaySystemFile.open(path)
        defer { ReplaySystemFile.close(fd) }
        var bytes: [UInt8] = []
        while bytes.count < ReplayLineReader.maximumLineLength {
            let chunk = try ReplaySystemFile.read(fd, count: 4096, path: path)
            if chunk.isEmpty { break }
            if let newline = chunk.firstIndex(of: UInt8(ascii: "\n")) {
                bytes += chunk[..<newline]
                break
            }
            bytes += chunk
        }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: File names

    /// The symbol a file name implies, or nil:
    /// 1. a name that is a symbol in capitals: `AAPL.csv`, `BRK.B.csv`, `RDS-A.csv`;
    /// 2. else the last capitalised word between `_`, `-` or spaces: `intraday_1min_AAPL.csv`;
    /// 3. else the first word, when it is a plain word, in capitals: `nvda-1999-2014-daily.csv` → `NVDA`.
    static func symbol(fromFileName path: String) -> String? {
        var stem = Substring(path.split(separator: "/").last ?? "")
        for suffix in [".csv", ".txt"] where stem.lowercased().hasSuffix(suffix) {
            stem = stem.dropLast(suffix.count)
        }
        func isSymbol(_ text: Substring) -> Bool {
            (try? Topic.validate(key: String(text))) != nil && text.count <= 12
                && text.contains(where: \.isUppercase) && !text.contains(where: \.isLowercase)
                && text.first.map({ $0.isLetter || $0 == "^" }) == true
        }
        if !stem.contains("_"), !stem.contains(" "), isSymbol(stem) { return String(stem) }
        let words = stem.split(whereSeparator: { $0 == "_" || $0 == "-" || $0 == " " })
        if let word = words.last(where: isSymbol) { return String(word) }
        if let first = words.first, first.first?.isLetter == true,
            first.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }), first.count <= 12
        {
            return first.uppercased()
        }
        return nil
    }

    /// A bar length named in the file name, e.g. `1min` in `intraday_1min_AAPL.csv` or `daily`.
    static func intervalHint(fromFileName path: String) -> Int64? {
        let stem = path.split(separator: "/").last ?? ""
        let words = stem.lowercased().split(whereSeparator: { $0 == "_" || $0 == "-" || $0 == " " || $0 == "." })
        for word in words {
            if let interval = interval(from: String(word)), word.first?.isNumber == true || ["daily", "hourly"].contains(word) {
                return interval
            }
        }
        return nil
    }

    /// The longest bar length `interval=` accepts: 366 days.
    static let maximumInterval: Int64 = 366 * Nanoseconds.perDay

    /// `1min`, `5min`, `30s`, `2h`, `1d`, `daily`, `hourly` → nanoseconds; nil for anything
    /// else, for 0 and for more than ``maximumInterval``.
    static func interval(from text: String) -> Int64? {
        let lower = text.lowercased()
        if lower == "daily" { return 86_400 * 1_000_000_000 }
        if lower == "hourly" { return 3_600 * 1_000_000_000 }
        let digits = lower.prefix(while: \.isNumber)
        guard !digits.isEmpty, digits.count <= 6, let count = Int64(digits), count > 0 else { return nil }
        let units: [String: Int64] = [
            "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
            "min": 60, "mins": 60, "minute": 60, "minutes": 60,
            "h": 3_600, "hr": 3_600, "hour": 3_600, "hours": 3_600,
            "d": 86_400, "day": 86_400, "days": 86_400,
        ]
        guard let seconds = units[String(lower.dropFirst(digits.count))],
            let length = Nanoseconds.checkedSeconds(count * seconds), length <= maximumInterval
        else { return nil }
        return length
    }
}

extension ReplaySystemFile {
    static func exists(_ path: String) -> Bool {
        guard let fd = try? open(path) else { return false }
        close(fd)
        return true
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

/// Which column holds what, from the header row.
struct ReplayLayout: Sendable, Equatable {
    enum TimeColumns: Sendable, Equatable {
        /// One column holds the whole timestamp.
        case single(Int)
        /// Separate date and time-of-day columns.
        case split(date: Int, time: Int)
    }

    var columnCount: Int
    var time: TimeColumns
    /// The header has a date column and no time column: a row with one field more than the
    /// header whose field after the date is `HH:MM[:SS]` carries an unnamed time there (the
    /// backtrader sample data is written that way).
    var dateMayBeFollowedByTime: Bool
    var symbol: Int?
    // Bars.
    var open: Int?
    var high: Int?
    var low: Int?
    var close: Int?
    var volume: Int?
    var vwap: Int?
    var tradeCount: Int?
    // Trades.
    var price: Int?
    var size: Int?
    var exchange: Int?
    var tradeID: Int?

    var isBars: Bool { open != nil }

    struct Failure: Error {
        var message: String
    }

    /// A header name for matching: lower case, without quotes, spaces, `_` or `-`.
    static func normalize(_ name: Substring) -> String {
        String(name.lowercased().filter { !"\"' _-\u{FEFF}".contains($0) })
    }

    /// Detection rules, in order:
    /// 1. `format=` decides when given;
    /// 2. the exact Alpha Vantage header `timestamp,open,high,low,close,volume` → Alpha Vantage;
    /// 3. open, high, low and close columns → bars;
    /// 4. price and size (or quantity, qty, volume) columns → trades;
    /// and every format needs a time column: `timestamp`, `datetime`, `time` or `date`, or
    /// `date` and `time` side by side. A symbol column is `symbol` or `ticker`.
    static func detect(names: [String], requested: ReplayFormat?) throws(Failure) -> (ReplayFormat, ReplayLayout) {
        func column(_ candidates: String...) -> Int? {
            for candidate in candidates { if let index = names.firstIndex(of: candidate) { return index } }
            return nil
        }
        let ohlc = (column("open"), column("high"), column("low"), column("close"))
        let hasBars = ohlc.0 != nil && ohlc.1 != nil && ohlc.2 != nil && ohlc.3 != nil
        let price = column("price")
        let size = column("size", "quantity", "qty", "volume")
        let format: ReplayFormat
        switch requested {
        case .some(let requested):
            format = requested
        case .none:
            if names == ["timestamp", "open", "high", "low", "close", "volume"] {
                format = .alphaVantage
            } else if hasBars {
                format = .bars
            } else if price != nil && size != nil {
                format = .trades
            } else {
                throw Failure(
                    message:
                        "not a known replay format: bars need open, high, low and close columns; trades need price and size")
            }
        }
        let timestamp = column("timestamp", "datetime")
        let date = column("date")
        let timeOfDay = column("time")
        let time: TimeColumns
        var dateMayBeFollowedByTime = false
        if let timestamp {
            time = .single(timestamp)
        } else if let date, let timeOfDay {
            time = .split(date: date, time: timeOfDay)
        } else if let single = timeOfDay ?? date {
            time = .single(single)
            dateMayBeFollowedByTime = timeOfDay == nil
        } else {
            throw Failure(message: "no time column (timestamp, datetime, time or date)")
        }
        var layout = ReplayLayout(
            columnCount: names.count, time: time, dateMayBeFollowedByTime: dateMayBeFollowedByTime,
            symbol: column("symbol", "ticker"))
        switch format {
        case .alphaVantage, .bars:
            guard hasBars else { throw Failure(message: "a \(format.rawValue) file needs open, high, low and close columns") }
            (layout.open, layout.high, layout.low, layout.close) = ohlc
            layout.volume = column("volume")
            layout.vwap = column("vwap")
            layout.tradeCount = column("tradecount", "trades", "transactions")
            if format == .alphaVantage { layout.symbol = nil }
        case .trades:
            guard let price, let size else { throw Failure(message: "a trades file needs price and size columns") }
            layout.price = price
            layout.size = size
            layout.exchange = column("exchange")
            layout.tradeID = column("id", "tradeid")
        }
        return (format, layout)
    }
}
