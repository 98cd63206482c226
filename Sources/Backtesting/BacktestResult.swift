import Foundation

/// Everything a backtest produced: what the report, the CSV files and `summary.json` show.
///
/// Every type here has a public memberwise `init` in its body (so code outside the module, such
/// as the report's tests, can build one; an `init` in an extension would clash with the
/// synthesized one).
public struct BacktestResult: Sendable {
    public init(
        settings: BacktestSettings, strategy: String, models: [String], horizon: Int, deadZone: Double,
        files: [String], prices: [String: [PricePoint]], trades: [Trade], decisions: [DecisionRecord],
        equity: [EquityPoint], accuracy: [AccuracyPoint], summary: BacktestSummary,
        lookahead: LookaheadReport?, windows: [WindowSummary]
    ) {
        self.settings = settings
        self.strategy = strategy
        self.models = models
        self.horizon = horizon
        self.deadZone = deadZone
        self.files = files
        self.prices = prices
        self.trades = trades
        self.decisions = decisions
        self.equity = equity
        self.accuracy = accuracy
        self.summary = summary
        self.lookahead = lookahead
        self.windows = windows
    }

    /// One ticker's bars as traded (after `from`), for the price chart.
    public struct PricePoint: Sendable, Equatable {
        public init(time: Date, open: Double, high: Double, low: Double, close: Double) {
            self.time = time
            self.open = open
            self.high = high
            self.low = low
            self.close = close
        }

        public var time: Date
        public var open: Double
        public var high: Double
        public var low: Double
        public var close: Double
    }

    /// A closed round trip.
    public struct Trade: Sendable, Equatable {
        public init(
            symbol: String, side: Side, entryTime: Date, entryPrice: Double, exitTime: Date, exitPrice: Double,
            shares: Double, commission: Double, profit: Double, returnFraction: Double, exitReason: ExitReason,
            confidence: Double, stop: Double, target: Double
        ) {
            self.symbol = symbol
            self.side = side
            self.entryTime = entryTime
            self.entryPrice = entryPrice
            self.exitTime = exitTime
            self.exitPrice = exitPrice
            self.shares = shares
            self.commission = commission
            self.profit = profit
            self.returnFraction = returnFraction
            self.exitReason = exitReason
            self.confidence = confidence
            self.stop = stop
            self.target = target
        }

        public enum Side: String, Sendable { case long, short }
        public enum ExitReason: String, Sendable {
            case signal, stop, target, time, end
        }
        public var symbol: String
        public var side: Side
        public var entryTime: Date
        public var entryPrice: Double
        public var exitTime: Date
        public var exitPrice: Double
        public var shares: Double
        /// Commission on both fills.
        public var commission: Double
        /// Net of commission and slippage.
        public var profit: Double
        /// `profit` over the entry value.
        public var returnFraction: Double
        public var exitReason: ExitReason
        /// The confidence of the signal that opened it.
        public var confidence: Double
        public var stop: Double
        public var target: Double
    }

    /// One decision (every closed bar with features after `from`), with its outcome once known.
    public struct DecisionRecord: Sendable, Equatable {
        public init(
            symbol: String, time: Date, close: Double, action: String, confidence: Double, predicted: Int,
            realized: Int?, previous: Int?, probabilities: [Double]?
        ) {
            self.symbol = symbol
            self.time = time
            self.close = close
            self.action = action
            self.confidence = confidence
            self.predicted = predicted
            self.realized = realized
            self.previous = previous
            self.probabilities = probabilities
        }

        public var symbol: String
        public var time: Date
        public var close: Double
        /// BUY, SELL or HOLD after the threshold.
        public var action: String
        public var confidence: Double
        /// The direction the strategy found most likely: 0 down, 1 flat, 2 up.
        public var predicted: Int
        /// The realized direction `horizon` bars later (nil near the end of the data).
        public var realized: Int?
        /// The realized direction over the `horizon` bars before this one (known now): the
        /// persistence baseline's prediction.
        public var previous: Int?
        /// P(down), P(flat), P(up) when the strategy has them.
        public var probabilities: [Double]?
    }

