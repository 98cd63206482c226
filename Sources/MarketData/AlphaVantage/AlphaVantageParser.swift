import Foundation
import ServiceKit

/// Alpha Vantage's wire format: request functions, response bodies and their meaning.
/// Pure functions, no I/O; the provider (``AlphaVantageProvider``) does the requests.
///
/// Every body comes with HTTP 200, errors included, so the body decides. In this order:
/// 1. HTTP status other than 200 → `.httpStatus` (code = the status).
/// 2. Not a JSON object → `.malformedPayload`.
/// 3. `Error Message`: mentions the `apikey` → `.authFailed` (fatal); otherwise ("Invalid API
///    call … for TIME_SERIES_INTRADAY") the symbol or a parameter was refused →
///    `.unknownSymbol` for that symbol (not fatal).
/// 4. `Information`: the `demo` key → `.authFailed` (fatal); "per second"/"sparingly" (the
///    burst limit) → `.rateLimited`; "per day"/"daily" → `.dailyLimit`; "premium endpoint" →
///    `.premiumOnly` (the provider stops using that function); anything else → `.rateLimited`
///    (Alpha Vantage uses `Information` for "throttled or not entitled": back off).
///    The burst text also mentions "per day" and "premium endpoints", hence this order.
/// 5. `Note` (the legacy per-minute throttle) → `.rateLimited`.
/// 6. The data: a key starting with `Global Quote` (also the delayed entitlement's
///    `Global Quote - DATA DELAYED BY 15 MINUTES`); an empty one → `.unknownSymbol`.
///    `Meta Data` + `Time Series (<interval>)` for intraday bars.
/// 7. Anything else, or data that does not parse or is implausible (a price ≤ 0, high < low,
///    a time that does not exist) → `.malformedPayload`: nothing from it is emitted.
///
/// Texts from Alpha Vantage go into issue messages redacted: the API key and the
/// "API key as …" phrase some throttle messages contain are replaced by `<redacted>`.
public enum AlphaVantage {
    public static let providerName = "alphavantage"

    /// The functions the provider calls.
    public enum Function: String, Sendable, Hashable, CaseIterable {
        case globalQuote = "GLOBAL_QUOTE"
        case intraday = "TIME_SERIES_INTRADAY"
    }

    /// A `GLOBAL_QUOTE`. Numbers as Alpha Vantage gives them (strings) parsed to `Double`.
    public struct Quote: Sendable, Equatable {
        public var symbol: String
        public var price: Double
        /// The session's volume so far.
        public var volume: Double
        public var open: Double?
        public var high: Double?
        public var low: Double?
        public var previousClose: Double?
        /// `YYYY-MM-DD`, the US/Eastern trading day the quote belongs to.
        public var latestTradingDay: String

        public init(
            symbol: String, price: Double, volume: Double, open: Double? = nil, high: Double? = nil,
            low: Double? = nil, previousClose: Double? = nil, latestTradingDay: String = ""
        ) {
            self.symbol = symbol
            self.price = price
            self.volume = volume
            self.open = open
            self.high = high
            self.low = low
            self.previousClose = previousClose
            self.latestTradingDay = latestTradingDay
        }
    }

    /// One bar of a time series; it covers [startNs, endNs) in UTC nanoseconds.
    public struct Bar: Sendable, Equatable {
        public var startNs: Int64
        public var endNs: Int64
        public var open: Double
        public var high: Double
        public var low: Double
        public var close: Double
        public var volume: Double

        public init(startNs: Int64, endNs: Int64, open: Double, high: Double, low: Double, close: Double, volume: Double) {
            self.startNs = startNs
            self.endNs = endNs
            self.open = open
            self.high = high
            self.low = low
            self.close = close
            self.volume = volume
        }
    }

    /// A `TIME_SERIES_INTRADAY` response.
    public struct Series: Sendable, Equatable {
        public var symbol: String
        /// E.g. `1min`.
        public var interval: String
        /// The meta data's time zone, e.g. `US/Eastern`.
        public var timeZone: String
        /// Oldest first.
        public var bars: [Bar]
    }

    // MARK: Requests

