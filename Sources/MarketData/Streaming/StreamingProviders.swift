import ServiceKit

/// The WebSocket providers, by config name — what the ingestor's registry needs to wire them.
public enum StreamingProviders {
    /// Config names served here.
    public static let names = ["polygon", "massive", "alpaca", "finnhub", "websocket"]

    /// The provider for `config.provider`, checked; `nil` if that name is not a streaming one.
    public static func make(config: TickwireConfig) throws(ConfigError) -> (any MarketDataProvider)? {
        switch config.provider {
        case "polygon", "massive": return try PolygonProvider(config: config)
        case "alpaca": return try AlpacaProvider(config: config)
        case "finnhub": return try FinnhubProvider(config: config)
        case "websocket": return try GenericWebSocketProvider(config: config)
        default: return nil
        }
    }
}