    /// The equity of all accounts together at one bar time.
    public struct EquityPoint: Sendable, Equatable {
        public init(time: Date, equity: Double, drawdown: Double, buyAndHold: Double, exposure: Double) {
            self.time = time
            self.equity = equity
            self.drawdown = drawdown
            self.buyAndHold = buyAndHold
            self.exposure = exposure
        }

        public var time: Date
        public var equity: Double
        /// Below the running peak, as a fraction (0 or negative).
        public var drawdown: Double
        /// Buy and hold of every ticker with the same starting capital.
        public var buyAndHold: Double
        /// The fraction of accounts in the market.
        public var exposure: Double
    }

    /// A model's live accuracy after a bar.
    public struct AccuracyPoint: Sendable, Equatable {
        public init(time: Date, model: String, accuracy: Double, outcomes: Int) {
            self.time = time
            self.model = model
            self.accuracy = accuracy
            self.outcomes = outcomes
        }

        public var time: Date
        public var model: String
        public var accuracy: Double
        public var outcomes: Int
    }

    /// A statistic with its bootstrap interval.
    public struct Estimate: Sendable, Equatable, Codable {
        public init(value: Double, low: Double, high: Double) {
            self.value = value
            self.low = low
            self.high = high
        }

        public var value: Double
        public var low: Double
        public var high: Double
    }

    public var settings: BacktestSettings
    /// The strategy's name, e.g. `ensemble(logreg,rf,gbt)`.
    public var strategy: String
    /// The models, as `name@version`, for an ensemble.
    public var models: [String]
    public var horizon: Int
    public var deadZone: Double
    public var files: [String]
    public var prices: [String: [PricePoint]]
    public var trades: [Trade]
    public var decisions: [DecisionRecord]
    public var equity: [EquityPoint]
    public var accuracy: [AccuracyPoint]
    public var summary: BacktestSummary
    /// The lookahead check, when it ran.
    public var lookahead: LookaheadReport?
    /// Walk-forward windows, with `--retrain-every`.
    public var windows: [WindowSummary]
}

/// The headline numbers, as `summary.json` holds them.
public struct BacktestSummary: Sendable, Equatable, Codable {
    public init(
        strategy: String, from: String, to: String, bars: Int, initialCapital: Double, finalEquity: Double,
        totalReturn: BacktestResult.Estimate, cagr: Double, sharpe: BacktestResult.Estimate, sortino: Double,
        maxDrawdown: Double, winRate: Double, exposure: Double, trades: Int, buyAndHold: BuyAndHold,
        accuracy: BacktestResult.Estimate, decisionsScored: Int, baselines: [Baseline],
        edge: BacktestResult.Estimate, edgeIsSignificant: Bool, verdict: String, models: [ModelAccuracy],
        settings: [String: String], inSampleDecisions: Int = 0, trainedThrough: String? = nil
    ) {
        self.inSampleDecisions = inSampleDecisions
        self.trainedThrough = trainedThrough
        self.strategy = strategy
        self.from = from
        self.to = to
        self.bars = bars
        self.initialCapital = initialCapital
        self.finalEquity = finalEquity
        self.totalReturn = totalReturn
        self.cagr = cagr
        self.sharpe = sharpe
        self.sortino = sortino
        self.maxDrawdown = maxDrawdown
        self.winRate = winRate
        self.exposure = exposure
        self.trades = trades
        self.buyAndHold = buyAndHold
        self.accuracy = accuracy
        self.decisionsScored = decisionsScored
        self.baselines = baselines
        self.edge = edge
        self.edgeIsSignificant = edgeIsSignificant
        self.verdict = verdict
        self.models = models
        self.settings = settings
    }

    public struct Baseline: Sendable, Equatable, Codable {

        public init(name: String, accuracy: Double) {
            self.name = name
            self.accuracy = accuracy
        }

        public var name: String
        public var accuracy: Double
    }

    public struct ModelAccuracy: Sendable, Equatable, Codable {

        public init(model: String, liveAccuracy: Double, outcomes: Int, validationAccuracy: Double?) {
            self.model = model
            self.liveAccuracy = liveAccuracy
            self.outcomes = outcomes
            self.validationAccuracy = validationAccuracy
        }

