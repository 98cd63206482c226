import FuzzSupport
import MarketData

/// Alpha Vantage's REST answers: the input is the body of a 200 response to `GLOBAL_QUOTE`
/// and to `TIME_SERIES_INTRADAY`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let response = HTTPResponse(status: 200, body: fuzzInput(data, size), headers: ["content-type": "application/json"])
    _ = AlphaVantage.parseQuote(response, symbol: "AAPL", apiKey: "KEY")
    _ = AlphaVantage.parseSeries(response, symbol: "AAPL", apiKey: "KEY")
    return 0
}
