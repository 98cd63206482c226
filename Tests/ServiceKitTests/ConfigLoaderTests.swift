import Foundation
import ServiceKit
import Testing
import TestSupport

/// The seed project's `config/live_trading_config.json`, verbatim from
/// real-time-market-data-integration.md.
let seedConfigJSON = """
    {
        "provider": "alphavantage",
        "api_key": "YOUR_API_KEY_HERE",
        "tickers": ["AAPL", "GOOGL", "MSFT", "AMZN", "META"],
        "update_interval": 60,
        "signal_threshold": 0.7,
        "window_size": 100,
        "ensemble_method": "dynamic_ensemble",
        "notifications": {
            "enabled": true,
            "throttle_period": 300,
            "email": {
                "enabled": true,
                "smtp_server": "smtp.gmail.com",
                "smtp_port": 587,
                "username": "your-email@gmail.com",
                "password": "your-app-password",
                "from_email": "your-email@gmail.com"
            },
            "sms": {
                "enabled": false
            }
        },
        "notification_recipients": [
            "recipient-email@example.com"
        ],
        "market_hours": {
            "timezone": "America/New_York",
            "include_extended_hours": false
        }
    }
    """

/// Loads `json` from a temporary file with `environment`; returns the loader's result.
func load(
    _ json: String,
    environment: [String: String] = [:],
    overrides: ConfigOverrides = .init()
) throws -> (config: TickwireConfig, warnings: [String], file: String) {
    let directory = try TemporaryDirectory("tickwire-config")
    let file = try directory.write("config.json", json)
    let (config, warnings) = try ConfigLoader(environment: environment).load(file: file, overrides: overrides)
    return (config, warnings, file)
}

/// The ConfigError loading `json` throws (nil, with a recorded issue, if it loads).
func loadError(
    _ json: String,
    environment: [String: String] = [:],
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> (error: ConfigError, file: String)? {
    let directory = try TemporaryDirectory("tickwire-config")
    let file = try directory.write("config.json", json)
    let error = #expect(throws: ConfigError.self, sourceLocation: sourceLocation) {
        _ = try ConfigLoader(environment: environment).load(file: file)
    }
    return error.map { ($0, file) }
}

@Suite("ConfigLoader: layers, paths and substitution")
struct ConfigLoaderTests {
    @Test("the seed's live_trading_config.json loads unchanged, with Tickwire's sections at their defaults")
    func seedConfigLoads() throws {
        let (config, warnings, _) = try load(seedConfigJSON)
        #expect(warnings == [])

        var expected = TickwireConfig()
        expected.provider = "alphavantage"
        expected.apiKey = Secret("YOUR_API_KEY_HERE")
        expected.tickers = ["AAPL", "GOOGL", "MSFT", "AMZN", "META"]
        expected.updateInterval = 60
        expected.signalThreshold = 0.7
        expected.windowSize = 100
        expected.ensembleMethod = "dynamic_ensemble"
        expected.notifications.enabled = true
        expected.notifications.throttlePeriod = 300
        expected.notifications.email.enabled = true
        expected.notifications.email.smtpServer = "smtp.gmail.com"
        expected.notifications.email.smtpPort = 587
        expected.notifications.email.username = "your-email@gmail.com"
        expected.notifications.email.password = Secret("your-app-password")
        expected.notifications.email.fromEmail = "your-email@gmail.com"
        expected.notifications.sms.enabled = false
        expected.notificationRecipients = ["recipient-email@example.com"]
        expected.marketHours.timezone = "America/New_York"
        expected.marketHours.includeExtendedHours = false
        #expect(config == expected)

        // Spot checks that do not rely on Equatable.
        #expect(config.apiKey?.value == "YOUR_API_KEY_HERE")
        #expect(config.notifications.email.password?.value == "your-app-password")
        #expect(config.bus.publishEndpoint == "tcp://127.0.0.1:7750")
        #expect(config.bus.subscribeEndpoint == "tcp://127.0.0.1:7751")
        #expect(config.logging.level == "info")
        #expect(config.simulator.seed == 42)
        #expect(config.stack.services == [TickwireConfig.StackService(name: "ingestor")])
    }

