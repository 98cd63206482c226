import Contracts
import Foundation
import ServiceKit

/// A process of the stack whose counters bus-fuzz checks, and the frames that reach it.
public struct Listener: Sendable, Equatable {
    /// The name in its `status.<service>` heartbeat.
    public var service: String
    /// Its `--instance` when the stack gives one; `nil` matches any instance of `service`.
    public var instance: String?
    /// One entry per SUB socket the process opens: the patterns subscribed on that socket. A
    /// frame that matches two sockets is received, and refused, twice.
    public var sockets: [[TopicPattern]]
    /// False for tools without a heartbeat (bus-tap): nothing of theirs can be checked.
    public var hasHeartbeat: Bool

    public init(service: String, instance: String? = nil, sockets: [[TopicPattern]], hasHeartbeat: Bool = true) {
        self.service = service
        self.instance = instance
        self.sockets = sockets
        self.hasHeartbeat = hasHeartbeat
    }

    /// `processor p1`, or the service name alone.
    public var label: String { instance.map { "\(service) \($0)" } ?? service }

    /// How many times a message whose first frame is `topic` reaches this process (ZeroMQ
    /// matches subscriptions as byte prefixes of the first frame).
    public func deliveries(of topic: [UInt8]) -> Int {
        sockets.reduce(0) { count, patterns in
            count + (patterns.contains { topic.starts(with: $0.subscriptionPrefix) } ? 1 : 0)
        }
    }
}

/// What each Tickwire process subscribes to, read from the code (the `subscribe` calls named
/// below) and the config. A change of subscriptions must change this table, or the frame
/// counts bus-fuzz checks stop adding up and it fails.
///
/// | process | socket | patterns | where |
/// | --- | --- | --- | --- |
/// | processor | 1 | `tick.<T>` per ticker of its set (`bar.<T>` with bar_source `provider`) | `ProcessorService.run` |
/// | signal-generator | 1 | `features.<T>` for each ticker | `SignalService.run` |
/// | | 2 | `market.session` | `SessionFollower.listen` |
/// | notifier | 1 | `signal.*`, `alert.*`, `status.*`, `timer.status_report`, `market.session` | `NotifierService` |
/// | ingestor | 1 | `market.session` | `ProviderService.listenForSessions` |
/// | scheduler | – | none | |
/// | journal | 1 | `journal.patterns` (all by default) | `JournalService.run` |
/// | bus-proxy | – | none (its `proxy.*` counters are checked instead) | |
/// | bus-tap | 1 | its pattern arguments (all without any); no heartbeat, not checked | `Tap.run` |
///
/// A processor's tickers: `--tickers`, else the `processors` entry named by its `--instance`,
/// else `tickers` when there is no `processors` section (`ProcessorSettings.resolve`). Other
/// services read `tickers` (which `--tickers` overrides). Exact topics end in the NUL
/// terminator, so `tick.AAPL` never receives `tick.AAPLX`.
public enum SubscriptionTable {
    /// The listeners of the stack `config.stack.services` describes, bus-proxy included (once,
    /// whether listed or not: `tickwire up` starts it first). Throws for a service it does
    /// not know, which must be added to the table.
    public static func listeners(config: TickwireConfig) throws(FuzzError) -> [Listener] {
        var listeners: [Listener] = [Listener(service: "bus-proxy", sockets: [])]
        for (index, entry) in config.stack.services.enumerated() where entry.name != "bus-proxy" {
            let instance = option("--instance", in: entry.args)
            let tickers = option("--tickers", in: entry.args).map(splitList) ?? config.tickers
            let path = "stack.services[\(index)]"
            switch entry.name {
            case "processor":
                let kind = config.processor.barSource == "provider" ? Topic.barKind : Topic.tickKind
                let served = try processorTickers(config: config, instance: instance, arguments: entry.args, path: path)
                listeners.append(
                    Listener(
                        service: "processor", instance: instance, sockets: [try exact(served, kind: kind, path: path)]))
            case "signal-generator":
                let features = try exact(tickers, kind: Topic.featuresKind, path: path)
                listeners.append(
                    Listener(service: entry.name, instance: instance, sockets: [features, [marketSession]]))
            case "notifier":
                let timer = TopicPattern(exact: try topic(Topic.timerKind, "status_report", path: path))
                let patterns = [
                    TopicPattern(prefix: "signal."), TopicPattern(prefix: "alert."), TopicPattern(prefix: "status."),
                    timer, marketSession,
                ]
                listeners.append(Listener(service: entry.name, instance: instance, sockets: [patterns]))
            case "dashboard":
                // DashboardService.run's subscription.
                let patterns = ["tick.", "bar.", "signal.", "status.", "alert.", "market."].map { TopicPattern(prefix: $0) }
                listeners.append(Listener(service: entry.name, instance: instance, sockets: [patterns]))
            case "ingestor":
                listeners.append(Listener(service: entry.name, instance: instance, sockets: [[marketSession]]))
            case "scheduler":
                listeners.append(Listener(service: entry.name, instance: instance, sockets: []))
            case "journal":
                var patterns: [TopicPattern] = []
                for (k, text) in config.journal.patterns.enumerated() {
                    do {
                        patterns.append(try TopicPattern(text))
                    } catch {
                        throw FuzzError("journal.patterns[\(k)]: '\(text)': \(error)")
                    }
                }
                listeners.append(Listener(service: entry.name, instance: instance, sockets: [patterns]))
            case "bus-tap":
                var patterns: [TopicPattern] = []
                for text in positionalArguments(entry.args, valueOptions: busTapValueOptions) {
                    do {
                        patterns.append(try TopicPattern(text))
                    } catch {
                        throw FuzzError("\(path).args: bus-tap pattern '\(text)': \(error)")
                    }
                }
                listeners.append(
                    Listener(
                        service: "bus-tap", sockets: [patterns.isEmpty ? [TopicPattern(prefix: "")] : patterns],
                        hasHeartbeat: false))
            default:
                throw FuzzError(
                    "\(path): bus-fuzz does not know what '\(entry.name)' subscribes to: add it to SubscriptionTable")
            }
        }
        return listeners
    }

