import ServiceKit
import ServiceLifecycle

/// Every provider this build knows, by config name.
public enum ProviderRegistry {
    /// Makes the provider `config.provider` names, checking its settings.
    public static func makeProvider(config: TickwireConfig) throws -> any MarketDataProvider {
        switch config.provider {
        case ProviderName.simulated:
            return SimulatedProvider(config: config)
        case "alphavantage":
            return try AlphaVantageProvider(config: config)
        case "replay":
            return try ReplayProvider(config: config)
        default:
            if let streaming = try StreamingProviders.make(config: config) { return streaming }
            throw ConfigError(
                path: "provider",
                message: "provider '\(config.provider)' is not available in this build yet (available: \(available.joined(separator: ", ")))")
        }
    }

    /// Providers this build can run.
    public static let available: [String] = ["alphavantage", "replay", ProviderName.simulated] + StreamingProviders.names
}

/// Builds the ingestor's services for the configured provider, and its history endpoint
/// (recent bars for processors that start mid-session) unless `ingestor.history_bind` is empty.
public enum IngestorBuilder {
    public static func build(_ environment: ServiceEnvironment) throws -> [any Service] {
        let provider = try ProviderRegistry.makeProvider(config: environment.config)
        guard !environment.config.ingestor.historyBind.isEmpty else {
            return [try ProviderService(environment: environment, provider: provider)]
        }
        let history = BarHistory(settings: BarHistory.Settings(config: environment.config))
        return [
            HistoryService(environment: environment, history: history),
            try ProviderService(environment: environment, provider: provider) { payload, time in
                history.record(payload, eventTime: time)
            },
        ]
    }
}
