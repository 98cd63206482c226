import Contracts
import Indicators

extension Bar {
    /// The bus message for a bar built from trades.
    public init(built: BuiltBar, symbol: String, provider: String) {
        self.init()
        self.symbol = symbol
        startTimeNs = built.start
        endTimeNs = built.end
        open = built.open
        high = built.high
        low = built.low
        close = built.close
        volume = built.volume
        vwap = built.vwap
        tradeCount = UInt64(clamping: built.tradeCount)
        origin = .built
        self.provider = provider
    }
}