    @Test("no file, or an empty object, gives the defaults")
    func defaults() throws {
        let (fromNothing, warnings) = try ConfigLoader(environment: [:]).load(file: nil)
        #expect(fromNothing == TickwireConfig())
        #expect(warnings == [])
        #expect(try load("{}").config == TickwireConfig())
        #expect(TickwireConfig().provider == "simulated")
        #expect(TickwireConfig().tickers == ["AAPL", "MSFT", "GOOGL", "AMZN", "META"])
    }

    @Test("precedence: defaults < file < environment < overrides")
    func precedence() throws {
        let file = """
            {"provider": "polygon", "tickers": ["IBM", "BRK.B"],
             "logging": {"level": "debug", "format": "json"},
             "bus": {"publish_endpoint": "tcp://10.0.0.1:7750"}}
            """
        let fromFile = try load(file).config
        #expect(fromFile.provider == "polygon")
        #expect(fromFile.tickers == ["IBM", "BRK.B"])
        #expect(fromFile.logging.level == "debug")
        #expect(fromFile.logging.format == "json")
        #expect(fromFile.logging.directory == "logs")  // untouched keys keep their defaults
        #expect(fromFile.bus.publishEndpoint == "tcp://10.0.0.1:7750")

        let environment = [
            "TICKWIRE_PROVIDER": "finnhub",
            "TICKWIRE_TICKERS": " ORCL, NVDA ,,RDS-A ",
            "TICKWIRE_LOG_LEVEL": "warning",
            "TICKWIRE_PUBLISH_ENDPOINT": "tcp://bus-proxy:7750",
            "TICKWIRE_LOG_FORMAT": "",  // empty: ignored
        ]
        let fromEnvironment = try load(file, environment: environment).config
        #expect(fromEnvironment.provider == "finnhub")
        #expect(fromEnvironment.tickers == ["ORCL", "NVDA", "RDS-A"])
        #expect(fromEnvironment.logging.level == "warning")
        #expect(fromEnvironment.logging.format == "json")  // from the file
        #expect(fromEnvironment.bus.publishEndpoint == "tcp://bus-proxy:7750")

        var overrides = ConfigOverrides()
        overrides.provider = "alpaca"
        overrides.tickers = ["TSLA"]
        overrides.logLevel = "error"
        overrides.apiKey = "from-the-command-line"
        let fromOverrides = try load(file, environment: environment, overrides: overrides).config
        #expect(fromOverrides.provider == "alpaca")
        #expect(fromOverrides.tickers == ["TSLA"])
        #expect(fromOverrides.logging.level == "error")
        #expect(fromOverrides.apiKey == Secret("from-the-command-line"))
        #expect(fromOverrides.bus.publishEndpoint == "tcp://bus-proxy:7750")  // environment still applies
    }

    @Test("the environment applies without a file too")
    func environmentWithoutFile() throws {
        let loader = ConfigLoader(environment: ["TICKWIRE_PROVIDER": "replay", "TICKWIRE_API_KEY": "k"])
        let (config, _) = try loader.load(file: nil)
        #expect(config.provider == "replay")
        #expect(config.apiKey?.value == "k")
        #expect(ConfigLoader.environmentKeys.map(\.variable).contains("TICKWIRE_SUBSCRIBE_ENDPOINT"))
    }