    /// The request URL. `apiKey` goes in as `apikey` (percent-encoded); never log the result
    /// unredacted (``URLRedaction/redact(_:)``).
    public static func url(
        base: String, function: Function, symbol: String, apiKey: String, entitlement: String = "",
        interval: String = "1min", outputSize: String = "compact"
    ) -> String {
        var parameters = [("function", function.rawValue), ("symbol", symbol)]
        if function == .intraday {
            parameters += [("interval", interval), ("outputsize", outputSize)]
        }
        if !entitlement.isEmpty { parameters.append(("entitlement", entitlement)) }
        parameters.append(("apikey", apiKey))
        let query = parameters.map { "\($0.0)=\(percentEncoded($0.1))" }.joined(separator: "&")
        let separator = base.contains("?") ? (base.hasSuffix("?") || base.hasSuffix("&") ? "" : "&") : "?"
        return base + separator + query
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func percentEncoded(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }

    // MARK: Responses

    /// Classifies a `GLOBAL_QUOTE` response.
    public static func parseQuote(_ response: HTTPResponse, symbol: String, apiKey: String) -> Result<Quote, ProviderIssue> {
        let object: [String: AlphaVantageJSON]
        switch preflight(response, function: .globalQuote, symbol: symbol, apiKey: apiKey) {
        case .failure(let issue): return .failure(issue)
        case .success(let value): object = value
        }
        let context = "alphavantage GLOBAL_QUOTE \(symbol)"
        guard let key = object.keys.sorted().first(where: { $0.hasPrefix("Global Quote") }) else {
            return .failure(malformed(context, "no 'Global Quote' in the response (keys: \(keyList(object)))", symbol))
        }
        guard case .object(let fields) = object[key] else {
            return .failure(malformed(context, "'\(key)' is not an object", symbol))
        }
        if fields.isEmpty {
            return .failure(
                ProviderIssue(.unknownSymbol, "\(context): unknown symbol (empty '\(key)')", symbol: symbol))
        }
        guard let echoed = fields.string("01. symbol") else {
            return .failure(malformed(context, "'01. symbol' is missing", symbol))
        }
        guard echoed.uppercased() == symbol.uppercased() else {
            return .failure(malformed(context, "the quote is for '\(echoed)', not '\(symbol)'", symbol))
        }
        guard let price = fields.number("05. price"), MarketLimits.isPrice(price) else {
            return .failure(malformed(context, "'05. price' is missing or not a price (above 0, at most 1e9)", symbol))
        }
        guard let volume = fields.number("06. volume"), MarketLimits.isSize(volume) else {
            return .failure(malformed(context, "'06. volume' is missing or not a volume (0 to 1e12)", symbol))
        }
        return .success(
            Quote(
                symbol: symbol, price: price, volume: volume, open: fields.number("02. open"),
                high: fields.number("03. high"), low: fields.number("04. low"),
                previousClose: fields.number("08. previous close"),
                latestTradingDay: fields.string("07. latest trading day") ?? ""))
    }

    /// Classifies a `TIME_SERIES_INTRADAY` response; the bars come oldest first.
    public static func parseSeries(_ response: HTTPResponse, symbol: String, apiKey: String) -> Result<Series, ProviderIssue> {
        let object: [String: AlphaVantageJSON]
        switch preflight(response, function: .intraday, symbol: symbol, apiKey: apiKey) {
        case .failure(let issue): return .failure(issue)
        case .success(let value): object = value
        }
        let context = "alphavantage TIME_SERIES_INTRADAY \(symbol)"
        guard case .object(let meta) = object["Meta Data"] else {
            return .failure(malformed(context, "no 'Meta Data' in the response (keys: \(keyList(object)))", symbol))
        }
        guard let seriesKey = object.keys.sorted().first(where: { $0.hasPrefix("Time Series (") && $0.hasSuffix(")") }),
            case .object(let series) = object[seriesKey]
        else {
            return .failure(malformed(context, "no 'Time Series (…)' object in the response", symbol))
        }
        let interval = String(seriesKey.dropFirst("Time Series (".count).dropLast())
        guard let intervalNs = intervalNanoseconds(interval) else {
            return .failure(malformed(context, "unknown interval '\(interval)'", symbol))
        }
        if let echoed = meta.string(suffix: "Symbol"), echoed.uppercased() != symbol.uppercased() {
            return .failure(malformed(context, "the series is for '\(echoed)', not '\(symbol)'", symbol))
        }
        guard let zoneName = meta.string(suffix: "Time Zone") else {
            return .failure(malformed(context, "the meta data has no time zone", symbol))
        }
        guard let zone = timeZone(named: zoneName) else {
            return .failure(malformed(context, "unknown time zone '\(zoneName)'", symbol))
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        var bars: [Bar] = []
        bars.reserveCapacity(series.count)
        for (stamp, value) in series {
            guard let start = utcNanoseconds(stamp, calendar: calendar) else {
                return .failure(malformed(context, "bar time '\(stamp)' is not a valid \(zoneName) time", symbol))
            }
            guard case .object(let fields) = value,
                let open = fields.number(suffix: "open"), let high = fields.number(suffix: "high"),
                let low = fields.number(suffix: "low"), let close = fields.number(suffix: "close"),
                let volume = fields.number(suffix: "volume")
            else {
                return .failure(malformed(context, "bar \(stamp) lacks open/high/low/close/volume numbers", symbol))
            }
            guard [open, high, low, close].allSatisfy(MarketLimits.isPrice), high >= max(open, close),
                low <= min(open, close), MarketLimits.isSize(volume)
            else {
                return .failure(
                    malformed(context, "bar \(stamp) is implausible (o \(open) h \(high) l \(low) c \(close) v \(volume))", symbol))
            }
            bars.append(
                Bar(startNs: start, endNs: start + intervalNs, open: open, high: high, low: low, close: close, volume: volume))
        }
        bars.sort { $0.startNs < $1.startNs }
        return .success(Series(symbol: symbol, interval: interval, timeZone: zoneName, bars: bars))
    }

    /// Status, JSON and the error/throttle keys; the object when the body may hold data.
    static func preflight(
        _ response: HTTPResponse, function: Function, symbol: String, apiKey: String
    ) -> Result<[String: AlphaVantageJSON], ProviderIssue> {
        let context = "alphavantage \(function.rawValue) \(symbol)"
        guard response.status == 200 else {
            return .failure(
                ProviderIssue(
                    .httpStatus, "\(context): HTTP status \(response.status)", symbol: symbol, code: response.status))
        }
        let decoded: AlphaVantageJSON
        do {
            decoded = try JSONDecoder().decode(AlphaVantageJSON.self, from: Data(response.body))
        } catch {
            return .failure(malformed(context, "the body is not JSON (\(response.body.count) bytes)", symbol))
        }
        guard case .object(let object) = decoded else {
            return .failure(malformed(context, "the body is not a JSON object", symbol))
        }
        if let issue = classifyNotice(object, function: function, symbol: symbol, apiKey: apiKey) {
            return .failure(issue)
        }
        return .success(object)
    }

    /// The issue an `Error Message`, `Information` or `Note` body means, if it is one.
    static func classifyNotice(
        _ object: [String: AlphaVantageJSON], function: Function, symbol: String, apiKey: String
    ) -> ProviderIssue? {
        let context = "alphavantage \(function.rawValue) \(symbol)"
        if let text = object.string("Error Message") {
            let said = redact(text, apiKey: apiKey)
            let lower = text.lowercased()
            if lower.contains("apikey") || lower.contains("api key") {
                return ProviderIssue(.authFailed, "\(context): the API key was refused: \(said)", isFatal: true)
            }
            return ProviderIssue(
                .unknownSymbol, "\(context): the symbol or request was refused: \(said)", symbol: symbol)
        }
        if let text = object.string("Information") {
            let said = redact(text, apiKey: apiKey)
            let lower = text.lowercased()
            if lower.contains("demo") && lower.contains("api key") {
                return ProviderIssue(.authFailed, "\(context): the demo API key cannot be used: \(said)", isFatal: true)
            }
            if lower.contains("per second") || lower.contains("sparingly") {
                return ProviderIssue(.rateLimited, "\(context): burst limit: \(said)", symbol: symbol)
            }
            if lower.contains("per day") || lower.contains("daily") {
                return ProviderIssue(.dailyLimit, "\(context): daily request quota used up: \(said)", symbol: symbol)
            }
            if lower.contains("premium endpoint") {
                return ProviderIssue(
                    .premiumOnly, "\(context): \(function.rawValue) needs a premium plan: \(said)", symbol: symbol)
            }
            return ProviderIssue(.rateLimited, "\(context): throttled: \(said)", symbol: symbol)
        }
        if let text = object.string("Note") {
            return ProviderIssue(
                .rateLimited, "\(context): per-minute limit: \(redact(text, apiKey: apiKey))", symbol: symbol)
        }
        return nil
    }

    static func malformed(_ context: String, _ what: String, _ symbol: String) -> ProviderIssue {
        ProviderIssue(.malformedPayload, "\(context): \(what)", symbol: symbol)
    }

    static func keyList(_ object: [String: AlphaVantageJSON]) -> String {
        let keys = object.keys.sorted().prefix(5).map { "'\($0.prefix(40))'" }
        return keys.isEmpty ? "none" : keys.joined(separator: ", ")
    }

    /// `text` without the API key: the key itself and the word after "API key as".
    public static func redact(_ text: String, apiKey: String) -> String {
        var result = apiKey.isEmpty ? text : URLRedaction.scrub(text, secrets: [apiKey])
        var searchStart = result.startIndex
        while let marker = result.range(of: "api key as ", options: .caseInsensitive, range: searchStart..<result.endIndex) {
            let valueStart = marker.upperBound
            var valueEnd = result[valueStart...].firstIndex(where: { $0.isWhitespace }) ?? result.endIndex
            while valueEnd > valueStart, let last = result[valueStart..<valueEnd].last, ".,;:!?)".contains(last) {
                valueEnd = result.index(before: valueEnd)
            }
            if valueEnd > valueStart, result[valueStart..<valueEnd] != URLRedaction.placeholder {
                result.replaceSubrange(valueStart..<valueEnd, with: URLRedaction.placeholder)
            }
            searchStart = result.index(valueStart, offsetBy: URLRedaction.placeholder.count, limitedBy: result.endIndex) ?? result.endIndex
        }
        return result
    }

    // MARK: Time

    /// Nanoseconds of an interval name (`1min`, `5min`, `15min`, `30min`, `60min`).
    static func intervalNanoseconds(_ name: String) -> Int64? {
        guard name.hasSuffix("min"), let minutes = Int64(name.dropLast(3)), minutes > 0, minutes <= 1440 else { return nil }
        return minutes * 60_000_000_000
    }

    /// The zone named in the meta data; `US/Eastern` is an alias of `America/New_York`.
    static func timeZone(named name: String) -> TimeZone? {
        if let zone = TimeZone(identifier: name) { return zone }
        let aliases = ["US/Eastern": "America/New_York", "US/Central": "America/Chicago", "US/Pacific": "America/Los_Angeles"]
        return aliases[name].flatMap { TimeZone(identifier: $0) }
    }

    /// A `YYYY-MM-DD HH:MM:SS` wall-clock time in `timeZone` (DST-aware) as UTC nanoseconds;
    /// nil when the text is not such a time or the time does not exist there (the hour
    /// skipped when DST starts). In the hour repeated when DST ends, the first (daylight)
    /// occurrence is taken; Alpha Vantage has no bars then (extended hours start at 04:00).
    public static func utcNanoseconds(_ text: String, timeZone: TimeZone) -> Int64? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return utcNanoseconds(text, calendar: calendar)
    }

    static func utcNanoseconds(_ text: String, calendar: Calendar) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: " "), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        var components = DateComponents()
        components.year = year
        components.month = month
        components.day = day
        components.hour = hour
        components.minute = minute
        components.second = second
        guard let date = calendar.date(from: components) else { return nil }
        // Reject what the calendar had to adjust: February 30th, or a skipped DST hour.
        let back = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        guard back.year == year, back.month == month, back.day == day, back.hour == hour, back.minute == minute,
            back.second == second
        else { return nil }
        let seconds = date.timeIntervalSince1970.rounded()
        guard seconds.magnitude < 9e9 else { return nil }
        return Int64(seconds) * 1_000_000_000
    }
}

