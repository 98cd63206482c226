import Backtesting
import Foundation
import Testing

/// A hand-built backtest result: a random-walk price per symbol, a trade every 40 bars
/// (alternating long and short), a decision per bar with outcomes, equity, and per-model
/// accuracy. Deterministic (its own small generator).
enum SyntheticResult {
    static func make(
        bars: Int, symbols: [String] = ["AAPL"], significant: Bool = false, start: Date = Date(timeIntervalSince1970: 946_684_800)
    ) -> BacktestResult {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func uniform() -> Double {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(seed >> 11) / Double(1 << 53)
        }
        let day = 86_400.0
        var prices: [String: [BacktestResult.PricePoint]] = [:]
        var trades: [BacktestResult.Trade] = []
        var decisions: [BacktestResult.DecisionRecord] = []
        for (symbolIndex, symbol) in symbols.enumerated() {
            var close = 100.0 + Double(symbolIndex) * 20
            var points: [BacktestResult.PricePoint] = []
            for bar in 0..<bars {
                let open = close
                close *= 1 + (uniform() - 0.49) * 0.03
                let time = start.addingTimeInterval(Double(bar) * day)
                points.append(.init(time: time, open: open, high: max(open, close) * 1.005, low: min(open, close) * 0.995, close: close))
                let confidence = 0.34 + uniform() * 0.6
                let predicted = Int(uniform() * 3) % 3
                let realized: Int? = bar + 5 < bars ? (uniform() < confidence * 0.8 ? predicted : (predicted + 1) % 3) : nil
                decisions.append(.init(
                    symbol: symbol, time: time, close: close, action: predicted == 2 ? "BUY" : predicted == 0 ? "SELL" : "HOLD",
                    confidence: confidence, predicted: predicted, realized: realized, previous: nil, probabilities: nil))
            }
            prices[symbol] = points
            var bar = 10
            var long = true
            while bar + 20 < bars {
                let entry = points[bar]
                let exit = points[bar + 15]
                let profit = (long ? 1.0 : -1.0) * (exit.close - entry.open) * 10
                trades.append(.init(
                    symbol: symbol, side: long ? .long : .short, entryTime: entry.time, entryPrice: entry.open,
                    exitTime: exit.time, exitPrice: exit.close, shares: 10, commission: 1, profit: profit,
                    returnFraction: profit / (entry.open * 10), exitReason: .signal, confidence: 0.7,
                    stop: entry.open * 0.95, target: 0))
                long.toggle()
                bar += 40
            }
        }
        var equity: [BacktestResult.EquityPoint] = []
        var value = 100_000.0
        var hold = 100_000.0
        var peak = value
        for bar in 0..<bars {
            value *= 1 + (uniform() - 0.495) * 0.01
            hold *= 1 + (uniform() - 0.49) * 0.012
            peak = max(peak, value)
            equity.append(.init(
                time: start.addingTimeInterval(Double(bar) * day), equity: value, drawdown: value / peak - 1,
                buyAndHold: hold, exposure: 0.5))
        }
        let models = ["logreg@3", "rf@2", "gbt@5"]
        var accuracy: [BacktestResult.AccuracyPoint] = []
        for (index, model) in models.enumerated() {
            var hits = 0.0
            for bar in stride(from: 0, to: bars, by: 1) where bar >= 5 {
                if uniform() < 0.45 + 0.03 * Double(index) { hits += 1 }
                let outcomes = bar - 4
                accuracy.append(.init(
                    time: start.addingTimeInterval(Double(bar) * day), model: model, accuracy: hits / Double(outcomes),
                    outcomes: outcomes))
            }
        }
        let summary = BacktestSummary(
            strategy: "ensemble(logreg,rf,gbt)", from: "2000-01-01", to: "2013-09-08", bars: bars,
            initialCapital: 100_000, finalEquity: value,
            totalReturn: .init(value: value / 100_000 - 1, low: -0.2, high: 0.3), cagr: 0.012,
            sharpe: .init(value: 0.4, low: -0.3, high: 1.1), sortino: 0.55, maxDrawdown: -0.18, winRate: 0.52,
            exposure: 0.5, trades: trades.count,
            buyAndHold: .init(totalReturn: hold / 100_000 - 1, cagr: 0.03, sharpe: 0.5, maxDrawdown: -0.35),
            accuracy: .init(value: 0.41, low: 0.39, high: 0.43), decisionsScored: decisions.count,
            baselines: [.init(name: "persistence", accuracy: 0.38), .init(name: "majority class", accuracy: 0.40)],
            edge: .init(value: 0.01, low: -0.01, high: 0.03), edgeIsSignificant: significant,
            verdict: significant
                ? "The strategy beats the best baseline by 1.0 points (95% interval 0.5 to 1.5): an edge."
                : "No edge: the strategy's accuracy is within the best baseline's (interval -1.0 to 3.0 points).",
            models: [
                .init(model: "logreg@3", liveAccuracy: 0.45, outcomes: bars, validationAccuracy: 0.47),
                .init(model: "rf@2", liveAccuracy: 0.48, outcomes: bars, validationAccuracy: nil),
            ],
            settings: ["fill": "next_open", "commission": "0.0005"])
        return BacktestResult(
            settings: BacktestSettings(), strategy: "ensemble(logreg,rf,gbt)", models: models, horizon: 5,
            deadZone: 0.001, files: symbols.map { "data/\($0).csv" }, prices: prices, trades: trades,
            decisions: decisions, equity: equity, accuracy: accuracy, summary: summary,
            lookahead: LookaheadReport(cuts: [500, 1_200], comparisons: 4_000, differences: []),
            windows: [
                WindowSummary(index: 0, trainedThrough: "2004-12-31", from: "2005-01-03", to: "2008-12-31", decisions: 1_000, accuracy: 0.41, returnFraction: 0.05)
            ])
    }