    @Test(
        "a value of the wrong type names its JSON path",
        arguments: [
            (#"{"window_size": "big"}"#, "window_size", "expected an integer, found another type"),
            (#"{"notifications": {"email": {"smtp_port": "587"}}}"#, "notifications.email.smtp_port", "expected an integer, found another type"),
            (#"{"tickers": ["AAPL", 5]}"#, "tickers[1]", "expected a string, found another type"),
            (#"{"tickers": "AAPL"}"#, "tickers", "expected a list, found another type"),
            (#"{"notifications": {"enabled": "yes"}}"#, "notifications.enabled", "expected true or false, found another type"),
            (#"{"signal_threshold": "high"}"#, "signal_threshold", "expected a number, found another type"),
            (#"{"market_hours": []}"#, "market_hours", "expected an object, found another type"),
            (#"{"api_key": 12345}"#, "api_key", "expected a string, found another type"),
            (#"{"window_size": null}"#, "window_size", "expected an integer, found null"),
            (#"{"stack": {"services": [{"name": "ingestor"}, {"args": []}]}}"#, "stack.services[1].name", "required key is missing"),
        ]
    )
    func wrongType(json: String, path: String, message: String) throws {
        let (error, file) = try #require(try loadError(json))
        #expect(error.path == path)
        #expect(error.message == message)
        #expect(error.file == file)
        #expect(error.description == "config error in \(file) at '\(path)': \(message)")
    }

    @Test(
        "values that decode but make no sense are rejected with their path",
        arguments: [
            (#"{"provider": "yahoo"}"#, "provider"),
            (#"{"tickers": []}"#, "tickers"),
            (#"{"tickers": ["AAPL", "AA PL"]}"#, "tickers[1]"),
            (#"{"tickers": ["AAPL", "MSFT", "AAPL"]}"#, "tickers"),
            (#"{"update_interval": 0}"#, "update_interval"),
            (#"{"signal_threshold": 1.5}"#, "signal_threshold"),
            (#"{"window_size": 0}"#, "window_size"),
            (#"{"ensemble_method": "coin_flip"}"#, "ensemble_method"),
            (#"{"notifications": {"throttle_period": -1}}"#, "notifications.throttle_period"),
            (#"{"notifications": {"email": {"smtp_port": 70000}}}"#, "notifications.email.smtp_port"),
            (#"{"logging": {"level": "loud"}}"#, "logging.level"),
            (#"{"logging": {"format": "xml"}}"#, "logging.format"),
            (#"{"bus": {"publish_endpoint": "localhost:7750"}}"#, "bus.publish_endpoint"),
            (#"{"bus": {"proxy_xpub_bind": "tcp://127.0.0.1"}}"#, "bus.proxy_xpub_bind"),
            (#"{"simulator": {"speed": 0}}"#, "simulator.speed"),
            (#"{"stack": {"services": [{"name": ""}]}}"#, "stack.services[0].name"),
            (#"{"bus": {"max_message_bytes": 10}}"#, "bus.max_message_bytes"),
            (#"{"bus": {"max_message_bytes": 1e12}}"#, "bus.max_message_bytes"),
            (#"{"bus": {"send_high_water_mark": -1}}"#, "bus.send_high_water_mark"),
            (#"{"bus": {"validation": {"max_event_age_seconds": -1}}}"#, "bus.validation.max_event_age_seconds"),
            (#"{"bus": {"validation": {"max_clock_skew_seconds": 1e300}}}"#, "bus.validation.max_clock_skew_seconds"),
            (#"{"heartbeat": {"interval_seconds": 1e300}}"#, "heartbeat.interval_seconds"),
            (#"{"scheduler": {"status_interval_seconds": 1e9}}"#, "scheduler.status_interval_seconds"),
            (#"{"scheduler": {"simulated_speed": 1e300}}"#, "scheduler.simulated_speed"),
            (#"{"scheduler": {"simulated_start": "9999-01-01T00:00:00Z"}}"#, "scheduler.simulated_start"),
            (#"{"market_hours": {"special_closures": [{"date": "2026-02-31"}]}}"#, "market_hours.special_closures[0].date"),
            (#"{"market_hours": {"early_closes": [{"date": "2027-02-29"}]}}"#, "market_hours.early_closes[0].date"),
        ]
    )
    func invalidValues(json: String, path: String) throws {
        let (error, file) = try #require(try loadError(json))
        #expect(error.path == path)
        #expect(error.file == file)
    }

    @Test("an unknown provider says which ones are known")
    func unknownProvider() throws {
        let (error, _) = try #require(try loadError(#"{"provider": "yahoo"}"#))
        #expect(error.path == "provider")
        #expect(
            error.message
                == "unknown provider 'yahoo' (known: alphavantage, polygon, massive, alpaca, finnhub, websocket, replay, simulated)"
        )
        // The environment is validated the same way.
        let fromEnvironment = #expect(throws: ConfigError.self) {
            _ = try ConfigLoader(environment: ["TICKWIRE_PROVIDER": "yahoo"]).load(file: nil)
        }
        #expect(fromEnvironment?.path == "provider")
        #expect(fromEnvironment?.file == nil)
    }

    @Test("a missing file is an error naming the file")
    func missingFile() throws {
        let directory = try TemporaryDirectory()
        let missing = directory.file("nope.json")
        let error = try #require(throws: ConfigError.self) { _ = try ConfigLoader(environment: [:]).load(file: missing) }
        #expect(error == ConfigError(path: "", message: "file not found", file: missing))
        #expect(error.description == "config error in \(missing): file not found")
    }

    @Test("invalid JSON and a non-object top level are errors for the file")
    func invalidJSON() throws {
        let (syntax, file) = try #require(try loadError(#"{"provider": "polygon",, ]"#))
        #expect(syntax.path == "")
        #expect(syntax.file == file)
        #expect(syntax.message.hasPrefix("not valid JSON: "))

        let (array, _) = try #require(try loadError(#"["AAPL"]"#))
        #expect(array.message == "the top level must be a JSON object")
        #expect(array.path == "")
    }

    @Test("${VAR} is replaced from the environment; unset is an error at the field's path")
    func environmentSubstitution() throws {
        let json = #"{"api_key": "${AV_KEY}", "notifications": {"email": {"password": "pre-${SMTP}-post"}}}"#
        let config = try load(json, environment: ["AV_KEY": "secret-1", "SMTP": "pw"]).config
        #expect(config.apiKey?.value == "secret-1")
        #expect(config.notifications.email.password?.value == "pre-pw-post")

        let (missing, file) = try #require(try loadError(json, environment: ["SMTP": "pw"]))
        #expect(missing == ConfigError(path: "api_key", message: "environment variable AV_KEY is not set", file: file))
        // Empty counts as unset.
        let (empty, _) = try #require(try loadError(json, environment: ["AV_KEY": "k", "SMTP": ""]))
        #expect(empty.path == "notifications.email.password")
        #expect(empty.message == "environment variable SMTP is not set")
        // Inside a list the path has the index.
        let (inList, _) = try #require(try loadError(#"{"tickers": ["AAPL", "${SECOND}"]}"#))
        #expect(inList.path == "tickers[1]")
        // An unclosed reference is an error too.
        let (unclosed, _) = try #require(try loadError(#"{"api_key": "${AV_KEY"}"#, environment: ["AV_KEY": "k"]))
        #expect(unclosed.path == "api_key")
        #expect(unclosed.message == #"unclosed '${' in "${AV_KEY""#)
    }

    @Test("${VAR:-default} falls back when the variable is unset or empty")
    func defaultSubstitution() throws {
        let json = #"{"provider": "${PROVIDER:-simulated}", "logging": {"directory": "${LOGS:-}"}}"#
        let unset = try load(json).config
        #expect(unset.provider == "simulated")
        #expect(unset.logging.directory == "")
        let set = try load(json, environment: ["PROVIDER": "polygon", "LOGS": "/var/log/tw"]).config
        #expect(set.provider == "polygon")
        #expect(set.logging.directory == "/var/log/tw")
        let empty = try load(json, environment: ["PROVIDER": ""]).config
        #expect(empty.provider == "simulated")
    }

    @Test("${file:PATH} reads a secret file, trimmed; an unreadable one is an error at the path")
    func fileSubstitution() throws {
        let directory = try TemporaryDirectory()
        let secret = try directory.write("api_key.txt", "  s3cr3t-from-file\n")
        let json = "{\"api_key\": \"${file:\(secret)}\"}"
        #expect(try load(json).config.apiKey?.value == "s3cr3t-from-file")

        let missing = directory.file("absent.txt")
        let (error, _) = try #require(try loadError("{\"api_key\": \"${file:\(missing)}\"}"))
        #expect(error.path == "api_key")
        #expect(error.message == "secret file \(missing) cannot be read")
    }

    @Test("unknown keys are warnings naming the key path and file, not errors")
    func unknownKeyWarnings() throws {
        let json = """
            {"provider": "simulated", "foo": 1,
             "notifications": {"emial": {"smtp_port": 25}, "email": {"smtp_prot": 25}},
             "simulator": {"start_prices": {"AAPL": 190.5}},
             "stack": {"services": [{"name": "ingestor", "whatever": true}]}}
            """
        let (config, warnings, file) = try load(json)
        #expect(
            warnings == [
                "unknown config key 'foo' in \(file) (ignored)",
                "unknown config key 'notifications.email.smtp_prot' in \(file) (ignored)",
                "unknown config key 'notifications.emial' in \(file) (ignored)",
            ])
        #expect(config.notifications.email.smtpPort == 587)
        #expect(config.simulator.startPrices == ["AAPL": 190.5])
    }

    @Test("start_prices keeps symbols with underscores as written")
    func startPriceSymbolsKeepTheirSpelling() throws {
        let config = try load(#"{"simulator": {"start_prices": {"BF_B": 45.5, "BRK.B": 410, "aB_c": 1}}}"#).config
        #expect(config.simulator.startPrices == ["BF_B": 45.5, "BRK.B": 410, "aB_c": 1])
    }

    @Test("a wrong type inside start_prices names the symbol as written")
    func startPriceErrorPath() throws {
        let (error, _) = try #require(try loadError(#"{"simulator": {"start_prices": {"AAPL": "cheap"}}}"#))
        #expect(error.message == "expected a number, found another type")
        #expect(error.path == "simulator.start_prices.AAPL")
    }

    @Test("a seed above 2^53 survives loading unchanged")
    func largeSeed() throws {
        let config = try load(#"{"simulator": {"seed": 9007199254740993}}"#).config
        #expect(config.simulator.seed == 9_007_199_254_740_993)
    }
}

@Suite("Secret")
struct SecretTests {
    @Test("prints <redacted> in descriptions, string interpolation and dumps")
    func redaction() throws {
        let secret = Secret("hunter2")
        #expect(secret.value == "hunter2")
        #expect(String(describing: secret) == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        #expect("\(secret)" == "<redacted>")
        #expect(Mirror(reflecting: secret).children.isEmpty)
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("hunter2"))
        #expect(dumped.contains("<redacted>"))
        #expect(!secret.isEmpty)
        #expect(Secret("").isEmpty)
    }

    @Test("a whole config with secrets never shows them when printed or dumped")
    func configRedaction() throws {
        let (config, _, _) = try load(seedConfigJSON)
        var dumped = ""
        dump(config, to: &dumped)
        let printed = String(describing: config)
        let reflected = String(reflecting: config)
        for text in [dumped, printed, reflected] {
            #expect(!text.contains("YOUR_API_KEY_HERE"))
            #expect(!text.contains("your-app-password"))
            #expect(text.contains("<redacted>"))
        }
        // Encoding (e.g. writing the config back) keeps the value.
        let encoded = try JSONEncoder().encode(Secret("hunter2"))
        #expect(String(decoding: encoded, as: UTF8.self) == #""hunter2""#)
    }
}

@Suite("Config keys that are optional")
struct OptionalConfigKeysTests {
    /// The JSON paths of every optional field of `value` (nil in the defaults, so absent from
    /// the encoded default tree that unknown keys are checked against).
    static func optionalPaths(of value: Any, path: String = "") -> [String] {
        var paths: [String] = []
        for child in Mirror(reflecting: value).children {
            guard let label = child.label else { continue }
            let key = label.reduce(into: "") { text, character in
                if character.isUppercase { text += "_" + character.lowercased() } else { text.append(character) }
            }
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            let mirror = Mirror(reflecting: child.value)
            if mirror.displayStyle == .optional {
                paths.append(childPath)
            } else if mirror.displayStyle == .struct, !(child.value is Secret) {
                paths += optionalPaths(of: child.value, path: childPath)
            }
        }
        return paths
    }

    @Test("every optional field is a known key, so setting it never warns 'unknown config key'")
    func everyOptionalFieldIsKnown() throws {
        let paths = Self.optionalPaths(of: TickwireConfig())
        #expect(paths.contains("journal.postgres_url"))
        #expect(Set(paths) == ConfigLoader.optionalKeys, "optional fields vs ConfigLoader.optionalKeys")
        // And loading a file that sets each one gives no warning.
        var tree: [String: Any] = [:]
        for path in paths {
            let parts = path.split(separator: ".").map(String.init)
            func set(_ object: inout [String: Any], _ rest: ArraySlice<String>) {
                guard let first = rest.first else { return }
                if rest.count == 1 {
                    object[first] = first == "postgres_url" ? "postgres://u:p@127.0.0.1:5432/j" : "x"
                } else {
                    var inner = object[first] as? [String: Any] ?? [:]
                    set(&inner, rest.dropFirst())
                    object[first] = inner
                }
            }
            set(&tree, parts[...])
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("optional-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: tree).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let loaded = try ConfigLoader(environment: [:]).load(file: file.path)
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
    }
}
