import Contracts
import Foundation

/// A configuration problem: where (the JSON path of the field) and what is wrong.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// JSON path such as `notifications.email.smtp_port` or `tickers[2]`; empty for the file.
    public var path: String
    public var message: String
    /// The file involved, if any.
    public var file: String?

    public init(path: String, message: String, file: String? = nil) {
        self.path = path
        self.message = message
        self.file = file
    }

    public var description: String {
        var text = "config error"
        if let file { text += " in \(file)" }
        if !path.isEmpty { text += " at '\(path)'" }
        return text + ": " + message
    }
}

/// Values from the command line that override config (nil = not given).
public struct ConfigOverrides: Sendable, Equatable {
    public var provider: String?
    public var apiKey: String?
    public var tickers: [String]?
    public var logLevel: String?
    public var logFormat: String?
    public var logDirectory: String?
    public var publishEndpoint: String?
    public var subscribeEndpoint: String?
    public var providerUrl: String?
    public init() {}
}

/// Reads and validates a ``TickwireConfig`` with precedence defaults < file < environment <
/// command line. Each layer is a JSON tree merged over the one before (objects merge key by
/// key; arrays and values replace), then decoded once, so every error names its JSON path.
public struct ConfigLoader: Sendable {
    /// Environment variables that override config keys (after the file).
    public static let environmentKeys: [(variable: String, path: [String], isList: Bool)] = [
        ("TICKWIRE_PROVIDER", ["provider"], false),
        ("TICKWIRE_API_KEY", ["api_key"], false),
        ("TICKWIRE_API_SECRET", ["api_secret"], false),
        ("TICKWIRE_TICKERS", ["tickers"], true),
        ("TICKWIRE_LOG_LEVEL", ["logging", "level"], false),
        ("TICKWIRE_LOG_FORMAT", ["logging", "format"], false),
        ("TICKWIRE_LOG_DIR", ["logging", "directory"], false),
        ("TICKWIRE_PUBLISH_ENDPOINT", ["bus", "publish_endpoint"], false),
        ("TICKWIRE_SUBSCRIBE_ENDPOINT", ["bus", "subscribe_endpoint"], false),
        ("TICKWIRE_PROXY_XSUB_BIND", ["bus", "proxy_xsub_bind"], false),
        ("TICKWIRE_PROXY_XPUB_BIND", ["bus", "proxy_xpub_bind"], false),
        ("TICKWIRE_WS_URL", ["ws_url"], false),
        ("TICKWIRE_PROVIDER_URL", ["provider_url"], false),
        ("TICKWIRE_HISTORY_BIND", ["ingestor", "history_bind"], false),
        ("TICKWIRE_HISTORY_ENDPOINTS", ["processor", "history_endpoints"], true),
        ("TICKWIRE_SESSION_DEFAULT", ["ingestor", "session_default"], false),
    ]

    /// Environment variables that override numeric config keys.
    public static let numericEnvironmentKeys: [(variable: String, path: [String])] = [
        ("TICKWIRE_UPDATE_INTERVAL", ["update_interval"]),
        ("TICKWIRE_RATE_LIMIT_PER_MINUTE", ["rate_limit", "requests_per_minute"]),
        ("TICKWIRE_RATE_LIMIT_PER_DAY", ["rate_limit", "requests_per_day"]),
    ]

    public var environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// Loads `file` (when given; a missing file is an error), applies the environment and
    /// `overrides`, and validates. Returns the config and warnings (e.g. unknown keys).
    public func load(
        file: String?,
        overrides: ConfigOverrides = .init()
    ) throws(ConfigError) -> (config: TickwireConfig, warnings: [String]) {
        var tree = try Self.defaultTree()
        var warnings: [String] = []
        if let file {
            let fileTree = try readFile(file)
            warnings += Self.unknownKeys(in: fileTree, known: tree, path: "").map {
                "unknown config key '\($0)' in \(file) (ignored)"
            }
            tree = Self.merge(tree, fileTree)
        }
        for (variable, path, isList) in Self.environmentKeys {
            guard let value = environment[variable], !value.isEmpty else { continue }
            tree = Self.setting(tree, path: path, to: isList ? Self.list(value) : .string(value))
        }
        for (variable, path) in Self.numericEnvironmentKeys {
            guard let value = environment[variable], !value.isEmpty else { continue }
            guard let number = Double(value.trimmingCharacters(in: .whitespaces)), number.isFinite else {
                throw ConfigError(
                    path: path.joined(separator: "."), message: "\(variable)='\(value)' is not a number")
            }
            tree = Self.setting(tree, path: path, to: .number(number))
        }
        tree = Self.apply(overrides, to: tree)
        let config = try decode(tree, file: file)
        try Self.validate(config, file: file)
        return (config, warnings)
    }

