/// A deployment's configuration: the seed's `live_trading_config.json` keys, unchanged, plus
/// Tickwire's additive sections. Every field has a default, so an empty file is valid.
///
/// Keys are the JSON names (snake_case). Load it with ``ConfigLoader``, which applies the
/// precedence defaults < file < environment < command line and validates the result.
public struct TickwireConfig: Sendable, Equatable, Codable {
    /// Data provider for the ingestor, one of ``ProviderName``.
    public var provider: String = ProviderName.simulated
    /// Provider API key; may be `"${ALPHAVANTAGE_API_KEY}"` in the file. For Alpaca, the key id.
    public var apiKey: Secret?
    /// A provider's second credential (Alpaca's secret key).
    public var apiSecret: Secret?
    /// The seed's generic `websocket` provider URL (`ws://` or `wss://`).
    public var wsUrl = ""
    /// Overrides the selected provider's endpoint (REST base URL or WebSocket URL), e.g. a
    /// local test server; empty uses the provider's own (see `providers`).
    public var providerUrl = ""
    /// Request budget for REST providers (Alpha Vantage), defaulting to its free tier.
    public var rateLimit = RateLimit()
    /// Symbols to follow.
    public var tickers: [String] = ["AAPL", "MSFT", "GOOGL", "AMZN", "META"]
    /// Seconds between provider polls (REST providers).
    public var updateInterval: Double = 60
    /// Minimum confidence for a signal to be published as actionable, 0...1.
    public var signalThreshold: Double = 0.7
    /// Bars kept per ticker for indicators.
    public var windowSize: Int = 100
    /// How the signal generator combines models.
    public var ensembleMethod: String = "dynamic_ensemble"
    public var notifications = Notifications()
    public var notificationRecipients: [String] = []
    public var marketHours = MarketHours()

    // Tickwire's sections.
    public var bus = BusSettings()
    public var ingestor = Ingestor()
    /// Per-provider endpoints and options.
    public var providers = Providers()
    /// The `replay` provider's input.
    public var replay = Replay()
    public var logging = Logging()
    public var heartbeat = Heartbeat()
    /// Where each service serves `/metrics`, `/health` and `/ready`.
    public var metrics = Metrics()
    /// Where the `dashboard` service serves its page.
    public var dashboard = DashboardSettings()
    public var simulator = Simulator()
    /// Services `tickwire up` runs besides bus-proxy.
    public var stack = Stack()
    /// How every processor builds bars and indicators.
    public var processor = Processor()
    public var scheduler = Scheduler()
    /// Trained models: where they are, what they predict, how the ensemble learns live.
    public var models = Models()
    /// Signal publication, position sizing and stops.
    public var signals = Signals()
    /// Processor instances and the tickers each serves (disjoint). A processor started with
    /// `--instance NAME` serves the entry of that name; empty means one processor for all.
    public var processors: [ProcessorInstance] = []
    /// The bus journal: where it records, what it keeps, and how consumers catch up.
    public var journal = Journal()

    public init() {}

    /// The `journal` service (docs/bus.md, "Journal") and its clients.
    public struct Journal: Sendable, Equatable, Codable {
        /// `sqlite` (files under `directory`, one per day) or `postgres` (`postgres_url`).
        public var store = "sqlite"
        /// Where the SQLite segments are.
        public var directory = "data/journal"
        /// `postgres://user:password@host:port/database` for the `postgres` store.
        public var postgresUrl: Secret?
        /// Topic patterns recorded, as bus-tap takes them; `*` is everything.
        public var patterns: [String] = ["*"]
        /// What the journal binds for catch-up requests.
        public var bind = "tcp://127.0.0.1:7753"
        /// Where clients ask (the journal's `bind`, seen from them); empty turns catch-up off.
        public var endpoint = "tcp://127.0.0.1:7753"
        /// Days of messages kept; older segments are deleted.
        public var retentionDays: Double = 7
        /// The most bytes all segments may take; the oldest whole days go first.
        public var maxBytes: Int64 = 10 << 30
        /// Messages are written in one transaction per batch: at most this many seconds apart…
        public var batchIntervalSeconds: Double = 0.1
        /// …or this many messages.
        public var batchMessages = 2_000
        /// Messages waiting to be written at most (a stalled disk); beyond it the oldest are
        /// dropped and counted.
        public var queueLimit = 500_000
        /// Messages per catch-up reply at most.
        public var maxReplyMessages = 2_000
        /// How long a client waits for one reply.
        public var requestTimeoutSeconds: Double = 5
        /// A sequence gap of at least this many messages raises an alert (0: never).
        public var gapAlertMessages = 100
        /// Where consumers (notifier, signal-generator) keep their last processed positions.
        public var positionsDirectory = "data/positions"
        /// How far back a consumer with no position asks for what it missed, in seconds.
        public var catchUpMaxSeconds: Double = 86_400
        public init() {}
    }

