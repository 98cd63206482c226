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
        ("TICKWIRE_BUS_SECURITY", ["bus", "security"], false),
        ("TICKWIRE_KEYS_DIR", ["bus", "keys_directory"], false),
        ("TICKWIRE_JOURNAL_STORE", ["journal", "store"], false),
        ("TICKWIRE_JOURNAL_DIR", ["journal", "directory"], false),
        ("TICKWIRE_JOURNAL_POSTGRES_URL", ["journal", "postgres_url"], false),
        ("TICKWIRE_JOURNAL_BIND", ["journal", "bind"], false),
        ("TICKWIRE_JOURNAL_ENDPOINT", ["journal", "endpoint"], false),
        ("TICKWIRE_POSITIONS_DIR", ["journal", "positions_directory"], false),
        ("TICKWIRE_METRICS_HOST", ["metrics", "host"], false),
        ("TICKWIRE_DASHBOARD_HOST", ["dashboard", "host"], false),
    ]

    /// Environment variables that override numeric config keys.
    public static let numericEnvironmentKeys: [(variable: String, path: [String])] = [
        ("TICKWIRE_UPDATE_INTERVAL", ["update_interval"]),
        ("TICKWIRE_RATE_LIMIT_PER_MINUTE", ["rate_limit", "requests_per_minute"]),
        ("TICKWIRE_RATE_LIMIT_PER_DAY", ["rate_limit", "requests_per_day"]),
        ("TICKWIRE_METRICS_PORT", ["metrics", "port"]),
        ("TICKWIRE_DASHBOARD_PORT", ["dashboard", "port"]),
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
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            if let knownChild = knownObject[key] {
                if !freeFormMaps.contains(childPath) { unknown += unknownKeys(in: value, known: knownChild, path: childPath) }
            } else if !optionalKeys.contains(childPath) {
                unknown.append(childPath)
            }
        }
        return unknown
    }

    /// Maps whose keys are names the user chooses (identities, message kinds), although
    /// their defaults are not empty; their values are validated instead.
    static let freeFormMaps: Set<String> = ["bus.publish_rights", "notifications.priorities", "notifications.routing"]

    /// Keys that are valid but absent from the encoded defaults (optional values); a test
    /// checks it against every optional field of ``TickwireConfig``.
    public static let optionalKeys: Set<String> = [
        "api_key", "api_secret", "notifications.email.password", "notifications.webhook.secret",
        "notifications.telegram.bot_token", "notifications.sms.auth_token", "journal.postgres_url",
    ]

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
        guard config.tickers.count <= 100_000 else { throw fail("tickers", "lists more than 100000 symbols") }
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
        try validateNotifications(config, fail: fail)
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
        try validateBus(config.bus, fail: fail)
        guard config.heartbeat.intervalSeconds >= 0.05, config.heartbeat.intervalSeconds <= 3_600 else {
            throw fail("heartbeat.interval_seconds", "must be from 0.05 to 3600 seconds")
        }
        guard (0...65_000).contains(config.metrics.port) else {
            throw fail("metrics.port", "must be from 0 (off) to 65000 (each service adds its offset, up to 9)")
        }
        for (path, host) in [("metrics.host", config.metrics.host), ("dashboard.host", config.dashboard.host)] {
            guard !host.isEmpty, host.count <= 253,
                host.unicodeScalars.allSatisfy({ $0.isASCII && !$0.properties.isWhitespace && $0 != "/" })
            else {
                throw fail(path, "must be a host name or IP address to bind, e.g. 127.0.0.1 or 0.0.0.0")
            }
        }
        guard (0...65_535).contains(config.dashboard.port) else {
            throw fail("dashboard.port", "must be from 0 (any free port) to 65535")
        }
        try validateIngestor(config, fail: fail)
        try validateLogging(config, fail: fail)
        try validateStack(config, fail: fail)
        try validateProcessors(config, fail: fail)
        try validateSchedule(config, fail: fail)
        try validateModelsAndSignals(config, fail: fail)
        try validateJournal(config.journal, fail: fail)
    }

    /// `journal.*`: a known store with what it needs, endpoints, patterns, and bounded numbers.
    static func validateJournal(_ journal: TickwireConfig.Journal, fail: (String, String) -> ConfigError) throws(ConfigError) {
        switch journal.store {
        case "sqlite":
            guard !journal.directory.isEmpty else { throw fail("journal.directory", "must name a directory") }
        case "postgres":
            let url = journal.postgresUrl?.value ?? ""
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                throw fail("journal.postgres_url", "must be postgres://USER:PASSWORD@HOST:PORT/DATABASE for the postgres store")
            }
        default:
            throw fail("journal.store", "unknown store '\(journal.store)' (known: sqlite, postgres)")
        }
        guard isEndpoint(journal.bind) else { throw fail("journal.bind", "'\(journal.bind)' is not a ZeroMQ endpoint") }
        guard journal.endpoint.isEmpty || isEndpoint(journal.endpoint) else {
            throw fail("journal.endpoint", "'\(journal.endpoint)' is not a ZeroMQ endpoint (or empty for no catch-up)")
        }
        guard !journal.patterns.isEmpty, journal.patterns.count <= 1_000 else {
            throw fail("journal.patterns", "must list from 1 to 1000 topic patterns")
        }
        for (index, pattern) in journal.patterns.enumerated() {
            do { _ = try TopicPattern(pattern) } catch {
                throw fail("journal.patterns[\(index)]", "'\(pattern)' is not a topic pattern: \(error)")
            }
        }
        let bounds: [(String, Double, ClosedRange<Double>)] = [
            ("retention_days", journal.retentionDays, 0.01...36_500),
            ("batch_interval_seconds", journal.batchIntervalSeconds, 0.001...60),
            ("request_timeout_seconds", journal.requestTimeoutSeconds, 0.05...600),
            ("catch_up_max_seconds", journal.catchUpMaxSeconds, 0...(3_650 * 86_400)),
        ]
        for (key, value, range) in bounds where !(value.isFinite && range.contains(value)) {
            throw fail("journal.\(key)", "must be from \(range.lowerBound) to \(range.upperBound)")
        }
        let counts: [(String, Int, ClosedRange<Int>)] = [
            ("batch_messages", journal.batchMessages, 1...1_000_000),
            ("queue_limit", journal.queueLimit, 1...100_000_000),
            ("max_reply_messages", journal.maxReplyMessages, 1...100_000),
            ("gap_alert_messages", journal.gapAlertMessages, 0...Int(Int32.max)),
        ]
        for (key, value, range) in counts where !range.contains(value) {
            throw fail("journal.\(key)", "must be from \(range.lowerBound) to \(range.upperBound)")
        }
        guard journal.maxBytes >= 1 << 20 else { throw fail("journal.max_bytes", "must be at least 1048576 bytes") }
        guard !journal.positionsDirectory.isEmpty else {
            throw fail("journal.positions_directory", "must name a directory")
        }
    }

    /// `models.*` and `signals.*`: every number finite and within a range that keeps the
    /// signal generator's and the trainer's arithmetic (horizons, decays, sizing) sane.
    static func validateModelsAndSignals(_ config: TickwireConfig, fail: (String, String) -> ConfigError) throws(ConfigError) {
        func check(_ value: Double, _ range: ClosedRange<Double>, _ path: String, _ what: String = "") throws(ConfigError) {
            guard value.isFinite, range.contains(value) else {
                throw fail(path, "must be a number from \(range.lowerBound) to \(range.upperBound)\(what)")
            }
        }
        let models = config.models
        guard !models.directory.isEmpty else { throw fail("models.directory", "must not be empty") }
        guard (1...10_000).contains(models.horizon) else { throw fail("models.horizon", "must be from 1 to 10000 bars") }
        try check(models.deadZone, 0...1, "models.dead_zone", " (a log return; 0 = chosen at training time)")
        guard !models.kinds.isEmpty else { throw fail("models.kinds", "at least one model kind is needed") }
        let kinds = ["rf", "gbt", "svm", "logreg"]
        for (index, kind) in models.kinds.enumerated() where !kinds.contains(kind) {
            throw fail("models.kinds[\(index)]", "unknown model kind '\(kind)' (known: \(kinds.joined(separator: ", ")))")
        }
        if Set(models.kinds).count != models.kinds.count { throw fail("models.kinds", "lists a kind twice") }
        for (name, weight) in models.weights.sorted(by: { $0.key < $1.key }) {
            try check(weight, 0...1_000_000, "models.weights.\(name)")
        }
        guard !models.stateFile.isEmpty else { throw fail("models.state_file", "must not be empty") }
        guard models.accuracyDecay.isFinite, models.accuracyDecay > 0, models.accuracyDecay <= 1 else {
            throw fail("models.accuracy_decay", "must be more than 0 and at most 1")
        }
        try check(models.driftThreshold, 0...1, "models.drift_threshold", " (an accuracy difference)")
        guard (1...1_000_000).contains(models.driftMinOutcomes) else {
            throw fail("models.drift_min_outcomes", "must be from 1 to 1000000")
        }
        let signals = config.signals
        try check(signals.cooldownSeconds, 0...604_800, "signals.cooldown_seconds", " (at most a week)")
        guard signals.capital.isFinite, signals.capital > 0, signals.capital <= 1e15 else {
            throw fail("signals.capital", "must be more than 0 and at most 1e15")
        }
        guard signals.riskPerTrade.isFinite, signals.riskPerTrade > 0, signals.riskPerTrade <= 1 else {
            throw fail("signals.risk_per_trade", "must be more than 0 and at most 1 (a fraction of capital)")
        }
        guard signals.atrStopMultiple.isFinite, signals.atrStopMultiple > 0, signals.atrStopMultiple <= 100 else {
            throw fail("signals.atr_stop_multiple", "must be more than 0 and at most 100 ATRs")
        }
        guard signals.maxPositionFraction.isFinite, signals.maxPositionFraction > 0, signals.maxPositionFraction <= 1 else {
            throw fail("signals.max_position_fraction", "must be more than 0 and at most 1 (a fraction of capital)")
        }
    }

    static func validateBus(_ bus: TickwireConfig.BusSettings, fail: (String, String) -> ConfigError) throws(ConfigError) {
        for (path, value) in [("bus.send_high_water_mark", bus.sendHighWaterMark), ("bus.receive_high_water_mark", bus.receiveHighWaterMark)]
        where !(0...10_000_000).contains(value) {
            throw fail(path, "must be from 0 (unlimited) to 10000000 messages")
        }
        guard (1_024...(256 << 20)).contains(bus.maxMessageBytes) else {
            throw fail("bus.max_message_bytes", "must be from 1024 to 268435456 bytes")
        }
        for (identity, kinds) in bus.publishRights.sorted(by: { $0.key < $1.key }) {
            guard KeyStore.isIdentity(identity) else {
                throw fail("bus.publish_rights.\(identity)", "'\(identity)' is not an identity (letters, digits, '-', '_')")
            }
            for (index, kind) in kinds.enumerated() where !Topic.knownKinds.contains(kind) {
                throw fail(
                    "bus.publish_rights.\(identity)[\(index)]",
                    "unknown topic kind '\(kind)' (known: \(Topic.knownKinds.sorted().joined(separator: ", ")))")
            }
        }
        let century = 100 * 365 * 86_400.0
        let validation = bus.validation
        for (key, value) in [
            ("max_event_age_seconds", validation.maxEventAgeSeconds), ("max_event_lead_seconds", validation.maxEventLeadSeconds),
            ("max_publish_age_seconds", validation.maxPublishAgeSeconds), ("max_clock_skew_seconds", validation.maxClockSkewSeconds),
        ] where !(value.isFinite && value >= 0 && value <= century) {
            throw fail("bus.validation.\(key)", "must be from 0 (no bound) to \(Int(century)) seconds (100 years)")
        }
    }

    /// The ingestor's settings (`update_interval`, `rate_limit`, `ws_url`, `ingestor`,
    /// `providers`, `replay`, `simulator`): every number finite and within bounds, so that no
    /// duration or count made from them can overflow.
    static func validateIngestor(_ config: TickwireConfig, fail: (String, String) -> ConfigError) throws(ConfigError) {
        func text(_ bound: Double) -> String {
            bound == bound.rounded() && abs(bound) < 1e15 ? String(Int64(bound)) : "\(bound)"
        }
        /// `value` must be finite and in `range`; `above` excludes the lower bound.
        func check(
            _ path: String, _ value: Double, _ range: ClosedRange<Double>, above: Bool = false, _ note: String = ""
        ) throws(ConfigError) {
            guard value.isFinite, range.contains(value), !above || value > range.lowerBound else {
                let low = (above ? "more than " : "at least ") + text(range.lowerBound)
                throw fail(path, "must be \(low) and at most \(text(range.upperBound))\(note)")
            }
        }
        func check(_ path: String, _ value: Int, _ range: ClosedRange<Int>) throws(ConfigError) {
            guard range.contains(value) else {
                throw fail(path, "must be from \(range.lowerBound) to \(range.upperBound)")
            }
        }
        let day = 86_400.0
        try check("update_interval", config.updateInterval, 0...day, above: true, " seconds")
        try check("rate_limit.requests_per_minute", config.rateLimit.requestsPerMinute, 0.001...1_000_000)
        try check("rate_limit.requests_per_day", config.rateLimit.requestsPerDay, 0.001...1_000_000_000)
        if !config.wsUrl.isEmpty && !(config.wsUrl.hasPrefix("ws://") || config.wsUrl.hasPrefix("wss://")) {
            throw fail("ws_url", "must start with ws:// or wss://")
        }

        let ingestor = config.ingestor
        let sessions = ["calendar", "open", "closed"]
        guard sessions.contains(ingestor.sessionDefault) else {
            throw fail("ingestor.session_default", "must be one of \(sessions.joined(separator: ", "))")
        }
        try check("ingestor.feed_silence_seconds", ingestor.feedSilenceSeconds, 0...day, above: true, " seconds")
        try check("ingestor.request_timeout_seconds", ingestor.requestTimeoutSeconds, 0...600, above: true, " seconds")
        try check(
            "ingestor.reconnect_initial_seconds", ingestor.reconnectInitialSeconds, 0...3_600, above: true, " seconds")
        guard ingestor.reconnectMaxSeconds >= ingestor.reconnectInitialSeconds else {
            throw fail("ingestor.reconnect_max_seconds", "must be at least reconnect_initial_seconds")
        }
        try check("ingestor.reconnect_max_seconds", ingestor.reconnectMaxSeconds, 0...day, above: true, " seconds")
        try check("ingestor.circuit_failure_threshold", ingestor.circuitFailureThreshold, 1...1_000)
        try check("ingestor.circuit_open_seconds", ingestor.circuitOpenSeconds, 0...day, above: true, " seconds")
        try check("ingestor.history_bars", ingestor.historyBars, 1...100_000)
        try check("ingestor.max_message_bytes", ingestor.maxMessageBytes, 1_024...(64 << 20))
        try check("ingestor.max_future_seconds", ingestor.maxFutureSeconds, 0...day, " seconds")
        try check("ingestor.stale_factor", ingestor.staleFactor, 2...1_000)
        try check("ingestor.stale_min_seconds", ingestor.staleMinSeconds, 0...day, above: true, " seconds")

        let alpacaFeeds = ["iex", "sip", "delayed_sip", "test"]
        guard alpacaFeeds.contains(config.providers.alpaca.feed) else {
            throw fail("providers.alpaca.feed", "must be one of \(alpacaFeeds.joined(separator: ", "))")
        }
        try check("replay.speed", config.replay.speed, 0...1_000_000, " (0 = as fast as possible)")

        let simulator = config.simulator
        try check("simulator.speed", simulator.speed, 0...100_000, above: true)
        try check("simulator.trades_per_second", simulator.tradesPerSecond, 0.001...10_000)
        try check("simulator.quotes_per_trade", simulator.quotesPerTrade, 0...100)
        try check("simulator.annual_volatility", simulator.annualVolatility, 0...10)
        for (symbol, price) in simulator.startPrices.sorted(by: { $0.key < $1.key }) {
            try check("simulator.start_prices.\(symbol)", price, 0...100_000_000, above: true)
        }
        try check("simulator.backfill_bars", simulator.backfillBars, 0...100_000)
        try check("simulator.regime_strength", simulator.regimeStrength, 0...100, " (0 = a plain random walk)")
        try check("simulator.regime_seconds", simulator.regimeSeconds, 0...10_000_000, above: true, " seconds")
    }

    /// The `notifications` section and `notification_recipients`: every number finite and
    /// bounded, every name one the notifier knows.
    static func validateNotifications(
        _ config: TickwireConfig, fail: (String, String) -> ConfigError
    ) throws(ConfigError) {
        let settings = config.notifications
        let seconds: [(String, Double, ClosedRange<Double>)] = [
            ("throttle_period", settings.throttlePeriod, 0...604_800),
            ("retry_initial_seconds", settings.retryInitialSeconds, 0.01...3_600),
            ("retry_max_seconds", settings.retryMaxSeconds, 0.01...86_400),
            ("timeout_seconds", settings.timeoutSeconds, 0.1...600),
            ("quiet_after_intervals", settings.quietAfterIntervals, 1...1_000),
            ("retention_days", settings.retentionDays, 0.001...3_650),
        ]
        // NaN is in no range.
        for (key, value, range) in seconds where !range.contains(value) {
            throw fail("notifications.\(key)", "must be from \(range.lowerBound) to \(range.upperBound)")
        }
        guard settings.retryMaxSeconds >= settings.retryInitialSeconds else {
            throw fail("notifications.retry_max_seconds", "must be at least retry_initial_seconds")
        }
        guard (1...1_000).contains(settings.maxAttempts) else {
            throw fail("notifications.max_attempts", "must be from 1 to 1000")
        }
        guard (1...10_000).contains(settings.maxPerMinute) else {
            throw fail("notifications.max_per_minute", "must be from 1 to 10000")
        }
        let kinds: Set = [
            "signal", "alert.critical", "alert.error", "alert.warning", "alert.info", "status.started",
            "status.stopped", "status.report", "service.quiet",
        ]
        let priorities = ["high", "normal", "low"]
        for (kind, priority) in settings.priorities.sorted(by: { $0.key < $1.key }) {
            guard kinds.contains(kind) else {
                let known = kinds.sorted().joined(separator: ", ")
                throw fail("notifications.priorities.\(kind)", "is not a message kind (known: \(known))")
            }
            guard priorities.contains(priority) else {
                throw fail("notifications.priorities.\(kind)", "must be high, normal or low")
            }
        }
        let channels = ["email", "sms", "webhook", "telegram", "console"]
        for (priority, names) in settings.routing.sorted(by: { $0.key < $1.key }) {
            guard priorities.contains(priority) else {
                throw fail("notifications.routing.\(priority)", "is not a priority (high, normal or low)")
            }
            for (index, name) in names.enumerated() where !channels.contains(name) {
                throw fail(
                    "notifications.routing.\(priority)[\(index)]",
                    "'\(name.prefix(64))' is not a channel (\(channels.joined(separator: ", ")); "
                        + "slack and discord are webhooks)")
            }
        }
        guard ["starttls", "tls", "none"].contains(settings.email.security) else {
            throw fail("notifications.email.security", "must be starttls, tls or none")
        }
        guard (1...65_535).contains(settings.email.smtpPort) else {
            throw fail("notifications.email.smtp_port", "must be a port number, 1-65535")
        }
        guard ["json", "slack", "discord"].contains(settings.webhook.format) else {
            throw fail("notifications.webhook.format", "must be json, slack or discord")
        }
        guard config.notificationRecipients.count <= 100 else {
            throw fail("notification_recipients", "at most 100 recipients")
        }
        guard settings.sms.to.count <= 20 else { throw fail("notifications.sms.to", "at most 20 numbers") }
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
                let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]), (1...12).contains(month)
            else { return false }
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
            return (1...days).contains(day)
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
        for (path, count) in [
            ("market_hours.special_closures", config.marketHours.specialClosures.count),
            ("market_hours.early_closes", config.marketHours.earlyCloses.count),
        ] where count > 10_000 {
            throw fail(path, "lists more than 10000 days")
        }
        let scheduler = config.scheduler
        guard scheduler.statusIntervalSeconds >= 0.05, scheduler.statusIntervalSeconds <= 3_600 else {
            throw fail("scheduler.status_interval_seconds", "must be from 0.05 to 3600 seconds")
        }
        guard scheduler.reportIntervalSeconds >= 1, scheduler.reportIntervalSeconds <= 31_536_000 else {
            throw fail("scheduler.report_interval_seconds", "must be from 1 second to 1 year (31536000)")
        }
        guard scheduler.simulatedSpeed > 0, scheduler.simulatedSpeed <= 1_000_000 else {
            throw fail("scheduler.simulated_speed", "must be more than 0 and at most 1000000")
        }
        if !scheduler.simulatedStart.isEmpty && ISO8601Instant.parse(scheduler.simulatedStart) == nil {
            throw fail("scheduler.simulated_start", "'\(scheduler.simulatedStart)' is not an ISO 8601 instant with a UTC offset, e.g. 2025-03-14T09:25:00-04:00")
        }
    }

    static func validateProcessors(_ config: TickwireConfig, fail: (String, String) -> ConfigError) throws(ConfigError) {
        typealias Limits = TickwireConfig.Processor
        if !config.ingestor.historyBind.isEmpty && !isEndpoint(config.ingestor.historyBind) {
            throw fail("ingestor.history_bind", "'\(config.ingestor.historyBind)' is not a ZeroMQ endpoint (or empty to turn it off)")
        }
        guard (1...Limits.maxHistoryBars).contains(config.ingestor.historyBars) else {
            throw fail("ingestor.history_bars", "must be from 1 to \(Limits.maxHistoryBars)")
        }
        guard (1...Limits.maxWindowSize).contains(config.windowSize) else {
            throw fail("window_size", "must be from 1 to \(Limits.maxWindowSize)")
        }
        let processor = config.processor
        guard processor.barIntervalSeconds >= 1, processor.barIntervalSeconds == processor.barIntervalSeconds.rounded(),
            processor.barIntervalSeconds <= 86_400
        else {
            throw fail("processor.bar_interval_seconds", "must be a whole number of seconds from 1 to 86400")
        }
        guard processor.lateToleranceSeconds.isFinite, processor.lateToleranceSeconds >= 0,
            processor.lateToleranceSeconds < processor.barIntervalSeconds * 10
        else {
            throw fail("processor.late_tolerance_seconds", "must be from 0 to 10 bar intervals")
        }
        guard ["trades", "provider"].contains(processor.barSource) else {
            throw fail("processor.bar_source", "must be 'trades' or 'provider'")
        }
        guard processor.historyEndpoints.count <= Limits.maxHistoryEndpoints else {
            throw fail("processor.history_endpoints", "at most \(Limits.maxHistoryEndpoints) endpoints")
        }
        for (index, endpoint) in processor.historyEndpoints.enumerated() where !isEndpoint(endpoint) {
            throw fail("processor.history_endpoints[\(index)]", "'\(endpoint)' is not a ZeroMQ endpoint")
        }
        guard processor.historyTimeoutSeconds.isFinite, processor.historyTimeoutSeconds > 0,
            processor.historyTimeoutSeconds <= Limits.maxHistoryTimeoutSeconds
        else {
            throw fail(
                "processor.history_timeout_seconds",
                "must be more than 0 and at most \(Int(Limits.maxHistoryTimeoutSeconds)) seconds")
        }
        guard processor.maxEventLeadSeconds.isFinite, processor.maxEventLeadSeconds > 0,
            processor.maxEventLeadSeconds <= Limits.maxEventLeadSecondsLimit
        else {
            throw fail(
                "processor.max_event_lead_seconds",
                "must be more than 0 and at most \(Int(Limits.maxEventLeadSecondsLimit)) seconds (7 days)")
        }
        guard processor.featureSet == "default" else {
            throw fail("processor.feature_set", "unknown feature set '\(processor.featureSet)' (known: default)")
        }
        guard config.processors.count <= Limits.maxInstances else {
            throw fail("processors", "at most \(Limits.maxInstances) processor instances")
        }
        var owner: [String: Int] = [:]
        var names: Set<String> = []
        for (index, instance) in config.processors.enumerated() {
            guard !instance.name.isEmpty else { throw fail("processors[\(index)].name", "must not be empty") }
            guard names.insert(instance.name).inserted else {
                throw fail("processors[\(index)].name", "'\(instance.name)' is used twice")
            }
            guard !instance.tickers.isEmpty else { throw fail("processors[\(index)].tickers", "at least one ticker is needed") }
            guard instance.tickers.count <= Limits.maxTickersPerInstance else {
                throw fail(
                    "processors[\(index)].tickers",
                    "at most \(Limits.maxTickersPerInstance) tickers per processor; split them over more instances")
            }
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