    /// A result with nothing in it.
    static func empty() -> BacktestResult {
        var result = make(bars: 0)
        result.prices = [:]
        result.trades = []
        result.decisions = []
        result.equity = []
        result.accuracy = []
        result.models = []
        result.files = []
        result.windows = []
        result.lookahead = nil
        result.summary.baselines = []
        result.summary.models = []
        return result
    }
}

@Suite("Backtest report")
struct ReportTests {
    static let chartIds = ["chart-price-AAPL", "chart-equity", "chart-reliability", "chart-accuracy"]

    @Test("has the four charts, each with an id, a title and an accessible name, and the tables")
    func charts() {
        let html = BacktestReport.html(SyntheticResult.make(bars: 300))
        for id in Self.chartIds {
            #expect(html.contains("<svg class=\"chart\" id=\"\(id)\" role=\"img\" aria-label=\""), "missing \(id)")
        }
        #expect(html.components(separatedBy: "<title>").count - 1 >= 5)
        for table in ["table-headline", "table-baselines", "table-models", "table-windows", "table-settings"] {
            #expect(html.contains("id=\"\(table)\""), "missing \(table)")
        }
        #expect(html.contains("class=\"marker buy\""))
        #expect(html.contains("class=\"marker sell\""))
        #expect(html.contains("class=\"marker exit\""))
        #expect(html.contains("id=\"lookahead\""))
        // The intervals are shown beside their values.
        #expect(html.contains("41.00% <span class=\"interval\">[39.00%, 43.00%]</span>"))
        #expect(html.contains("0.40 <span class=\"interval\">[-0.30, 1.10]</span>"))
    }

    @Test("the verdict is coloured by significance: no edge is a warning, never the edge colour")
    func verdict() {
        let none = BacktestReport.html(SyntheticResult.make(bars: 50, significant: false))
        #expect(none.contains("<div class=\"verdict no-edge\""))
        #expect(!none.contains("<div class=\"verdict edge\""))
        #expect(none.contains("No significant edge"))
        let edge = BacktestReport.html(SyntheticResult.make(bars: 50, significant: true))
        #expect(edge.contains("<div class=\"verdict edge\""))
        #expect(!edge.contains("id=\"in-sample\""))
        var inSample = SyntheticResult.make(bars: 50, significant: true)
        inSample.summary.inSampleDecisions = 12
        inSample.summary.trainedThrough = "2000-<01>"
        let warned = BacktestReport.html(inSample)
        #expect(warned.contains("12 of 50 scored decisions are in-sample"))
        #expect(warned.contains("through 2000-&lt;01&gt;"))
    }