    public struct Notifications: Sendable, Equatable, Codable {
        public var enabled = false
        /// Seconds during which repeats of the same alert are held back (3× for low priority).
        public var throttlePeriod: Double = 300
        public var email = Email()
        public var sms = SMS()
        public var webhook = Webhook()
        public var telegram = Telegram()
        /// Where the outbox (SQLite) lives.
        public var dataDirectory = "data"
        /// Priority by message kind: `signal`, `alert.critical`, `alert.error`, `alert.warning`,
        /// `alert.info`, `status.started`, `status.stopped`, `status.report`, `service.quiet`.
        public var priorities: [String: String] = [
            "signal": "high", "alert.critical": "high", "alert.error": "normal", "alert.warning": "normal",
            "alert.info": "low", "status.started": "low", "status.stopped": "normal", "status.report": "low",
            "service.quiet": "normal",
        ]
        /// Channels per priority; `high` also always includes every configured channel.
        public var routing: [String: [String]] = [
            "high": ["email", "sms", "webhook", "telegram", "console"],
            "normal": ["email", "webhook", "telegram", "console"],
            "low": ["console"],
        ]
        /// Seconds between delivery retries of one message: first delay and upper bound.
        public var retryInitialSeconds: Double = 2
        public var retryMaxSeconds: Double = 300
        /// Attempts after which a message is given up (and reported).
        public var maxAttempts = 20
        /// Timeout of one delivery, in seconds.
        public var timeoutSeconds: Double = 15
        /// Heartbeat intervals a service may miss before a "service gone quiet" alert.
        public var quietAfterIntervals: Double = 3
        /// Also send HOLD signals (by default only BUY and SELL are worth a message).
        public var notifyHold = false
        /// Days a delivered or given-up message stays in the outbox before it is pruned.
        public var retentionDays: Double = 7
        /// Messages per channel per minute at most; the rest are counted and summarised in one
        /// message the next minute (throttle keys come from the bus, so they alone cannot).
        public var maxPerMinute = 30
        public init() {}

        public struct Email: Sendable, Equatable, Codable {
            public var enabled = false
            public var smtpServer = ""
            public var smtpPort = 587
            public var username = ""
            public var password: Secret?
            public var fromEmail = ""
            /// `starttls` (587), `tls` (implicit, 465) or `none` (local servers only).
            public var security = "starttls"
            /// A CA bundle to trust, e.g. for a server with a private certificate.
            public var caFile = ""
            public init() {}
        }

        public struct Webhook: Sendable, Equatable, Codable {
            public var enabled = false
            public var url = ""
            /// `json` (generic), `slack` or `discord`.
            public var format = "json"
            /// When set, `X-Tickwire-Signature: sha256=<HMAC of the body>`.
            public var secret: Secret?
            public init() {}
        }

        public struct Telegram: Sendable, Equatable, Codable {
            public var enabled = false
            public var botToken: Secret?
            public var chatId = ""
            public var baseUrl = "https://api.telegram.org"
            public init() {}
        }

