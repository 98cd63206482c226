import Foundation

/// Writes a backtest's files: `trades.csv`, `equity.csv`, `decisions.csv`, `summary.json`
/// and `report.html`.
public enum BacktestOutput {
    /// The files written, in order.
    public static let fileNames = ["trades.csv", "equity.csv", "decisions.csv", "summary.json", "report.html"]

    /// Writes every file into `directory` (made when missing); returns their paths.
    @discardableResult
    public static func write(_ result: BacktestResult, to directory: String) throws -> [String] {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw BacktestError("--out \(directory): cannot make the directory: \(error.localizedDescription)")
        }
        let contents: [(String, Data)] = [
            ("trades.csv", Data(tradesCSV(result).utf8)),
            ("equity.csv", Data(equityCSV(result).utf8)),
            ("decisions.csv", Data(decisionsCSV(result).utf8)),
            ("summary.json", try summaryJSON(result)),
            ("report.html", Data(BacktestReport.html(result).utf8)),
        ]
        var paths: [String] = []
        for (name, data) in contents {
            let path = (directory as NSString).appendingPathComponent(name)
            do {
                try data.write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw BacktestError("\(path): cannot write: \(error.localizedDescription)")
            }
            paths.append(path)
        }
        return paths
    }

    static func time(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    /// A CSV field, quoted when it holds a comma, a quote or a line break.
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func number(_ value: Double) -> String { value.isFinite ? "\(value)" : "" }

    public static func tradesCSV(_ result: BacktestResult) -> String {
        var lines = ["symbol,side,entry_time,entry_price,exit_time,exit_price,shares,commission,profit,return,exit_reason,confidence,stop,target"]
        for t in result.trades {
            lines.append(
                [
                    field(t.symbol), t.side.rawValue, time(t.entryTime), number(t.entryPrice), time(t.exitTime),
                    number(t.exitPrice), number(t.shares), number(t.commission), number(t.profit), number(t.returnFraction),
                    t.exitReason.rawValue, number(t.confidence), number(t.stop), number(t.target),
                ].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func equityCSV(_ result: BacktestResult) -> String {
        var lines = ["time,equity,drawdown,buy_and_hold,exposure"]
        for p in result.equity {
            lines.append([time(p.time), number(p.equity), number(p.drawdown), number(p.buyAndHold), number(p.exposure)].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Every decision: what the strategy said after each bar, and what then happened. With
    /// `trades.csv`, enough to replay the signals in another tool.
    public static func decisionsCSV(_ result: BacktestResult) -> String {
        let names = ["down", "flat", "up"]
        var lines = ["symbol,time,close,action,confidence,predicted,realized,p_down,p_flat,p_up"]
        for d in result.decisions {
            let p = d.probabilities ?? []
            lines.append(
                [
                    field(d.symbol), time(d.time), number(d.close), d.action, number(d.confidence),
                    names.indices.contains(d.predicted) ? names[d.predicted] : "",
                    d.realized.flatMap { names.indices.contains($0) ? names[$0] : nil } ?? "",
                    p.count == 3 ? number(p[0]) : "", p.count == 3 ? number(p[1]) : "", p.count == 3 ? number(p[2]) : "",
                ].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `summary.json`: the summary, and the lookahead check and walk-forward windows when run.
    /// A number that cannot be given (no decision scored) is the string `"NaN"`.
    public static func summaryJSON(_ result: BacktestResult) throws -> Data {
        struct File: Encodable {
            var summary: BacktestSummary
            var lookahead: LookaheadReport?
            var windows: [WindowSummary]?

            func encode(to encoder: any Encoder) throws {
                try summary.encode(to: encoder)
                var container = encoder.container(keyedBy: Keys.self)
                try container.encodeIfPresent(lookahead, forKey: .lookahead)
                try container.encodeIfPresent(windows, forKey: .windows)
            }
            enum Keys: String, CodingKey { case lookahead, windows }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do {
            return try encoder.encode(
                File(summary: result.summary, lookahead: result.lookahead, windows: result.windows.isEmpty ? nil : result.windows))
        } catch {
            throw BacktestError("summary.json: \(error)")
        }
    }
}