    // MARK: Layers

    private func readFile(_ file: String) throws(ConfigError) -> JSONValue {
        guard FileManager.default.fileExists(atPath: file) else {
            throw ConfigError(path: "", message: "file not found", file: file)
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError(path: "", message: "file cannot be read", file: file)
        }
        let tree: JSONValue
        do {
            tree = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ConfigError(path: "", message: "not valid JSON: \(Self.jsonSyntaxMessage(error))", file: file)
        }
        guard case .object = tree else {
            throw ConfigError(path: "", message: "the top level must be a JSON object", file: file)
        }
        return try substitute(tree, path: "", file: file)
    }

    /// Replaces `${VAR}`, `${VAR:-default}` and `${file:PATH}` inside every string.
    func substitute(_ value: JSONValue, path: String, file: String?) throws(ConfigError) -> JSONValue {
        switch value {
        case .string(let text):
            return .string(try expand(text, path: path, file: file))
        case .array(let items):
            var result: [JSONValue] = []
            for (index, item) in items.enumerated() {
                result.append(try substitute(item, path: "\(path)[\(index)]", file: file))
            }
            return .array(result)
        case .object(let object):
            var result: [String: JSONValue] = [:]
            for (key, item) in object {
                result[key] = try substitute(item, path: path.isEmpty ? key : "\(path).\(key)", file: file)
            }
            return .object(result)
        default:
            return value
        }
    }