        public var model: String
        public var liveAccuracy: Double
        public var outcomes: Int
        public var validationAccuracy: Double?

        enum CodingKeys: String, CodingKey {
            case model, outcomes
            case liveAccuracy = "live_accuracy"
            case validationAccuracy = "validation_accuracy"
        }
    }

    public var strategy: String
    public var from: String
    public var to: String
    public var bars: Int
    public var initialCapital: Double
    public var finalEquity: Double
    public var totalReturn: BacktestResult.Estimate
    public var cagr: Double
    public var sharpe: BacktestResult.Estimate
    public var sortino: Double
    public var maxDrawdown: Double
    public var winRate: Double
    public var exposure: Double
    public var trades: Int
    public var buyAndHold: BuyAndHold
    /// Directional accuracy of the decisions whose outcome is known.
    public var accuracy: BacktestResult.Estimate
    public var decisionsScored: Int
    public var baselines: [Baseline]
    /// Accuracy minus the best baseline's, with its interval (paired block bootstrap).
    public var edge: BacktestResult.Estimate
    public var edgeIsSignificant: Bool
    /// One plain sentence: is there an edge?
    public var verdict: String
    public var models: [ModelAccuracy]
    public var settings: [String: String]
    /// Scored decisions dated inside the models' training period (in-sample, so optimistic).
    public var inSampleDecisions: Int
    /// The last day the models were trained on, when their files say.
    public var trainedThrough: String?

    public struct BuyAndHold: Sendable, Equatable, Codable {

        public init(totalReturn: Double, cagr: Double, sharpe: Double, maxDrawdown: Double) {
            self.totalReturn = totalReturn
            self.cagr = cagr
            self.sharpe = sharpe
            self.maxDrawdown = maxDrawdown
        }

        public var totalReturn: Double
        public var cagr: Double
        public var sharpe: Double
        public var maxDrawdown: Double

        enum CodingKeys: String, CodingKey {
            case cagr, sharpe
            case totalReturn = "total_return"
            case maxDrawdown = "max_drawdown"
        }
    }

    enum CodingKeys: String, CodingKey {
        case strategy, from, to, bars, cagr, sharpe, sortino, exposure, trades, accuracy, baselines, edge, verdict, models, settings
        case initialCapital = "initial_capital"
        case finalEquity = "final_equity"
        case totalReturn = "total_return"
        case maxDrawdown = "max_drawdown"
        case winRate = "win_rate"
        case buyAndHold = "buy_and_hold"
        case decisionsScored = "decisions_scored"
        case edgeIsSignificant = "edge_is_significant"
        case inSampleDecisions = "in_sample_decisions"
        case trainedThrough = "trained_through"
    }
}

/// What `--check-lookahead` found.
public struct LookaheadReport: Sendable, Equatable, Codable {
    public init(cuts: [Int], comparisons: Int, differences: [String]) {
        self.cuts = cuts
        self.comparisons = comparisons
        self.differences = differences
    }

    /// How many bars each rerun saw.
    public var cuts: [Int]
    /// Feature values and decisions compared, over all cuts.
    public var comparisons: Int
    /// The first difference, `symbol time: what`; empty when there is none.
    public var differences: [String]
    public var passed: Bool { differences.isEmpty }
}

/// One walk-forward window of `--retrain-every`.
public struct WindowSummary: Sendable, Equatable, Codable {
    public init(
        index: Int, trainedThrough: String, from: String, to: String, decisions: Int, accuracy: Double,
        returnFraction: Double
    ) {
        self.index = index
        self.trainedThrough = trainedThrough
        self.from = from
        self.to = to
        self.decisions = decisions
        self.accuracy = accuracy
        self.returnFraction = returnFraction
    }

    public var index: Int
    public var trainedThrough: String
    public var from: String
    public var to: String
    public var decisions: Int
    public var accuracy: Double
    public var returnFraction: Double

    enum CodingKeys: String, CodingKey {
        case index, from, to, decisions, accuracy
        case trainedThrough = "trained_through"
        case returnFraction = "return"
    }
}
