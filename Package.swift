// swift-tools-version:6.0
import PackageDescription

/// Settings every Swift target shares: Swift 6 language mode and strict checks.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Tickwire",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bus-proxy", targets: ["bus-proxy"]),
        .executable(name: "bus-tap", targets: ["bus-tap"]),
        .executable(name: "ingestor", targets: ["ingestor"]),
        .executable(name: "processor", targets: ["processor"]),
        .executable(name: "scheduler", targets: ["scheduler"]),
        .executable(name: "signal-generator", targets: ["signal-generator"]),
        .executable(name: "notifier", targets: ["notifier"]),
        .executable(name: "tickwire", targets: ["tickwire"]),
        .executable(name: "tickwire-bench", targets: ["tickwire-bench"]),
        .executable(name: "bus-fuzz", targets: ["bus-fuzz"]),
        .executable(name: "journal", targets: ["journal"]),
        .executable(name: "dashboard", targets: ["dashboard"]),
        .library(name: "Bus", targets: ["Bus"]),
        .library(name: "Contracts", targets: ["Contracts"]),
        .library(name: "ServiceKit", targets: ["ServiceKit"]),
        .library(name: "Indicators", targets: ["Indicators"]),
        .library(name: "Notifications", targets: ["Notifications"]),
        // Custom scripts: a data feed, the processor's features, strategies and signals in
        // process, with no bus (Examples/).
        .library(name: "Tickwire", targets: ["Tickwire"]),
        .library(name: "Backtesting", targets: ["Backtesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        // The notifier's durable outbox (SQLite; needs libsqlite3-dev).
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // The journal's PostgreSQL store (a journal that leaves one machine).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket", from: "1.6.0"),
        // Named directly by the streaming providers (an event loop per connection attempt, so a
        // handshake can be abandoned; the upgrade-refusal probe). Already resolved via swift-websocket.
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        // Every service's /metrics, /health and /ready (Observability); and, in tests, fake
        // provider servers (HTTP and WebSocket) on loopback.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.20.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.0"),
    ],
    targets: [
        // System libraries. CZeroMQ names no pkg-config module on purpose: libzmq's .pc file
        // carries `-isystem`, which SwiftPM rejects with a warning on every build; zmq.h lives
        // in /usr/include and the module map links `zmq`, which is all that is needed.
        .systemLibrary(
            name: "CZeroMQ",
            providers: [.apt(["libzmq3-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),

        // Libraries.
        // The one libcurl wrapper: every curl_* call of the package (HTTP for the REST
        // providers, HTTP and SMTP for the notifier's channels), off the cooperative pool.
        .target(name: "Curl", dependencies: ["CCurl"], swiftSettings: strictSettings),
        // Nanosecond instants and durations with arithmetic that cannot trap: no dependencies.
        .target(name: "Timekeeping", swiftSettings: strictSettings),
        .target(name: "Bus", dependencies: ["CZeroMQ", "Timekeeping"], swiftSettings: strictSettings),
        .target(
            name: "Contracts",
            dependencies: [
                "Bus", "FeatureContract", "Timekeeping",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Proto"],
            swiftSettings: strictSettings
        ),
        // Every service's /metrics, /health and /ready server, and /proc readings.
        .target(
            name: "Observability",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ServiceKit",
            dependencies: [
                "Bus", "Contracts", "Observability", "Timekeeping",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSettings
        ),
        // The feature schema contract: the feature names, order, version and hash (SHA-256), which
        // Indicators computes and Contracts, Signals and Training check against.
        .target(
            name: "FeatureContract",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        // Bars, streaming indicators and the feature vector.
        .target(name: "Indicators", dependencies: ["FeatureContract", "Timekeeping"], swiftSettings: strictSettings),
        // Bars on the bus, for the ingestor and the processor alike: the event clock bars close
        // against, the bus message for a bar built by Indicators' `BarBuilder`, and the one rule
        // every bar from outside passes (`Bar.problem`).
        .target(name: "Bars", dependencies: ["Contracts", "Indicators", "Timekeeping"], swiftSettings: strictSettings),
        // Models: pure Swift, deterministic under a seed; no dependencies.
        .target(name: "Models", swiftSettings: strictSettings),
        .target(
            name: "Signals",
            dependencies: [
                "Bus", "Contracts", "FeatureContract", "Models", "ServiceKit", "SessionClient",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Datasets, walk-forward validation and metrics for `tickwire train`.
        .target(name: "Training", dependencies: ["FeatureContract", "Indicators", "Models"], swiftSettings: strictSettings),
        // The exchange calendar (XNYS): no dependencies.
        .target(name: "MarketCalendar", swiftSettings: strictSettings),
        // The session client: follows the scheduler's `market.session` (with the calendar as a
        // fallback) for the services that act only in some sessions.
        .target(
            name: "SessionClient",
            dependencies: [
                "Contracts", "MarketCalendar", "ServiceKit", "Timekeeping",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Scheduling",
            dependencies: [
                "Contracts", "MarketCalendar", "ServiceKit", "SessionClient", "Timekeeping",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Processing",
            dependencies: [
                "Bars", "Bus", "Contracts", "FeatureContract", "Indicators", "ServiceKit", "Timekeeping",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "MarketData",
            dependencies: [
                "Bars", "Bus", "Contracts", "Curl", "Indicators", "MarketCalendar", "ServiceKit", "SessionClient", "Timekeeping",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "OperatorKit",
            dependencies: [
                "Bus", "Contracts", "ServiceKit", "Timekeeping",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSettings
        ),
        // The bus flood (`make fuzz`): hostile frames into a running stack, and the checks after.
        .target(
            name: "BusFuzz",
            dependencies: ["Bus", "CZeroMQ", "Contracts", "Models", "ServiceKit"],
            swiftSettings: strictSettings
        ),

        // The notifier's library: delivery channels (email over SMTP, SMS, webhooks, Telegram,
        // console) on libcurl; routing, throttling and the outbox.
        .target(
            name: "Notifications",
            dependencies: [
                "Bus", "Contracts", "Curl", "ServiceKit", "Timekeeping",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),

        // The bus journal: records every frame (SQLite per day, or PostgreSQL partitions) and
        // answers catch-up requests.
        .target(
            name: "Journal",
            dependencies: [
                "Bus", "Contracts", "ServiceKit", "Timekeeping",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the journal's insert loop.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSettings
        ),

        // The library for custom scripts: providers, the processor's per-ticker pipeline and
        // the signal generator's ensemble and policy, in one process, with no bus.
        .target(
            name: "Tickwire",
            dependencies: [
                "Bars", "Contracts", "FeatureContract", "Indicators", "MarketData", "Models", "Processing", "ServiceKit", "Signals", "Timekeeping",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),

        // Backtests through the Tickwire library's own pipeline (`tickwire backtest`):
        // fills, statistics with bootstrap intervals, the lookahead check, the report.
        .target(
            name: "Backtesting",
            dependencies: ["FeatureContract", "Indicators", "Models", "Signals", "Tickwire", "Training"],
            swiftSettings: strictSettings
        ),

        // Custom scripts against the Tickwire library, each depending on it alone.
        .executableTarget(
            name: "example-custom-script", dependencies: ["Tickwire"], path: "Examples/CustomScript",
            swiftSettings: strictSettings),
        .executableTarget(
            name: "example-custom-provider", dependencies: ["Tickwire"], path: "Examples/CustomProvider",
            swiftSettings: strictSettings),
        .executableTarget(
            name: "example-custom-strategy", dependencies: ["Tickwire"], path: "Examples/CustomStrategy",
            swiftSettings: strictSettings),

        // Thin executables.
        .executableTarget(
            name: "journal",
            dependencies: [
                "Journal", "ServiceKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "bus-proxy",
            dependencies: [
                "OperatorKit", "ServiceKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "bus-tap",
            dependencies: [
                "Bus", "Contracts", "OperatorKit", "ServiceKit", "Timekeeping",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "ingestor",
            dependencies: [
                "MarketData", "ServiceKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "processor",
            dependencies: [
                "FeatureContract", "Indicators", "Processing", "ServiceKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // The live dashboard page (subscribes to the bus; Hummingbird serves the page and its events).
        .target(
            name: "Dashboard",
            dependencies: [
                "Contracts", "ServiceKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "dashboard",
            dependencies: [
                "Dashboard", "ServiceKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "scheduler",
            dependencies: [
                "MarketCalendar", "Scheduling", "ServiceKit", "SessionClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "signal-generator",
            dependencies: [
                "ServiceKit", "Signals",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "notifier",
            dependencies: [
                "Notifications", "ServiceKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "tickwire",
            dependencies: [
                "Backtesting", "Bus", "Contracts", "FeatureContract", "Indicators", "MarketData", "Models", "OperatorKit", "ServiceKit",
                "Training",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "tickwire-bench",
            dependencies: [
                // TestSupport: the throwaway PostgreSQL server the journal bench writes to.
                "Bus", "Contracts", "CZeroMQ", "Indicators", "Journal", "ServiceKit", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "bus-fuzz",
            dependencies: [
                "BusFuzz", "ServiceKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),

        // Tests.
        .target(
            name: "TestSupport",
            dependencies: ["Bus", "Contracts", "ServiceKit"],
            path: "Tests/TestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CurlTests",
            dependencies: [
                "Curl", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "TimekeepingTests", dependencies: ["Timekeeping"], swiftSettings: strictSettings),
        .testTarget(name: "BusTests", dependencies: ["Bus", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "ContractsTests",
            dependencies: ["Contracts", "Bus", "TestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "OperatorKitTests",
            dependencies: ["OperatorKit", "Contracts", "Dashboard", "ServiceKit"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ServiceKitTests",
            dependencies: [
                "ServiceKit", "Contracts", "Observability", "TestSupport", "Bus",
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "IndicatorsTests",
            dependencies: ["Indicators", "Timekeeping"],
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SignalsTests",
            dependencies: [
                "Signals", "Models", "Contracts", "ServiceKit", "Bus", "TestSupport", "Training",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "BusFuzzTests",
            dependencies: ["BusFuzz", "Bus", "Contracts", "ServiceKit"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "JournalTests",
            dependencies: [
                "Journal", "Bus", "Contracts", "ServiceKit", "TestSupport", "Timekeeping",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ModelsTests",
            dependencies: ["Models"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MarketCalendarTests",
            dependencies: ["MarketCalendar"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProcessingTests",
            dependencies: [
                "Bars", "Bus", "Contracts", "FeatureContract", "Indicators", "Processing", "ServiceKit", "TestSupport", "Timekeeping",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MarketDataTests",
            dependencies: [
                "Bars", "Bus", "MarketData", "Contracts", "Indicators", "Processing", "ServiceKit", "TestSupport", "Timekeeping",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "NotificationsTests",
            dependencies: [
                "Bus", "Notifications", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The module graph of docs/architecture.md, checked against this manifest.
        .testTarget(name: "ModuleGraphTests", swiftSettings: strictSettings),
        .testTarget(
            name: "BacktestingTests",
            dependencies: ["Backtesting", "FeatureContract", "Indicators", "Models", "Signals", "Tickwire", "Training", "TestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TickwireTests",
            dependencies: ["Tickwire", "Contracts", "FeatureContract", "Indicators", "Processing", "ServiceKit"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "Contracts", "Bus", "ServiceKit", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer targets (`make fuzz`, scripts/fuzz.sh): declared only with TICKWIRE_FUZZ=1 and built
// into `.build-fuzz` with `-sanitize=fuzzer`, so a normal build never sees them. Each reads its
// seed corpus from Fuzz/corpus/<name>.
if Context.environment["TICKWIRE_FUZZ"] == "1" {
    let log = Target.Dependency.product(name: "Logging", package: "swift-log")
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("envelope", ["Bus", "Contracts"]),
        ("polygon", ["MarketData"]),
        ("alpaca", ["MarketData"]),
        ("finnhub", ["MarketData"]),
        ("websocket", ["MarketData"]),
        ("alphavantage", ["MarketData"]),
        ("replay", ["MarketData", "ServiceKit", log]),
        ("bars-csv", ["Indicators"]),
        ("model-file", ["Models"]),
        ("xgboost", ["Models"]),
    ]
    package.targets += [
        .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"], path: "Fuzz/Support", swiftSettings: strictSettings),
    ]
    package.targets += fuzzTargets.map { target in
        .executableTarget(
            name: "fuzz-\(target.name)", dependencies: ["FuzzSupport"] + target.dependencies,
            path: "Fuzz/Targets/\(target.name)", swiftSettings: strictSettings)
    }
}