        /// Twilio's Messages API.
        public struct SMS: Sendable, Equatable, Codable {
            public var enabled = false
            public var accountSid = ""
            public var authToken: Secret?
            public var from = ""
            public var to: [String] = []
            public var baseUrl = "https://api.twilio.com"
            public init() {}
        }
    }

    public struct MarketHours: Sendable, Equatable, Codable {
        /// Where times are displayed; the exchange (XNYS) itself keeps New York time.
        public var timezone = "America/New_York"
        /// Whether pre-market (04:00–09:30) and after-hours (16:00–20:00) count as open for
        /// polling and signals.
        public var includeExtendedHours = false
        /// Closures the rules do not know (e.g. a national day of mourning), without a release.
        public var specialClosures: [SpecialClosure] = []
        /// Early closes the rules do not know, e.g. `{"date": "2026-12-31", "close": "13:00"}`.
        public var earlyCloses: [EarlyClose] = []
        public init() {}

        public struct SpecialClosure: Sendable, Equatable, Codable {
            /// `YYYY-MM-DD`, exchange-local.
            public var date: String
            public var name: String
            public init(date: String, name: String = "special closure") {
                self.date = date
                self.name = name
            }
            enum CodingKeys: String, CodingKey { case date, name }
            public init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                date = try container.decode(String.self, forKey: .date)
                name = try container.decodeIfPresent(String.self, forKey: .name) ?? "special closure"
            }
        }