/// Just enough JSON for Alpha Vantage bodies: every value it sends is a string or an object.
enum AlphaVantageJSON: Decodable, Sendable, Equatable {
    case string(String)
    case object([String: AlphaVantageJSON])
    /// Numbers, booleans, arrays, null: never expected, kept apart so they fail checks.
    case other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let object = try? container.decode([String: AlphaVantageJSON].self) {
            self = .object(object)
        } else {
            self = .other
        }
    }
}

extension Dictionary where Key == String, Value == AlphaVantageJSON {
    func string(_ key: String) -> String? {
        if case .string(let text) = self[key] { return text }
        return nil
    }

    /// A decimal string as a finite number.
    func number(_ key: String) -> Double? {
        guard let text = string(key)?.trimmingCharacters(in: .whitespaces), let value = Double(text), value.isFinite
        else { return nil }
        return value
    }

    /// The member whose name is `suffix` or ends in `. suffix` (`1. open`).
    func string(suffix: String) -> String? {
        if let text = string(suffix) { return text }
        guard let key = keys.first(where: { $0.hasSuffix(". \(suffix)") }) else { return nil }
        return string(key)
    }

    func number(suffix: String) -> Double? {
        guard let text = string(suffix: suffix)?.trimmingCharacters(in: .whitespaces), let value = Double(text),
            value.isFinite
        else { return nil }
        return value
    }
}