    @Test("loads nothing: no http(s) reference, no script or stylesheet source, no link")
    func selfContained() {
        let html = BacktestReport.html(SyntheticResult.make(bars: 500, symbols: ["AAPL", "MSFT"]))
        let lower = html.lowercased()
        for forbidden in ["http://", "https://", "<script src", "<link", "<img", "@import", "url(", "<iframe", "src="] {
            #expect(!lower.contains(forbidden), "report contains \(forbidden)")
        }
    }

    @Test("escapes symbols, file names, model names and the verdict")
    func escaping() {
        var result = SyntheticResult.make(bars: 120, symbols: ["A<B&\"C\""])
        result.files = ["data/<x>&'y'.csv"]
        result.models = ["<script>alert(1)</script>"]
        result.summary.verdict = "No edge <b>&</b>"
        result.accuracy = result.accuracy.map { var point = $0; point.model = "m<\"1\">"; return point }
        let html = BacktestReport.html(result)
        #expect(!html.contains("A<B"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("<b>&"))
        #expect(html.contains("A&lt;B&amp;&quot;C&quot;"))
        #expect(html.contains("data/&lt;x&gt;&amp;&#39;y&#39;.csv"))
        #expect(html.contains("m&lt;&quot;1&quot;&gt;"))
        // The chart's id is made of safe characters only; the symbol itself is in an attribute, escaped.
        #expect(html.contains("id=\"chart-price-A_B__C_\""))
        #expect(html.contains("data-symbol=\"A&lt;B&amp;&quot;C&quot;\""))
    }

    @Test("symbols that clean to the same id get different ids")
    func distinctIds() {
        let html = BacktestReport.html(SyntheticResult.make(bars: 60, symbols: ["A<B", "A>B"]))
        #expect(html.contains("id=\"chart-price-A_B\""))
        #expect(html.contains("id=\"chart-price-A_B-2\""))
    }

    @Test("empty data: still a page with the four chart elements and notes instead of lines")
    func empty() {
        let html = BacktestReport.html(SyntheticResult.empty())
        for id in ["chart-price", "chart-equity", "chart-reliability", "chart-accuracy"] {
            #expect(html.contains("id=\"\(id)\""), "missing \(id)")
        }
        #expect(html.contains("No equity to draw."))
        #expect(html.contains("No decision with a known outcome yet."))
        #expect(html.contains("No live accuracy recorded."))
        #expect(html.hasSuffix("</html>\n"))
    }

