import FuzzSupport
import MarketData

/// Alpaca protocol: a fresh session reads each line of the input as one WebSocket text
/// frame (the seed corpus starts with the handshake), and every event it yields goes through
/// the ingestor's plausibility check, as in `ProviderService`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var session = AlpacaSession(
        provider: "alpaca", key: "KEY", secret: "SECRET", trades: ["AAPL"], quotes: ["AAPL"], bars: ["AAPL"],
        parser: AlpacaParser())
    _ = session.opened()
    for frame in fuzzLines(fuzzInput(data, size)) {
        let reaction = session.received(frame)
        for event in reaction.events { _ = MarketLimits.rejection(of: event) }
        if reaction.end != nil { break }
    }
    return 0
}
