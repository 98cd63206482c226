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

    /// Columns whose values are sizes or counts (the rest are prices).
    private let sizeColumns: Set<String> = ["volume", "trade count", "size"]

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
                return .failure(
                    ReplayRowError("symbol '\(symbol.prefix(40))' is not a valid symbol", reason: .invalidSymbol))
            }
        } else {
            return .failure(ReplayRowError("no symbol"))
        }
        timeText = timeText.trimmingWhitespace()
        guard let timestamp = ReplayTimeParser.parse(Substring(timeText)) else {
            return .failure(ReplayRowError("time '\(timeText.prefix(40))' is not a timestamp", symbol: symbol))
        }
        guard let (time, dayEnd) = resolver.resolve(timestamp) else {
            return .failure(
                ReplayRowError(
                    "time '\(timeText.prefix(40))' is out of range (1900 to 2200)", symbol: symbol, reason: .timeRange))
        }

        func number(_ column: Int?, _ name: String, required: Bool = true) -> Result<Double, ReplayRowError> {
            guard let column, !fields[column].isEmpty else {
                return required && column != nil ? .failure(ReplayRowError("\(name) is empty", symbol: symbol)) : .success(0)
            }
            guard let value = Double(fields[column]), value.isFinite else {
                // `nan`, `inf` and 1e400 parse as numbers, but not as ones a market has.
                let reason: ProviderRejectReason =
                    Double(fields[column]) == nil ? .malformed : (sizeColumns.contains(name) ? .sizeRange : .priceRange)
                let text = fields[column].prefix(40)
                return .failure(ReplayRowError("\(name) '\(text)' is not a number", symbol: symbol, reason: reason))
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
                for (name, price) in [("open", open), ("high", high), ("low", low), ("close", close)]
                where !MarketLimits.isPrice(price) {
                    throw ReplayRowError(
                        "\(name) \(price) is not a price (above 0, at most 1e9)", symbol: symbol, reason: .priceRange)
                }
                guard high >= low else {
                    throw ReplayRowError("high \(high) is below low \(low)", symbol: symbol, reason: .priceRange)
                }
                // Open and close must lie within the bar's range (up to a rounding error).
                let slack = high * 1e-6
                guard open >= low - slack, open <= high + slack, close >= low - slack, close <= high + slack else {
                    throw ReplayRowError(
                        "open \(open) or close \(close) lies outside low \(low)...high \(high)", symbol: symbol,
                        reason: .priceRange)
                }
                guard MarketLimits.isSize(volume), vwap == 0 || MarketLimits.isPrice(vwap), MarketLimits.isSize(count),
                    count == count.rounded()
                else {
                    throw ReplayRowError(
                        "volume \(volume), vwap \(vwap) or trade count \(count) is out of range (volume and trade "
                            + "count 0 to 1e12, the count a whole number; vwap 0 or a price)",
                        symbol: symbol, reason: .sizeRange)
                }
                return .success(
                    ReplayRow(
                        line: line, symbol: symbol, time: time, dayEnd: dayEnd,
                        values: .bar(open: open, high: high, low: low, close: close, volume: volume, vwap: vwap, tradeCount: UInt64(count))))
            } else {
                let price = try number(layout.price, "price").get()
                let size = try number(layout.size, "size").get()
                guard MarketLimits.isPrice(price) else {
                    throw ReplayRowError(
                        "price \(price) is not a price (above 0, at most 1e9)", symbol: symbol, reason: .priceRange)
                }
                guard MarketLimits.isSize(size) else {
                    throw ReplayRowError("size \(size) is out of range (0 to 1e12)", symbol: symbol, reason: .sizeRange)
                }
                let exchange = layout.exchange.map { String(fields[$0]) } ?? ""
                let tradeID = layout.tradeID.map { String(fields[$0]) } ?? ""
                guard MarketLimits.isShortText(exchange), MarketLimits.isShortText(tradeID) else {
                    throw ReplayRowError(
                        "exchange or trade id is longer than \(MarketLimits.maximumTextLength) bytes", symbol: symbol,
                        reason: .fieldLength)
                }
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
    /// The `rejected.<reason>` counter it adds to.
    var reason: ProviderRejectReason

    init(_ message: String, symbol: String = "", reason: ProviderRejectReason = .malformed) {
        self.message = message
        self.symbol = symbol
        self.reason = reason
    }
}
