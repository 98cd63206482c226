import Contracts
import Foundation
import MarketData
import Testing

private let key = AVFixtures.apiKey

private func quoteIssue(_ fixture: String, symbol: String = "AAPL") throws -> ProviderIssue? {
    let result = AlphaVantage.parseQuote(try AVFixtures.response(fixture), symbol: symbol, apiKey: key)
    if case .failure(let issue) = result { return issue }
    return nil
}

private func seriesIssue(_ fixture: String, symbol: String = "AAPL") throws -> ProviderIssue? {
    let result = AlphaVantage.parseSeries(try AVFixtures.response(fixture), symbol: symbol, apiKey: key)
    if case .failure(let issue) = result { return issue }
    return nil
}

private func body(_ text: String) -> MarketData.HTTPResponse {
    MarketData.HTTPResponse(status: 200, body: Array(text.utf8))
}

@Suite("AlphaVantage responses")
struct AlphaVantageParserTests {
    @Test("GLOBAL_QUOTE: exact values from the fixture")
    func quote() throws {
        let quote = try AlphaVantage.parseQuote(try AVFixtures.response("global_quote_AAPL.json"), symbol: "AAPL", apiKey: key).get()
        #expect(
            quote
                == AlphaVantage.Quote(
                    symbol: "AAPL", price: 213.18, volume: 19_182_321, open: 211.25, high: 213.33, low: 211.07,
                    previousClose: 209.68, latestTradingDay: "2025-03-14"))
    }

    @Test("the delayed entitlement's top-level key is accepted with the same values")
    func delayed() throws {
        let delayed = try AlphaVantage.parseQuote(
            try AVFixtures.response("global_quote_AAPL_delayed_entitlement.json"), symbol: "AAPL", apiKey: key
        ).get()
        let plain = try AlphaVantage.parseQuote(try AVFixtures.response("global_quote_AAPL.json"), symbol: "AAPL", apiKey: key).get()
        #expect(delayed == plain)
    }

    @Test("an empty Global Quote is an unknown symbol, not fatal")
    func unknownSymbol() throws {
        let issue = try #require(try quoteIssue("global_quote_unknown_symbol.json", symbol: "ZZZZ"))
        #expect(issue.kind == .unknownSymbol)
        #expect(!issue.isFatal)
        #expect(issue.symbol == "ZZZZ")
        #expect(issue.severity == .warning)
    }

    @Test(
        "every error and throttle body maps to its kind and fatality, for both functions",
        arguments: [
            ("error_invalid_key.json", ProviderIssue.Kind.authFailed, true),
            ("error_invalid_symbol_intraday.json", .unknownSymbol, false),
            ("rate_limit_note.json", .rateLimited, false),
            ("rate_limit_information_daily.json", .dailyLimit, false),
            ("rate_limit_information_burst.json", .rateLimited, false),
            ("premium_endpoint_information.json", .premiumOnly, false),
        ])
    func errorBodies(fixture: String, kind: ProviderIssue.Kind, fatal: Bool) throws {
        for issue in [try quoteIssue(fixture), try seriesIssue(fixture)] {
            let issue = try #require(issue)
            #expect(issue.kind == kind)
            #expect(issue.isFatal == fatal)
            #expect(!issue.description.contains(key))
        }
    }

    @Test("the daily-limit text embeds the key: the issue carries it redacted")
    func dailyRedacted() throws {
        let issue = try #require(try quoteIssue("rate_limit_information_daily.json"))
        #expect(
            issue.message
                == "alphavantage GLOBAL_QUOTE AAPL: daily request quota used up: We have detected your API key as <redacted> and our standard API rate limit is 25 requests per day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly remove all daily rate limits."
        )
        // Another key of ours: the phrase still hides whatever follows "API key as".
        let other = AlphaVantage.parseQuote(
            try AVFixtures.response("rate_limit_information_daily.json"), symbol: "AAPL", apiKey: "OTHERKEY")
        guard case .failure(let otherIssue) = other else {
            Issue.record("expected a failure")
            return
        }
        #expect(!otherIssue.message.contains(key))
        #expect(AlphaVantage.redact("key MYKEY1 and API key as MYKEY1.", apiKey: "MYKEY1") == "key <redacted> and API key as <redacted>.")
    }

    @Test("the demo key is fatal; an Information text never seen before is a throttle, not a gate")
    func otherInformation() {
        let demo = "{\"Information\": \"The **demo** API key is for demo purposes only. Please claim your free API key at (https://www.alphavantage.co/support/#api-key) to explore our full API offerings. It takes fewer than 20 seconds.\"}"
        guard case .failure(let demoIssue) = AlphaVantage.parseQuote(body(demo), symbol: "AAPL", apiKey: "demo") else {
            Issue.record("the demo body parsed")
            return
        }
        #expect(demoIssue.kind == .authFailed)
        #expect(demoIssue.isFatal)
        let novel = "{\"Information\": \"Our servers are busy; please consider a premium plan.\"}"
        guard case .failure(let novelIssue) = AlphaVantage.parseSeries(body(novel), symbol: "AAPL", apiKey: key) else {
            Issue.record("the novel body parsed")
            return
        }
        #expect(novelIssue.kind == .rateLimited)
        #expect(!novelIssue.isFatal)
    }

    @Test("HTTP status other than 200 → .httpStatus with the code")
    func httpStatus() throws {
        let response = MarketData.HTTPResponse(status: 503, body: try AVFixtures.bytes("global_quote_AAPL.json"))
        guard case .failure(let issue) = AlphaVantage.parseQuote(response, symbol: "AAPL", apiKey: key) else {
            Issue.record("a 503 must not parse")
            return
        }
        #expect(issue.kind == .httpStatus)
        #expect(issue.code == 503)
        #expect(!issue.isFatal)
    }

    @Test(
        "garbage, wrong shapes and implausible numbers are malformed payloads",
        arguments: [
            "<html>502 Bad Gateway</html>",
            "",
            "[1, 2, 3]",
            "{\"Global Quote\": \"AAPL\"}",
            "{\"Something\": {}}",
            "{\"Global Quote\": {\"01. symbol\": \"AAPL\", \"05. price\": \"abc\", \"06. volume\": \"1\"}}",
            "{\"Global Quote\": {\"01. symbol\": \"AAPL\", \"05. price\": \"0.0000\", \"06. volume\": \"1\"}}",
            "{\"Global Quote\": {\"01. symbol\": \"AAPL\", \"05. price\": \"-1\", \"06. volume\": \"1\"}}",
            "{\"Global Quote\": {\"01. symbol\": \"AAPL\", \"05. price\": \"nan\", \"06. volume\": \"1\"}}",
            "{\"Global Quote\": {\"01. symbol\": \"AAPL\", \"05. price\": \"213.18\"}}",
            "{\"Global Quote\": {\"01. symbol\": \"MSFT\", \"05. price\": \"213.18\", \"06. volume\": \"1\"}}",
            "{\"Global Quote\": {\"01. symbol\": \"AAPL\", \"05. price\": 213.18, \"06. volume\": \"1\"}}",
        ])
    func malformedQuote(text: String) {
        guard case .failure(let issue) = AlphaVantage.parseQuote(body(text), symbol: "AAPL", apiKey: key) else {
            Issue.record("parsed: \(text)")
            return
        }
        #expect(issue.kind == .malformedPayload)
        #expect(!issue.isFatal)
    }

    @Test("TIME_SERIES_INTRADAY: 100 bars oldest first, Eastern labels as exact UTC, 1 minute each")
    func series() throws {
        let series = try AlphaVantage.parseSeries(try AVFixtures.response("intraday_1min_AAPL.json"), symbol: "AAPL", apiKey: key).get()
        #expect(series.symbol == "AAPL")
        #expect(series.interval == "1min")
        #expect(series.timeZone == "US/Eastern")
        #expect(series.bars.count == 100)
        #expect(
            series.bars.first
                == AlphaVantage.Bar(
                    startNs: AVFixtures.oldestBarStart, endNs: AVFixtures.oldestBarStart + AVFixtures.minute, open: 211.73,
                    high: 211.75, low: 211.70, close: 211.74, volume: 145_739))
        #expect(
            series.bars.last
                == AlphaVantage.Bar(
                    startNs: AVFixtures.newestBarStart, endNs: AVFixtures.newestBarStart + AVFixtures.minute, open: 213.20,
                    high: 213.23, low: 213.14, close: 213.18, volume: 149_176))
        let starts = series.bars.map(\.startNs)
        #expect(starts == starts.sorted())
        #expect(Set(starts).count == 100)
        #expect(series.bars.reduce(0) { $0 + $1.volume } == 12_994_614)
    }

    @Test("5min series spanning two days: 5-minute bars, the evening before in EDT")
    func fiveMinutes() throws {
        let series = try AlphaVantage.parseSeries(try AVFixtures.response("intraday_5min_AAPL.json"), symbol: "AAPL", apiKey: key).get()
        #expect(series.interval == "5min")
        #expect(series.bars.count == 100)
        // 2025-03-13 19:10 EDT = 23:10 UTC.
        #expect(series.bars.first?.startNs == 1_741_907_400_000_000_000)
        #expect(series.bars.first.map { $0.endNs - $0.startNs } == 300_000_000_000)
    }

    @Test("a bad bar makes the whole series malformed")
    func malformedSeries() throws {
        let good = try AVFixtures.text("intraday_1min_AAPL.json")
        let variants = [
            good.replacingOccurrences(of: "\"2025-03-14 11:42:00\"", with: "\"2025-03-14 11:42\""),
            good.replacingOccurrences(of: "\"2025-03-14 11:42:00\"", with: "\"2025-02-30 11:42:00\""),
            good.replacingOccurrences(of: "\"2. high\": \"213.2300\"", with: "\"2. high\": \"213.0000\""),
            good.replacingOccurrences(of: "\"5. volume\": \"149176\"", with: "\"5. volume\": \"x\""),
            good.replacingOccurrences(of: "\"6. Time Zone\": \"US/Eastern\"", with: "\"6. Time Zone\": \"Mars/Olympus\""),
            good.replacingOccurrences(of: "\"2. Symbol\": \"AAPL\"", with: "\"2. Symbol\": \"MSFT\""),
            good.replacingOccurrences(of: "Time Series (1min)", with: "Time Series"),
        ]
        for variant in variants {
            #expect(variant != good)
            guard case .failure(let issue) = AlphaVantage.parseSeries(body(variant), symbol: "AAPL", apiKey: key) else {
                Issue.record("a broken series parsed")
                continue
            }
            #expect(issue.kind == .malformedPayload)
        }
    }

    @Test(
        "US/Eastern wall-clock to UTC across both DST changes",
        arguments: [
            ("2025-01-10 10:00:00", Int64(1_736_521_200_000_000_000)),  // EST, −5 h
            ("2025-03-07 16:00:00", 1_741_381_200_000_000_000),  // last Friday of EST
            ("2025-03-10 16:00:00", 1_741_636_800_000_000_000),  // first Monday of EDT, −4 h
            ("2025-03-09 01:59:00", 1_741_503_540_000_000_000),  // a minute before the jump…
            ("2025-03-09 03:00:00", 1_741_503_600_000_000_000),  // …and the next wall time, 60 s later
            ("2025-10-31 09:30:00", 1_761_917_400_000_000_000),  // EDT
            ("2025-11-03 09:30:00", 1_762_180_200_000_000_000),  // EST again
            ("2025-11-02 00:30:00", 1_762_057_800_000_000_000),
            ("2025-11-02 03:00:00", 1_762_070_400_000_000_000),
            ("2025-03-14 11:42:00", 1_741_966_920_000_000_000),
        ])
    func eastern(text: String, expected: Int64) throws {
        let zone = try #require(TimeZone(identifier: "US/Eastern"))
        #expect(AlphaVantage.utcNanoseconds(text, timeZone: zone) == expected)
    }

    @Test("times that do not exist in US/Eastern are refused")
    func nonexistent() throws {
        let zone = try #require(TimeZone(identifier: "US/Eastern"))
        #expect(AlphaVantage.utcNanoseconds("2025-03-09 02:30:00", timeZone: zone) == nil)  // skipped by DST
        #expect(AlphaVantage.utcNanoseconds("2025-02-29 10:00:00", timeZone: zone) == nil)
        #expect(AlphaVantage.utcNanoseconds("2025-03-14T11:42:00", timeZone: zone) == nil)
        #expect(AlphaVantage.utcNanoseconds("2025-03-14 24:00:00", timeZone: zone) == nil)
    }

    @Test("request URLs: function, symbol, interval, entitlement, percent-encoded key")
    func urls() {
        #expect(
            AlphaVantage.url(base: "https://www.alphavantage.co/query", function: .globalQuote, symbol: "BRK.B", apiKey: "K")
                == "https://www.alphavantage.co/query?function=GLOBAL_QUOTE&symbol=BRK.B&apikey=K")
        #expect(
            AlphaVantage.url(
                base: "http://127.0.0.1:9/query", function: .intraday, symbol: "AAPL", apiKey: "a b&c", entitlement: "delayed")
                == "http://127.0.0.1:9/query?function=TIME_SERIES_INTRADAY&symbol=AAPL&interval=1min&outputsize=compact&entitlement=delayed&apikey=a%20b%26c"
        )
    }
}