    @Test("a single bar, NaN, infinities and absurd times are skipped, not drawn and not crashed on")
    func hostileNumbers() {
        var single = SyntheticResult.make(bars: 1)
        single.trades = []
        _ = BacktestReport.html(single)

        var result = SyntheticResult.make(bars: 200)
        let values: [Double] = [.nan, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, 0]
        for (index, value) in values.enumerated() {
            result.prices["AAPL"]?[index * 3].close = value
            result.equity[index * 3].equity = value
            result.equity[index * 3 + 1].drawdown = value
            result.equity[index * 3 + 2].buyAndHold = value
            result.decisions[index].confidence = value
            result.accuracy[index].accuracy = value
            result.trades[index % result.trades.count].entryPrice = value
        }
        result.prices["AAPL"]?[30].time = Date(timeIntervalSince1970: .nan)
        result.prices["AAPL"]?[31].time = Date(timeIntervalSince1970: 1e300)
        result.equity[40].time = Date(timeIntervalSince1970: -.infinity)
        result.trades[3].exitTime = Date(timeIntervalSince1970: .infinity)
        result.summary.totalReturn = .init(value: .nan, low: -.infinity, high: .infinity)
        result.summary.sharpe = .init(value: .greatestFiniteMagnitude, low: -.greatestFiniteMagnitude, high: .nan)
        result.summary.cagr = .infinity
        result.summary.finalEquity = 1e300
        result.settings.confidenceLevel = .nan
        let html = BacktestReport.html(result)
        // No "nan" or "inf" written as a number anywhere after the style sheet.
        let body = html.split(separator: "</style>", maxSplits: 1).last.map(String.init) ?? html
        let written = body.matches(of: /(?i)\b-?(nan|inf|infinity)\b/).map { String(body[$0.range]) }
        #expect(written.isEmpty, "non-finite numbers written: \(written.prefix(5))")
        #expect(html.contains("chart-price-AAPL"))

        // Every value of a line the same (a zero span), and only non-finite values.
        var flat = SyntheticResult.make(bars: 50)
        flat.prices["AAPL"] = flat.prices["AAPL"]?.map { var point = $0; point.close = 42; return point }
        flat.equity = flat.equity.map { var point = $0; point.equity = .nan; point.buyAndHold = .nan; return point }
        let flatHTML = BacktestReport.html(flat)
        #expect(flatHTML.contains("class=\"price\""))
        #expect(flatHTML.contains("No equity to draw."))
    }

    @Test("reliability bins count only decisions with a known outcome, clamped to [0, 1]")
    func reliabilityBins() {
        let time = Date(timeIntervalSince1970: 0)
        func decision(_ confidence: Double, _ predicted: Int, _ realized: Int?) -> BacktestResult.DecisionRecord {
            .init(symbol: "X", time: time, close: 1, action: "BUY", confidence: confidence, predicted: predicted,
                  realized: realized, previous: nil, probabilities: nil)
        }
        let result = SyntheticResult.empty()
        var withDecisions = result
        withDecisions.decisions = [
            decision(0.95, 2, 2), decision(0.97, 2, 0), decision(1.5, 1, 1), decision(0.05, 0, 0), decision(-3, 0, 1),
            decision(0.5, 2, nil), decision(.nan, 2, 2),
        ]
        let html = BacktestReport.html(withDecisions)
        #expect(html.contains("hit rate by bin (5 decisions)"))
        #expect(html.contains("3 decisions, mean confidence 97.3%, hit rate 66.7%"))
        #expect(html.contains("2 decisions, mean confidence 2.5%, hit rate 50.0%"))
    }

    @Test("a 5,000-bar daily file makes a page well under 2 MB; long lines are thinned")
    func size() {
        let html = BacktestReport.html(SyntheticResult.make(bars: 5_000))
        let bytes = html.utf8.count
        #expect(bytes < 1_000_000, "5,000 bars: \(bytes) bytes")
        // Twenty years of one-minute bars for two symbols is still bounded.
        let big = BacktestReport.html(SyntheticResult.make(bars: 60_000, symbols: ["AAPL", "MSFT"]))
        #expect(big.utf8.count < 2_000_000, "60,000 bars: \(big.utf8.count) bytes")
        for line in ["class=\"price\"", "class=\"equity\"", "class=\"hold\""] {
            guard let range = big.range(of: line) else {
                Issue.record("missing \(line)")
                continue
            }
            let rest = big[range.upperBound...]
            let points = rest.prefix { $0 != "/" && $0 != ">" }.split(separator: " ").count
            #expect(points <= BacktestReport.maxPointsPerLine + 8, "\(line): \(points) points")
        }
        print("report size: 5,000 bars \(bytes) bytes; 60,000 bars x 2 symbols \(big.utf8.count) bytes")
    }

    @Test("min/max thinning keeps the extremes")
    func downsampleKeepsExtremes() {
        var html = SyntheticResult.make(bars: 10_000)
        html.prices["AAPL"]?[7_777].close = 1_000_000
        let page = BacktestReport.html(html)
        // The spike sets the axis: a tick label at or above 900,000 exists.
        #expect(page.contains(">1,000,000.00</text>") || page.contains(">1,000,000</text>") || page.contains(">900,000</text>"))
    }
}
