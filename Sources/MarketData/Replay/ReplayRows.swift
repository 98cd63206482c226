import Contracts

/// Comma-separated fields, with RFC 4180 quoting (`"a,b"`, `""` for a quote) and
/// surrounding spaces trimmed.
enum ReplayCSV {
    static func fields(_ line: Substring) -> [Substring] {
        guard line.contains("\"") else {
            return line.split(separator: ",", omittingEmptySubsequences: false).map(trim)
        }
        var fields: [Substring] = []
        var field = ""
        var quoted = false
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            if quoted {
                if character == "\"" {
                    let next = line.index(after: index)
                    if next < line.endIndex && line[next] == "\"" {
                        field.append("\"")
                        index = next
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == "," {
                fields.append(trim(Substring(field)))
                field = ""
            } else {
                field.append(character)
            }
            index = line.index(after: index)
        }
        fields.append(trim(Substring(field)))
        return fields
    }

    static func trim(_ text: Substring) -> Substring {
        var text = text
        while text.first?.isWhitespace == true { text = text.dropFirst() }
        while text.last?.isWhitespace == true { text = text.dropLast() }
        return text
    }
}

/// One data row read from a replay file, its time already in UTC.
struct ReplayRow: Sendable, Equatable {
    enum Values: Sendable, Equatable {
        case bar(open: Double, high: Double, low: Double, close: Double, volume: Double, vwap: Double, tradeCount: UInt64)
        case trade(price: Double, size: Double, exchange: String, tradeID: String)
    }

    var line: Int
    var symbol: String
    /// The row's timestamp, UTC nanoseconds (a bar's label: its start or end, see the file's label).
    var time: Int64
    /// For a date-only row: the start of the next day in the file's zone.
    var dayEnd: Int64?
    var values: Values
}

/// Turns the fields of one row into a ``ReplayRow`` or says, in words, what is wrong with it.
struct ReplayRowParser {
    let file: ReplayFile
    var resolver: ReplayTimeResolver

    init(file: ReplayFile) {
        self.file = file
        resolver = ReplayTimeResolver(zone: file.zone)
    }

    mutating func parse(_ rawFields: [Substring], line: Int) -> Result<ReplayRow, ReplayRowError> {
        let layout = file.layout
        var fields = rawFields
        var timeText: String
        switch layout.time {
        case .single(let column):
            if layout.dateMayBeFollowedByTime, fields.count == layout.columnCount + 1, column + 1 < fields.count,
                ReplayTimeParser.isTimeOfDay(fields[column + 1])
            {
                timeText = "\(fields[column]) \(fields[column + 1])"
                fields.remove(at: column + 1)
            } else {
                timeText = column < fields.count ? String(fields[column]) : ""
            }
        case .split(let date, let time):
            timeText = date < fields.count && time < fields.count ? "\(fields[date]) \(fields[time])" : ""
        }
        guard fields.count == layout.columnCount else {
            return .failure(ReplayRowError("has \(rawFields.count) fields; the header has \(layout.columnCount)"))
        }
        let symbol: String
        if let fixed = file.symbol {
            symbol = fixed
        } else if let column = layout.symbol {
            symbol = String(fields[column])
            do {
                try Topic.validate(key: symbol)
            } catch {
                return .failure(ReplayRowError("symbol '\(symbol.prefix(40))' is not a valid symbol"))
            }
        } else {
            return .failure(ReplayRowError("no symbol"))
        }
        timeText = timeText.trimmingWhitespace()
        guard let timestamp = ReplayTimeParser.parse(Substring(timeText)) else {
            return .failure(ReplayRowError("time '\(timeText.prefix(40))' is not a timestamp", symbol: symbol))
        }
        let (time, dayEnd) = resolver.resolve(timestamp)

        func number(_ column: Int?, _ name: String, required: Bool = true) -> Result<Double, ReplayRowError> {
            guard let column, !fields[column].isEmpty else {
                return required && column != nil ? .failure(ReplayRowError("\(name) is empty", symbol: symbol)) : .success(0)
            }
            guard let value = Double(fields[column]), value.isFinite else {
                return .failure(ReplayRowError("\(name) '\(fields[column].prefix(40))' is not a number", symbol: symbol))
            }
            return .success(value)
        }

        do throws(ReplayRowError) {
            if layout.isBars {
                let open = try number(layout.open, "open").get()
                let high = try number(layout.high, "high").get()
                let low = try number(layout.low, "low").get()
                let close = try number(layout.close, "close").get()
                let volume = try number(layout.volume, "volume", required: false).get()
                let vwap = try number(layout.vwap, "vwap", required: false).get()
                let count = try number(layout.tradeCount, "trade count", required: false).get()
                guard low > 0 else { throw ReplayRowError("low \(low) is not a positive price", symbol: symbol) }
                guard high >= low else { throw ReplayRowError("high \(high) is below low \(low)", symbol: symbol) }
                // Open and close must lie within the bar's range (up to a rounding error).
                let slack = high * 1e-6
                guard open >= low - slack, open <= high + slack, close >= low - slack, close <= high + slack else {
                    throw ReplayRowError("open \(open) or close \(close) lies outside low \(low)...high \(high)", symbol: symbol)
                }
                guard volume >= 0, vwap >= 0, count >= 0, count == count.rounded(), count < 1e18 else {
                    throw ReplayRowError("volume, vwap and trade count must not be negative (trade count a whole number)", symbol: symbol)
                }
                return .success(
                    ReplayRow(
                        line: line, symbol: symbol, time: time, dayEnd: dayEnd,
                        values: .bar(open: open, high: high, low: low, close: close, volume: volume, vwap: vwap, tradeCount: UInt64(count))))
            } else {
                let price = try number(layout.price, "price").get()
                let size = try number(layout.size, "size").get()
                guard price > 0 else { throw ReplayRowError("price \(price) is not a positive price", symbol: symbol) }
                guard size >= 0 else { throw ReplayRowError("size \(size) is negative", symbol: symbol) }
                let exchange = layout.exchange.map { String(fields[$0]) } ?? ""
                let tradeID = layout.tradeID.map { String(fields[$0]) } ?? ""
                return .success(
                    ReplayRow(
                        line: line, symbol: symbol, time: time, dayEnd: nil,
                        values: .trade(price: price, size: size, exchange: exchange, tradeID: tradeID)))
            }
        } catch {
            return .failure(error)
        }
    }
}

/// Why a row was skipped.
struct ReplayRowError: Error, Sendable, Equatable {
    var message: String
    var symbol: String

    init(_ message: String, symbol: String = "") {
        self.message = message
        self.symbol = symbol
    }
}