    private func expand(_ text: String, path: String, file: String?) throws(ConfigError) -> String {
        guard text.contains("${") else { return text }
        var output = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            output += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw ConfigError(path: path, message: "unclosed '${' in \"\(text)\"", file: file)
            }
            let reference = String(rest[start.upperBound..<end])
            output += try resolve(reference, path: path, file: file)
            rest = rest[rest.index(after: end)...]
        }
        return output + rest
    }

    private func resolve(_ reference: String, path: String, file: String?) throws(ConfigError) -> String {
        if reference.hasPrefix("file:") {
            let secretPath = String(reference.dropFirst(5))
            guard let data = FileManager.default.contents(atPath: secretPath) else {
                throw ConfigError(path: path, message: "secret file \(secretPath) cannot be read", file: file)
            }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var name = reference
        var fallback: String?
        if let separator = reference.range(of: ":-") {
            name = String(reference[..<separator.lowerBound])
            fallback = String(reference[separator.upperBound...])
        }
        if let value = environment[name], !value.isEmpty { return value }
        if let fallback { return fallback }
        throw ConfigError(path: path, message: "environment variable \(name) is not set", file: file)
    }

    static func list(_ text: String) -> JSONValue {
        .array(
            text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) }
                .filter { $0 != .string("") })
    }

    static func apply(_ overrides: ConfigOverrides, to tree: JSONValue) -> JSONValue {
        var tree = tree
        let values: [([String], JSONValue?)] = [
            (["provider"], overrides.provider.map(JSONValue.string)),
            (["api_key"], overrides.apiKey.map(JSONValue.string)),
            (["tickers"], overrides.tickers.map { .array($0.map(JSONValue.string)) }),
            (["logging", "level"], overrides.logLevel.map(JSONValue.string)),
            (["logging", "format"], overrides.logFormat.map(JSONValue.string)),
            (["logging", "directory"], overrides.logDirectory.map(JSONValue.string)),
            (["bus", "publish_endpoint"], overrides.publishEndpoint.map(JSONValue.string)),
            (["bus", "subscribe_endpoint"], overrides.subscribeEndpoint.map(JSONValue.string)),
            (["provider_url"], overrides.providerUrl.map(JSONValue.string)),
        ]
        for (path, value) in values {
            if let value { tree = setting(tree, path: path, to: value) }
        }
        return tree
    }

    static func setting(_ tree: JSONValue, path: [String], to value: JSONValue) -> JSONValue {
        guard let first = path.first else { return value }
        var tree = tree
        let child = tree[first] ?? .object([:])
        tree[first] = setting(child, path: Array(path.dropFirst()), to: value)
        return tree
    }

    static func merge(_ base: JSONValue, _ top: JSONValue) -> JSONValue {
        guard case .object(var merged) = base, case .object(let overlay) = top else { return top }
        for (key, value) in overlay {
            merged[key] = merged[key].map { merge($0, value) } ?? value
        }
        return .object(merged)
    }

    /// Keys of `tree` that the defaults do not have. Free-form maps (empty in the defaults)
    /// and array items are not checked.
    static func unknownKeys(in tree: JSONValue, known: JSONValue, path: String) -> [String] {
        guard case .object(let object) = tree, case .object(let knownObject) = known, !knownObject.isEmpty else {
            return []
        }
        var unknown: [String] = []
        for key in object.keys.sorted() {
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            if let knownChild = knownObject[key] {
                unknown += unknownKeys(in: object[key]!, known: knownChild, path: childPath)
            } else if !optionalKeys.contains(childPath) {
                unknown.append(childPath)
            }
        }
        return unknown
    }

    /// Keys that are valid but absent from the encoded defaults (optional values).
    static let optionalKeys: Set<String> = ["api_key", "api_secret", "notifications.email.password"]

    // MARK: Decoding

    static func defaultTree() throws(ConfigError) -> JSONValue {
        do {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            let data = try encoder.encode(TickwireConfig())
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ConfigError(path: "", message: "internal: cannot encode defaults: \(error)")
        }
    }

    private func decode(_ tree: JSONValue, file: String?) throws(ConfigError) -> TickwireConfig {
        do {
            let data = try JSONEncoder().encode(tree)
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            return try decoder.decode(TickwireConfig.self, from: data)
        } catch let error as DecodingError {
            throw Self.describe(error, file: file)
        } catch {
            throw ConfigError(path: "", message: "\(error)", file: file)
        }
    }

    static func describe(_ error: DecodingError, file: String?) -> ConfigError {
        func pathString(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + snakeCase(key.stringValue)
                }
            }
            return text
        }
        switch error {
        case .typeMismatch(let type, let context):
            return ConfigError(
                path: pathString(context.codingPath), message: "expected \(typeName(type)), found another type",
                file: file)
        case .valueNotFound(let type, let context):
            return ConfigError(
                path: pathString(context.codingPath), message: "expected \(typeName(type)), found null", file: file)
        case .keyNotFound(let key, let context):
            let path = pathString(context.codingPath + [key])
            return ConfigError(path: path, message: "required key is missing", file: file)
        case .dataCorrupted(let context):
            return ConfigError(path: pathString(context.codingPath), message: context.debugDescription, file: file)
        @unknown default:
            return ConfigError(path: "", message: "\(error)", file: file)
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type, is Secret.Type: "a string"
        case is Int.Type, is UInt64.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        default:
            String(describing: type).hasPrefix("Array") ? "a list" : "an object"
        }
    }

    /// The JSON spelling of a decoded key: property names go back to snake_case; keys of
    /// free-form maps (symbols such as `AAPL`, which start upper-case) stay as written.
    static func snakeCase(_ key: String) -> String {
        guard let first = key.first, first.isLowercase else { return key }
        var result = ""
        for character in key {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }

    static func jsonSyntaxMessage(_ error: any Error) -> String {
        let nsError = error as NSError
        if let detail = nsError.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        if case .dataCorrupted(let context) = error as? DecodingError {
            return context.underlyingError.map { "\($0)" } ?? context.debugDescription
        }
        return "\(error)"
    }

    // MARK: Validation

    /// Checks values that decode but make no sense.
    static func validate(_ config: TickwireConfig, file: String?) throws(ConfigError) {
        func fail(_ path: String, _ message: String) -> ConfigError {
            ConfigError(path: path, message: message, file: file)
        }
        guard ProviderName.all.contains(config.provider) else {
            throw fail(
                "provider",
                "unknown provider '\(config.provider)' (known: \(ProviderName.all.joined(separator: ", ")))")
        }
        guard !config.tickers.isEmpty else { throw fail("tickers", "at least one ticker is needed") }
        for (index, ticker) in config.tickers.enumerated() {
            do {
                try Topic.validate(key: ticker)
            } catch {
                throw fail("tickers[\(index)]", "'\(ticker)' is not a valid symbol: \(error)")
            }
        }
        if Set(config.tickers).count != config.tickers.count {
            throw fail("tickers", "lists a symbol twice")
        }
        guard config.updateInterval > 0 else { throw fail("update_interval", "must be more than 0 seconds") }
        guard (0...1).contains(config.signalThreshold) else {
            throw fail("signal_threshold", "must be between 0 and 1")
        }
        guard config.windowSize >= 1 else { throw fail("window_size", "must be at least 1") }
        guard EnsembleMethodName.all.contains(config.ensembleMethod) else {
            throw fail(
                "ensemble_method",
                "unknown method '\(config.ensembleMethod)' (known: \(EnsembleMethodName.all.joined(separator: ", ")))")
        }
        guard config.notifications.throttlePeriod >= 0 else {
            throw fail("notifications.throttle_period", "must not be negative")
        }
        guard (1...65_535).contains(config.notifications.email.smtpPort) else {
            throw fail("notifications.email.smtp_port", "must be a port number, 1-65535")
        }
        guard LogLevelName.parse(config.logging.level) != nil else {
            throw fail(
                "logging.level",
                "unknown level '\(config.logging.level)' (known: \(LogLevelName.all.joined(separator: ", ")))")
        }
        guard ["text", "json"].contains(config.logging.format) else {
            throw fail("logging.format", "must be 'text' or 'json'")
        }
        let endpoints = [
            ("bus.publish_endpoint", config.bus.publishEndpoint),
            ("bus.subscribe_endpoint", config.bus.subscribeEndpoint),
            ("bus.proxy_xsub_bind", config.bus.proxyXsubBind),
            ("bus.proxy_xpub_bind", config.bus.proxyXpubBind),
        ]
        for (path, endpoint) in endpoints where !isEndpoint(endpoint) {
            throw fail(path, "'\(endpoint)' is not a ZeroMQ endpoint (tcp://HOST:PORT, ipc://PATH or inproc://NAME)")
        }
        guard config.heartbeat.intervalSeconds > 0 else {
            throw fail("heartbeat.interval_seconds", "must be more than 0")
        }
        guard config.simulator.speed > 0 else { throw fail("simulator.speed", "must be more than 0") }
        guard config.simulator.tradesPerSecond > 0 else {
            throw fail("simulator.trades_per_second", "must be more than 0")
        }
        guard config.simulator.regimeStrength >= 0 else { throw fail("simulator.regime_strength", "must not be negative (0 = a plain random walk)") }
        guard config.simulator.regimeSeconds > 0 else { throw fail("simulator.regime_seconds", "must be more than 0") }
        guard (0...100_000).contains(config.simulator.backfillBars) else {
            throw fail("simulator.backfill_bars", "must be from 0 to 100000")
        }
        guard config.simulator.annualVolatility >= 0 else {
            throw fail("simulator.annual_volatility", "must not be negative")
        }
        guard config.rateLimit.requestsPerMinute > 0 else { throw fail("rate_limit.requests_per_minute", "must be more than 0") }
        guard config.rateLimit.requestsPerDay > 0 else { throw fail("rate_limit.requests_per_day", "must be more than 0") }
        let sessions = ["calendar", "open", "closed"]
        guard sessions.contains(config.ingestor.sessionDefault) else {
            throw fail("ingestor.session_default", "must be one of \(sessions.joined(separator: ", "))")
        }
        guard config.ingestor.feedSilenceSeconds > 0 else { throw fail("ingestor.feed_silence_seconds", "must be more than 0") }
        guard config.ingestor.requestTimeoutSeconds > 0 else {
            throw fail("ingestor.request_timeout_seconds", "must be more than 0")
        }
        guard config.ingestor.reconnectInitialSeconds > 0, config.ingestor.reconnectMaxSeconds >= config.ingestor.reconnectInitialSeconds else {
            throw fail("ingestor.reconnect_max_seconds", "must be at least reconnect_initial_seconds, which must be more than 0")
        }
        guard config.ingestor.circuitFailureThreshold >= 1 else {
            throw fail("ingestor.circuit_failure_threshold", "must be at least 1")
        }
        let alpacaFeeds = ["iex", "sip", "delayed_sip", "test"]
        guard alpacaFeeds.contains(config.providers.alpaca.feed) else {
            throw fail("providers.alpaca.feed", "must be one of \(alpacaFeeds.joined(separator: ", "))")
        }
        guard config.replay.speed >= 0 else { throw fail("replay.speed", "must not be negative (0 = as fast as possible)") }
        if !config.wsUrl.isEmpty && !(config.wsUrl.hasPrefix("ws://") || config.wsUrl.hasPrefix("wss://")) {
            throw fail("ws_url", "must start with ws:// or wss://")
        }
        try validateLogging(config, fail: fail)
        try validateStack(config, fail: fail)
        try validateProcessors(config, fail: fail)
        try validateSchedule(config, fail: fail)
    }

    /// Bounds of `logging.max_file_bytes` (64 KiB to 10 GiB) and `logging.max_files`.
    public static let logFileBytesRange = 65_536...10_737_418_240
    public static let logFilesRange = 1...1_000

    static func validateLogging(_ config: TickwireConfig, fail: (String, String) -> ConfigError) throws(ConfigError) {
        guard logFileBytesRange.contains(config.logging.maxFileBytes) else {
            throw fail("logging.max_file_bytes", "must be from 65536 (64 KiB) to 10737418240 (10 GiB)")
        }
        guard logFilesRange.contains(config.logging.maxFiles) else {
            throw fail("logging.max_files", "must be from 1 to 1000")
        }
    }

    static func validateStack(_ config: TickwireConfig, fail: (String, String) -> ConfigError) throws(ConfigError) {
        guard config.stack.stopTimeoutSeconds > 0, config.stack.stopTimeoutSeconds <= 3_600 else {
            throw fail("stack.stop_timeout_seconds", "must be more than 0 and at most 3600")
        }
        guard config.stack.services.count <= 1_000 else {
            throw fail("stack.services", "must list at most 1000 services")
        }
        for (index, service) in config.stack.services.enumerated() {
            let name = service.name
            guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                throw fail("stack.services[\(index)].name", "must name an executable (a file name, no '/')")
            }
        }
    }

    static func validateSchedule(_ config: TickwireConfig, fail: (String, String) -> ConfigError) throws(ConfigError) {
        func isDate(_ text: String) -> Bool {
            let parts = text.split(separator: "-")
            guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
                let month = Int(parts[1]), let day = Int(parts[2]), Int(parts[0]) != nil
            else { return false }
            return (1...12).contains(month) && (1...31).contains(day)
        }
        guard TimeZone(identifier: config.marketHours.timezone) != nil else {
            throw fail("market_hours.timezone", "unknown time zone '\(config.marketHours.timezone)' (e.g. America/New_York)")
        }
        for (index, closure) in config.marketHours.specialClosures.enumerated() where !isDate(closure.date) {
            throw fail("market_hours.special_closures[\(index)].date", "'\(closure.date)' is not a YYYY-MM-DD date")
        }
        for (index, early) in config.marketHours.earlyCloses.enumerated() {
            guard isDate(early.date) else {
                throw fail("market_hours.early_closes[\(index)].date", "'\(early.date)' is not a YYYY-MM-DD date")
            }
            let parts = early.close.split(separator: ":")
            guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]), (9...16).contains(hour),
                (0...59).contains(minute)
            else {
                throw fail("market_hours.early_closes[\(index)].close", "'\(early.close)' is not a time HH:MM between 09:30 and 16:00")
            }
        }
        let scheduler = config.scheduler
        guard scheduler.statusIntervalSeconds > 0 else { throw fail("scheduler.status_interval_seconds", "must be more than 0") }
        guard scheduler.reportIntervalSeconds > 0 else { throw fail("scheduler.report_interval_seconds", "must be more than 0") }
        guard scheduler.simulatedSpeed > 0 else { throw fail("scheduler.simulated_speed", "must be more than 0") }
        if !scheduler.simulatedStart.isEmpty && ISO8601Instant.parse(scheduler.simulatedStart) == nil {
            throw fail("scheduler.simulated_start", "'\(scheduler.simulatedStart)' is not an ISO 8601 instant with a UTC offset, e.g. 2025-03-14T09:25:00-04:00")
        }
    }

    static func validateProcessors(_ config: TickwireConfig, fail: (String, String) -> ConfigError) throws(ConfigError) {
        if !config.ingestor.historyBind.isEmpty && !isEndpoint(config.ingestor.historyBind) {
            throw fail("ingestor.history_bind", "'\(config.ingestor.historyBind)' is not a ZeroMQ endpoint (or empty to turn it off)")
        }
        guard config.ingestor.historyBars >= 1 else { throw fail("ingestor.history_bars", "must be at least 1") }
        let processor = config.processor
        guard processor.barIntervalSeconds >= 1, processor.barIntervalSeconds == processor.barIntervalSeconds.rounded(),
            processor.barIntervalSeconds <= 86_400
        else {
            throw fail("processor.bar_interval_seconds", "must be a whole number of seconds from 1 to 86400")
        }
        guard processor.lateToleranceSeconds >= 0, processor.lateToleranceSeconds < processor.barIntervalSeconds * 10 else {
            throw fail("processor.late_tolerance_seconds", "must be from 0 to 10 bar intervals")
        }
        guard ["trades", "provider"].contains(processor.barSource) else {
            throw fail("processor.bar_source", "must be 'trades' or 'provider'")
        }
        for (index, endpoint) in processor.historyEndpoints.enumerated() where !isEndpoint(endpoint) {
            throw fail("processor.history_endpoints[\(index)]", "'\(endpoint)' is not a ZeroMQ endpoint")
        }
        guard processor.historyTimeoutSeconds > 0 else { throw fail("processor.history_timeout_seconds", "must be more than 0") }
        guard processor.featureSet == "default" else {
            throw fail("processor.feature_set", "unknown feature set '\(processor.featureSet)' (known: default)")
        }
        var owner: [String: Int] = [:]
        var names: Set<String> = []
        for (index, instance) in config.processors.enumerated() {
            guard !instance.name.isEmpty else { throw fail("processors[\(index)].name", "must not be empty") }
            guard names.insert(instance.name).inserted else {
                throw fail("processors[\(index)].name", "'\(instance.name)' is used twice")
            }
            guard !instance.tickers.isEmpty else { throw fail("processors[\(index)].tickers", "at least one ticker is needed") }
            for (k, ticker) in instance.tickers.enumerated() {
                if let other = owner[ticker] {
                    throw fail(
                        "processors[\(index)].tickers[\(k)]",
                        "'\(ticker)' is already served by processors[\(other)] ('\(config.processors[other].name)'); ticker sets must be disjoint")
                }
                owner[ticker] = index
                do {
                    try Topic.validate(key: ticker)
                } catch {
                    throw fail("processors[\(index)].tickers[\(k)]", "'\(ticker)' is not a valid symbol: \(error)")
                }
            }
        }
    }

    static func isEndpoint(_ text: String) -> Bool {
        for scheme in ["tcp://", "ipc://", "inproc://"] where text.hasPrefix(scheme) {
            let rest = text.dropFirst(scheme.count)
            if scheme == "tcp://" { return rest.contains(":") && !rest.hasSuffix(":") }
            return !rest.isEmpty
        }
        return false
    }
}