    /// bus-tap's options that take a value (its other arguments are topic patterns).
    static let busTapValueOptions: Set<String> = [
        "--endpoint", "--count", "--duration", "--format", "--refresh", "--max-rows", "--config", "--from", "--to",
        "--journal-endpoint",
    ]

    static let marketSession = TopicPattern(exact: .marketSession)

    /// The value of `--name value` or `--name=value` in `arguments`, the last one given.
    static func option(_ name: String, in arguments: [String]) -> String? {
        var value: String?
        for (index, argument) in arguments.enumerated() {
            if argument == name, index + 1 < arguments.count {
                value = arguments[index + 1]
            } else if argument.hasPrefix(name + "=") {
                value = String(argument.dropFirst(name.count + 1))
            }
        }
        return value
    }

    /// The arguments that are neither options nor their values.
    static func positionalArguments(_ arguments: [String], valueOptions: Set<String>) -> [String] {
        var positional: [String] = []
        var skipNext = false
        for argument in arguments {
            if skipNext {
                skipNext = false
            } else if argument.hasPrefix("--") {
                skipNext = valueOptions.contains(argument)
            } else {
                positional.append(argument)
            }
        }
        return positional
    }

    static func splitList(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func processorTickers(
        config: TickwireConfig, instance: String?, arguments: [String], path: String
    ) throws(FuzzError) -> [String] {
        if let listed = option("--tickers", in: arguments).map(splitList), !listed.isEmpty { return listed }
        if let instance, let entry = config.processors.first(where: { $0.name == instance }) { return entry.tickers }
        if config.processors.isEmpty { return config.tickers }
        throw FuzzError("\(path): a processor needs --instance naming one of `processors`, or --tickers")
    }

    static func topic(_ kind: String, _ key: String, path: String) throws(FuzzError) -> Topic {
        do {
            return try Topic(kind: kind, key: key)
        } catch {
            throw FuzzError("\(path): \(kind).\(key): \(error)")
        }
    }

    static func exact(_ keys: [String], kind: String, path: String) throws(FuzzError) -> [TopicPattern] {
        var patterns: [TopicPattern] = []
        for key in keys { patterns.append(TopicPattern(exact: try topic(kind, key, path: path))) }
        return patterns
    }
}

/// A problem that stops bus-fuzz before or while it runs (not a finding about the stack).
public struct FuzzError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
