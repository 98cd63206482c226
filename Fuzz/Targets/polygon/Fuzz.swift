import FuzzSupport
import MarketData

/// Polygon (and Massive, its new name) protocol: a fresh session reads each line of the input as one WebSocket text
/// frame (the seed corpus starts with the handshake), and every event it yields goes through
/// the ingestor's plausibility check, as in `ProviderService`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var session = PolygonSession(
        provider: "polygon", apiKey: "KEY", topics: ["T.AAPL", "Q.AAPL", "A.AAPL", "AM.AAPL"], parser: PolygonParser())
    _ = session.opened()
    for frame in fuzzLines(fuzzInput(data, size)) {
        let reaction = session.received(frame)
        for event in reaction.events { _ = MarketLimits.rejection(of: event) }
        if reaction.end != nil { break }
    }
    return 0
}