        public struct EarlyClose: Sendable, Equatable, Codable {
            /// `YYYY-MM-DD`, exchange-local.
            public var date: String
            /// `HH:MM`, exchange-local.
            public var close: String
            public init(date: String, close: String = "13:00") {
                self.date = date
                self.close = close
            }
            enum CodingKeys: String, CodingKey { case date, close }
            public init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                date = try container.decode(String.self, forKey: .date)
                close = try container.decodeIfPresent(String.self, forKey: .close) ?? "13:00"
            }
        }
    }

    public struct Models: Sendable, Equatable, Codable {
        /// Directory of model files (`*.json`) the signal generator loads and `tickwire train` writes.
        public var directory = "models"
        /// Bars ahead each model predicts, 1...10000.
        public var horizon = 5
        /// Return threshold between up/down and flat; 0 = chosen at training time so the three
        /// classes are about equally common (recorded in the model file). 0...1.
        public var deadZone: Double = 0
        /// Model kinds `tickwire train` fits.
        public var kinds = ["rf", "gbt", "svm", "logreg"]
        /// Weights by model name for `weighted_average` and `weighted_vote` (default 1 each),
        /// each 0...1e6.
        public var weights: [String: Double] = [:]
        /// Where `dynamic_ensemble` keeps its live weights across restarts.
        public var stateFile = "data/ensemble_state.json"
        /// Per-outcome decay of each model's live accuracy (0.98: the last ~50 outcomes count),
        /// in (0, 1].
        public var accuracyDecay = 0.98
        /// A model whose live accuracy falls this far below its validation accuracy, after at
        /// least `drift_min_outcomes` outcomes, raises a `model.drift` alert. 0...1.
        public var driftThreshold = 0.10
        /// 1...1000000.
        public var driftMinOutcomes = 30
        public init() {}
    }

    public struct Signals: Sendable, Equatable, Codable {
        /// Seconds after which an unchanged signal is published again (changes go out at once);
        /// 0...604800 (a week).
        public var cooldownSeconds: Double = 300
        /// Account size for position sizing, in (0, 1e15].
        public var capital: Double = 100_000
        /// Fraction of capital at risk per trade if the stop is hit, in (0, 1].
        public var riskPerTrade = 0.01
        /// Stop distance in ATRs (ATR from the features' `natr_14`), in (0, 100].
        public var atrStopMultiple: Double = 2
        /// Largest position, as a fraction of capital, in (0, 1].
        public var maxPositionFraction = 0.25
        public init() {}
    }

    /// The scheduler: `market.session` and timers.
    public struct Scheduler: Sendable, Equatable, Codable {
        /// Seconds (real time) between periodic `market.session` messages.
        public var statusIntervalSeconds: Double = 5
        /// Scheduler-clock seconds between `timer.status_report` firings (the notifier's summary).
        public var reportIntervalSeconds: Double = 3600
        /// A simulated clock for demos and tests: its start as an ISO 8601 instant, e.g.
        /// `2025-03-14T09:25:00-04:00`; empty runs on the real clock.
        public var simulatedStart = ""
        /// Simulated seconds per real second (60 runs a 6.5-hour session in 6.5 minutes).
        public var simulatedSpeed: Double = 1
        public init() {}
    }

    /// Where the bus is. Defaults find bus-proxy on this machine with no flags.
    /// Requests a REST provider may make; spaced evenly, never exceeded.
    public struct RateLimit: Sendable, Equatable, Codable {
        public var requestsPerMinute: Double = 5
        public var requestsPerDay: Double = 25
        public init() {}
    }

    public struct Ingestor: Sendable, Equatable, Codable {
        /// Fetch recent bars at start (REST providers), published as backfill.
        public var backfill = true
        /// The session to follow while no scheduler is heard (none yet, or no `market.session`
        /// for 3 status intervals): `calendar` (the exchange calendar on this machine's clock),
        /// `open` or `closed`. With a scheduler, it decides, with
        /// `market_hours.include_extended_hours` saying whether pre/post-market count as open.
        public var sessionDefault = "calendar"
        /// Seconds without data, while the market is open, before a `feed.silent` alert.
        public var feedSilenceSeconds: Double = 120
        /// Timeout of one HTTP request or WebSocket handshake, in seconds.
        public var requestTimeoutSeconds: Double = 10
        /// Reconnect backoff: first delay and upper bound, in seconds.
        public var reconnectInitialSeconds: Double = 1
        public var reconnectMaxSeconds: Double = 60
        /// Consecutive failures that open the circuit, and how long it stays open (seconds).
        public var circuitFailureThreshold = 5
        public var circuitOpenSeconds: Double = 60
        /// Where the ingestor answers processors' requests for recent bars (docs/bus.md,
        /// "History endpoint"); empty turns the endpoint off.
        public var historyBind = "tcp://127.0.0.1:7752"
        /// Closed bars kept per ticker for those requests.
        public var historyBars = 500
        /// The largest WebSocket frame or message accepted from a streaming provider, in bytes.
        /// A longer message sent in smaller frames is skipped (`rejected.frame_too_large`); a
        /// single longer frame closes the connection and the ingestor reconnects.
        public var maxMessageBytes = 1_048_576
        /// How far ahead of this machine's clock a live provider's event time may be, in
        /// seconds; later events are dropped (`rejected.time_future`). Replay and simulator
        /// keep their own clocks and are not checked.
        public var maxFutureSeconds: Double = 300
        /// A symbol is stale when, while the market is open, nothing came for it for
        /// `stale_factor` times its own usual interval between events (and at least
        /// `stale_min_seconds`): its feed died though the connection may say "connected". A
        /// quiet symbol, whose events are rare, is not stale.
        public var staleFactor: Double = 10
        public var staleMinSeconds: Double = 30
        /// Whether a stale symbol makes the ingestor subscribe again (reconnect), at most once
        /// per `max(60, stale_min_seconds)` seconds.
        public var resubscribeStale = true
        public init() {}
    }

    /// Bar building and indicator settings, shared by the processors and by the ingestor's
    /// history endpoint (which builds the same bars, so a restarted processor can warm up).
    public struct Processor: Sendable, Equatable, Codable {
        /// Bar length in seconds: 60 by default; whole seconds down to 1 for demos.
        public var barIntervalSeconds: Double = 60
        /// How long after its end a bar stays open for late trades, in seconds. Later trades
        /// are counted and dropped.
        public var lateToleranceSeconds: Double = 2
        /// Which bars drive the indicators: `trades` (built here from tick.<SYMBOL> trades) or
        /// `provider` (the provider's own bars from bar.<SYMBOL>).
        public var barSource = "trades"
        /// History endpoints to ask for recent bars at start (every ingestor's `history_bind`).
        public var historyEndpoints = ["tcp://127.0.0.1:7752"]
        /// How long to wait for a history reply, in seconds (at most 300).
        public var historyTimeoutSeconds: Double = 2
        /// The feature vector to publish on features.<SYMBOL>: `default` (see docs/features.md).
        public var featureSet = "default"
        /// How far ahead of the wall clock an event time may be, in seconds (more than 0, at
        /// most 7 days): a later trade or bar is dropped and counted (`rejected.future_time`)
        /// and does not move the event clock. Raise it when `simulator.speed` > 1, whose
        /// market runs ahead of the wall clock by (speed - 1) s every second.
        public var maxEventLeadSeconds: Double = 300
        public init() {}

        /// Upper bounds checked by the config loader (and by the processor, for settings
        /// built in code).
        public static let maxHistoryTimeoutSeconds: Double = 300
        public static let maxEventLeadSecondsLimit: Double = 7 * 86_400
        public static let maxHistoryEndpoints = 64
        public static let maxWindowSize = 100_000
        public static let maxInstances = 256
        /// Tickers one processor serves, at most.
        public static let maxTickersPerInstance = 1_000
        /// The most tickers an elastic pool shares out (`processor --elastic`).
        public static let maxTickersPerPool = 100_000
        public static let maxHistoryBars = 100_000
    }

    /// One processor instance.
    public struct ProcessorInstance: Sendable, Equatable, Codable {
        public var name: String
        public var tickers: [String]
        public init(name: String, tickers: [String]) {
            self.name = name
            self.tickers = tickers
        }
    }

    public struct Providers: Sendable, Equatable, Codable {
        public var alphavantage = AlphaVantage()
        public var polygon = Polygon()
        public var alpaca = Alpaca()
        public var finnhub = Finnhub()
        public init() {}

        public struct AlphaVantage: Sendable, Equatable, Codable {
            public var baseUrl = "https://www.alphavantage.co/query"
            /// `realtime` or `delayed` for premium keys; empty sends no entitlement.
            public var entitlement = ""
            public init() {}
        }

        public struct Polygon: Sendable, Equatable, Codable {
            /// Full URL; overrides host and delayed, e.g. `ws://127.0.0.1:8765/stocks` in tests.
            public var url = ""
            /// `socket.polygon.io` or `socket.massive.com` (and other feed hosts).
            public var host = "socket.polygon.io"
            /// Use the 15-minute delayed host (`delayed.<domain>`).
            public var delayed = false
            /// Event channels subscribed per symbol: T trades, Q quotes, A second and AM minute aggregates.
            public var channels = ["T", "Q", "AM"]
            public init() {}
        }

        public struct Alpaca: Sendable, Equatable, Codable {
            /// Full URL; overrides feed.
            public var url = ""
            /// `iex` (free), `sip` (paid), `delayed_sip` or `test`.
            public var feed = "iex"
            /// Also subscribe to quotes and minute bars.
            public var quotes = true
            public var bars = true
            public init() {}
        }

        public struct Finnhub: Sendable, Equatable, Codable {
            public var url = "wss://ws.finnhub.io"
            public init() {}
        }
    }

    public struct Replay: Sendable, Equatable, Codable {
        /// CSV files to play: Alpha Vantage intraday, generic OHLCV bars or trades.
        public var files: [String] = []
        /// Playback speed: 1 = real time, N = N× faster, 0 = as fast as possible.
        public var speed: Double = 1
        /// Start again at the end.
        public var loop = false
        public init() {}
    }

    public struct BusSettings: Sendable, Equatable, Codable {
        /// Publishers connect here (bus-proxy's XSUB side).
        public var publishEndpoint = "tcp://127.0.0.1:7750"
        /// Subscribers connect here (bus-proxy's XPUB side).
        public var subscribeEndpoint = "tcp://127.0.0.1:7751"
        /// What bus-proxy binds for publishers.
        public var proxyXsubBind = "tcp://127.0.0.1:7750"
        /// What bus-proxy binds for subscribers.
        public var proxyXpubBind = "tcp://127.0.0.1:7751"
        /// Per-peer queue bounds in messages (0 = unlimited).
        public var sendHighWaterMark = 100_000
        public var receiveHighWaterMark = 100_000
        /// The largest message a bus socket accepts, in bytes; a peer sending a larger one is
        /// disconnected. Request/reply answers (history) may be up to 64 times this.
        public var maxMessageBytes = 1_048_576
        /// What every received message is checked against before a service sees it.
        public var validation = Validation()
        /// `curve` (the default): every bus socket is encrypted and authenticated, and
        /// bus-proxy lets each identity publish only its own topic kinds. `none` is an opt-out
        /// for a trusted single machine: services warn at start and bind only to loopback.
        public var security = Security.curve
        /// Where the CURVE keys are (`<identity>.key`, `<identity>.key_secret`); empty is
        /// `TICKWIRE_KEYS_DIR` or the per-user `~/.config/tickwire/keys`, created on first use.
        public var keysDirectory = ""
        /// The topic kinds each identity may publish (docs/bus.md). bus-proxy drops anything
        /// else, and anything whose envelope names another producer than the key's identity.
        public var publishRights: [String: [String]] = [
            "bus-proxy": ["status", "alert"],
            "ingestor": ["tick", "bar", "status", "alert"],
            "processor": ["bar", "features", "status", "alert"],
            "signal-generator": ["signal", "status", "alert"],
            "notifier": ["status", "alert"],
            "scheduler": ["market", "timer", "status", "alert"],
            "journal": ["status", "alert"],
            // `tickwire replay` republishes recorded market data and features into a stack.
            "tickwire": ["tick", "bar", "features", "market", "timer"],
            "dashboard": ["status", "alert"],
            "bus-tap": [],
        ]
        public init() {}

        /// Time bounds for received messages, relative to the receiver's clock (seconds; 0
        /// leaves that side open). `provider: replay` opens the event-time past by itself, and
        /// `provider: simulated` with `simulator.speed` above 1 opens its future.
        public struct Validation: Sendable, Equatable, Codable {
            /// How old an event time (trade, bar, features) may be: 20 years.
            public var maxEventAgeSeconds: Double = 630_720_000
            /// How far ahead of the receiver's clock an event time may be.
            public var maxEventLeadSeconds: Double = 3_600
            /// How old a publish time may be (a consumer catching up reads old messages): 10 years.
            public var maxPublishAgeSeconds: Double = 315_360_000
            /// How far a producer's clock may run ahead of the receiver's.
            public var maxClockSkewSeconds: Double = 300
            public init() {}
        }
    }

    public struct Logging: Sendable, Equatable, Codable {
        /// trace, debug, info, notice, warning, error, critical.
        public var level = "info"
        /// `text` or `json` (one JSON object per line).
        public var format = "text"
        /// Directory for `<service>_<UTC timestamp>.log`; empty disables the file.
        public var directory = "logs"
        /// A log file is rotated (to `.log.1`, `.log.2`, …) before it passes this size.
        public var maxFileBytes = LogSink.defaultMaxFileBytes
        /// Log files kept per service, the current one included; older ones are deleted.
        public var maxFiles = LogSink.defaultMaxFiles
        public init() {}
    }

    public struct Heartbeat: Sendable, Equatable, Codable {
        /// Seconds between `status.<service>` messages.
        public var intervalSeconds: Double = 5
        public init() {}
    }

    /// Each service's HTTP endpoint for Prometheus and probes. A service listens on `port`
    /// plus its own offset (``Metrics/offset(of:)``), so services on one machine never collide,
    /// unless `--metrics-port` names its port exactly (`tickwire up` gives each process one).
    public struct Metrics: Sendable, Equatable, Codable {
        /// The address to bind: loopback by default (`0.0.0.0` in a container).
        public var host = "127.0.0.1"
        /// The base port; 0 turns the endpoint off.
        public var port = 9400
        public init() {}

        /// Each service's offset from the base port.
        public static let offsets: [String: Int] = [
            "bus-proxy": 0, "ingestor": 1, "processor": 2, "signal-generator": 3, "notifier": 4, "scheduler": 5,
            "journal": 6, "dashboard": 7,
        ]

        /// `service`'s offset (services not in ``offsets``: 9).
        public static func offset(of service: String) -> Int { offsets[service] ?? 9 }
    }

    /// The live dashboard's HTTP address.
    public struct DashboardSettings: Sendable, Equatable, Codable {
        /// Loopback by default (`0.0.0.0` in a container).
        public var host = "127.0.0.1"
        public var port = 8700
        public init() {}
    }

    /// The `simulated` provider's market.
    public struct Simulator: Sendable, Equatable, Codable {
        /// Same seed, same market.
        public var seed: UInt64 = 42
        /// Simulated seconds per real second (1 = real time).
        public var speed: Double = 1
        /// Average trades per second per ticker at mid-day.
        public var tradesPerSecond: Double = 4
        /// Quotes published per trade, on average.
        public var quotesPerTrade: Double = 2
        /// Annualised volatility of the random walk.
        public var annualVolatility: Double = 0.3
        /// Starting prices by symbol; others start near 100.
        public var startPrices: [String: Double] = [:]
        /// Bars of simulated history (at `processor.bar_interval_seconds`) published as
        /// backfill at start, so indicators are ready at once; 0 for none.
        public var backfillBars = 0
        /// How strongly prices follow their regime (momentum: the drift follows the recent trend;
        /// mean reversion: a pull back to the slow average); 0 is a plain random walk.
        public var regimeStrength: Double = 1
        /// Average length of a regime, in simulated seconds.
        public var regimeSeconds: Double = 900
        /// Trade only while the session (from the scheduler, or `ingestor.session_default`)
        /// is open; off by default, so a lone simulated ingestor always streams.
        public var followSession = false
        public init() {}
    }

    public struct Stack: Sendable, Equatable, Codable {
        public var services: [StackService] = [StackService(name: "ingestor")]
        /// Seconds a service gets to stop after SIGTERM before it is killed.
        public var stopTimeoutSeconds: Double = 10
        public init() {}
    }

    /// One process `tickwire up` runs.
    public struct StackService: Sendable, Equatable, Codable {
        /// Executable name, e.g. `ingestor` or `bus-tap`.
        public var name: String
        /// Extra arguments; `--config FILE` is added for Tickwire services.
        public var args: [String] = []
        /// Restart it when it exits (with backoff); off for one-shot tools.
        public var restart = true
        /// Pass the stack's `--config` on to it.
        public var passConfig = true

        public init(name: String, args: [String] = [], restart: Bool = true, passConfig: Bool = true) {
            self.name = name
            self.args = args
            self.restart = restart
            self.passConfig = passConfig
        }

        enum CodingKeys: String, CodingKey {
            case name, args, restart, passConfig
        }

        /// Only `name` is required.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(name: try container.decode(String.self, forKey: .name))
            args = try container.decodeIfPresent([String].self, forKey: .args) ?? []
            restart = try container.decodeIfPresent(Bool.self, forKey: .restart) ?? true
            passConfig = try container.decodeIfPresent(Bool.self, forKey: .passConfig) ?? true
        }
    }
}

/// Provider names the `provider` key accepts.
public enum ProviderName {
    public static let simulated = "simulated"
    public static let all: [String] = [
        "alphavantage", "polygon", "massive", "alpaca", "finnhub", "websocket", "replay", simulated,
    ]
}

/// Ensemble methods the `ensemble_method` key accepts.
public enum EnsembleMethodName {
    public static let all: [String] = [
        "simple_average", "weighted_average", "majority_vote", "weighted_vote", "confidence_weighted",
        "dynamic_ensemble",
    ]
}
