import Foundation
import MarketData
import ServiceKit
import TestSupport
import Testing

/// Every numeric setting of the ingestor has bounds: a value outside them (or not finite) is a
/// config error naming its JSON path.
@Suite("Ingestor settings")
struct IngestorSettingsTests {
    func loadError(_ json: String) throws -> ConfigError? {
        let directory = try TemporaryDirectory()
        let file = try directory.write("config.json", json)
        do {
            _ = try ConfigLoader(environment: [:]).load(file: file)
            return nil
        } catch {
            return error
        }
    }

    @Test(
        "out-of-range settings are rejected with their path",
        arguments: [
            (#"{"update_interval": 1e300}"#, "update_interval"),
            (#"{"update_interval": -1}"#, "update_interval"),
            (#"{"rate_limit": {"requests_per_minute": 1e-300}}"#, "rate_limit.requests_per_minute"),
            (#"{"rate_limit": {"requests_per_minute": 1e12}}"#, "rate_limit.requests_per_minute"),
            (#"{"rate_limit": {"requests_per_day": 0}}"#, "rate_limit.requests_per_day"),
            (#"{"rate_limit": {"requests_per_day": 1e300}}"#, "rate_limit.requests_per_day"),
            (#"{"ingestor": {"reconnect_initial_seconds": 0}}"#, "ingestor.reconnect_initial_seconds"),
            (
                #"{"ingestor": {"reconnect_initial_seconds": 1e300, "reconnect_max_seconds": 1e301}}"#,
                "ingestor.reconnect_initial_seconds"
            ),
            (#"{"ingestor": {"reconnect_max_seconds": 0.5}}"#, "ingestor.reconnect_max_seconds"),
            (#"{"ingestor": {"reconnect_max_seconds": 1e300}}"#, "ingestor.reconnect_max_seconds"),
            (#"{"ingestor": {"request_timeout_seconds": 1e300}}"#, "ingestor.request_timeout_seconds"),
            (#"{"ingestor": {"request_timeout_seconds": 0}}"#, "ingestor.request_timeout_seconds"),
            (#"{"ingestor": {"feed_silence_seconds": 1e300}}"#, "ingestor.feed_silence_seconds"),
            (#"{"ingestor": {"circuit_open_seconds": 1e300}}"#, "ingestor.circuit_open_seconds"),
            (#"{"ingestor": {"circuit_open_seconds": -1}}"#, "ingestor.circuit_open_seconds"),
            (#"{"ingestor": {"circuit_failure_threshold": 0}}"#, "ingestor.circuit_failure_threshold"),
            (#"{"ingestor": {"circuit_failure_threshold": 1000000}}"#, "ingestor.circuit_failure_threshold"),
            (#"{"ingestor": {"history_bars": 100000000}}"#, "ingestor.history_bars"),
            (#"{"ingestor": {"history_bars": 0}}"#, "ingestor.history_bars"),
            (#"{"ingestor": {"max_message_bytes": 10}}"#, "ingestor.max_message_bytes"),
            (#"{"ingestor": {"max_message_bytes": 1000000000000}}"#, "ingestor.max_message_bytes"),
            (#"{"ingestor": {"max_future_seconds": -1}}"#, "ingestor.max_future_seconds"),
            (#"{"ingestor": {"max_future_seconds": 1e300}}"#, "ingestor.max_future_seconds"),
            (#"{"ingestor": {"session_default": "sometimes"}}"#, "ingestor.session_default"),
            (#"{"replay": {"speed": 1e300}}"#, "replay.speed"),
            (#"{"replay": {"speed": -1}}"#, "replay.speed"),
            (#"{"simulator": {"speed": 1e300}}"#, "simulator.speed"),
            (#"{"simulator": {"trades_per_second": 1e-300}}"#, "simulator.trades_per_second"),
            (#"{"simulator": {"trades_per_second": 1e300}}"#, "simulator.trades_per_second"),
            (#"{"simulator": {"quotes_per_trade": -1}}"#, "simulator.quotes_per_trade"),
            (#"{"simulator": {"quotes_per_trade": 1e300}}"#, "simulator.quotes_per_trade"),
            (#"{"simulator": {"annual_volatility": 1e300}}"#, "simulator.annual_volatility"),
            (#"{"simulator": {"start_prices": {"AAPL": 0}}}"#, "simulator.start_prices.AAPL"),
            (#"{"simulator": {"start_prices": {"AAPL": 100, "MSFT": 1e300}}}"#, "simulator.start_prices.MSFT"),
            (#"{"simulator": {"regime_strength": 1e300}}"#, "simulator.regime_strength"),
            (#"{"simulator": {"regime_seconds": 1e300}}"#, "simulator.regime_seconds"),
            (#"{"simulator": {"regime_seconds": 0}}"#, "simulator.regime_seconds"),
            (#"{"simulator": {"backfill_bars": 1000000}}"#, "simulator.backfill_bars"),
            (#"{"ws_url": "http://example.com"}"#, "ws_url"),
            (#"{"providers": {"alpaca": {"feed": "nasdaq"}}}"#, "providers.alpaca.feed"),
        ]
    )
    func rejected(json: String, path: String) throws {
        let error = try #require(try loadError(json), "\(json) was accepted")
        #expect(error.path == path, "\(error)")
    }

    @Test("the message names the bounds")
    func message() throws {
        let error = try #require(try loadError(#"{"ingestor": {"reconnect_max_seconds": 1e300}}"#))
        #expect(error.message == "must be more than 0 and at most 86400 seconds")
        let frames = try #require(try loadError(#"{"ingestor": {"max_message_bytes": 10}}"#))
        #expect(frames.message == "must be from 1024 to 67108864")
    }

    @Test("the defaults and values at the bounds load")
    func atTheBounds() throws {
        let directory = try TemporaryDirectory()
        let json = #"""
            {"update_interval": 86400, "rate_limit": {"requests_per_minute": 0.001, "requests_per_day": 1000000000},
             "ingestor": {"reconnect_initial_seconds": 0.01, "reconnect_max_seconds": 86400,
                          "request_timeout_seconds": 600,
                          "circuit_failure_threshold": 1000, "history_bars": 100000, "max_message_bytes": 67108864,
                          "max_future_seconds": 0},
             "replay": {"speed": 0},
             "simulator": {"speed": 100000, "trades_per_second": 0.001, "start_prices": {"AAPL": 1e8}}}
            """#
        let config = try ConfigLoader(environment: [:]).load(file: try directory.write("config.json", json)).config
        #expect(config.ingestor.maxMessageBytes == 64 << 20)
        let defaults = try ConfigLoader(environment: [:]).load(file: nil).config
        #expect(defaults.ingestor.maxMessageBytes == 1 << 20)
        #expect(defaults.ingestor.maxFutureSeconds == 300)
    }

    @Test("a huge value from the environment is rejected too")
    func environment() throws {
        let error = #expect(throws: ConfigError.self) {
            _ = try ConfigLoader(environment: ["TICKWIRE_UPDATE_INTERVAL": "1e300"]).load(file: nil)
        }
        #expect(error?.path == "update_interval")
    }
}
