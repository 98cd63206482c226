import ArgumentParser
import Contracts
import FeatureContract
import Foundation
import Indicators
import MarketData
import Models
import ServiceKit
import Training

/// `tickwire train`: models from bar files, validated walk-forward.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the models on bar files (walk-forward validated) and write them with report.json.",
        discussion: "Features come from the processor's own code (FeaturePipeline). Prints accuracy, balanced accuracy, log loss, AUC and a calibration table per model, for the ensemble and for naive baselines."
    )

    @Option(parsing: .upToNextOption, help: "Bar files (CSV: timestamp or date, open, high, low, close, volume); the symbol is the file name.")
    var data: [String]

    @Option(help: "Directory for the model files and report.json.")
    var out = "models"

    @Option(help: "Bars ahead to predict (default: models.horizon, 5).")
    var horizon: Int?

    @Option(name: .customLong("dead-zone"), help: "Return threshold of the flat class; 0 picks one that balances the classes (default: models.dead_zone).")
    var deadZone: Double?

    @Option(help: "Comma-separated model kinds: rf, gbt, svm, logreg (default: models.kinds).")
    var models: String?

    @Option(help: "Walk-forward folds.")
    var folds = 5

    @Option(help: "Seed: same data and seed, same models.")
    var seed: UInt64 = 42

    @Option(name: .customLong("export-dataset"), help: "Also write the exact feature matrix, labels and fold of every row to this CSV.")
    var exportDataset: String?

    @Option(help: "Config file (models, market_hours, ensemble_method). Env: TICKWIRE_CONFIG.")
    var config: String?

    @Option(name: .customLong("trees"), help: "Trees for rf and rounds for gbt (a quick demo uses fewer).")
    var trees: Int?

    func validate() throws {
        guard !data.isEmpty else { throw ValidationError("--data needs at least one bar file") }
        let horizons = TrainingJob.horizons
        if let horizon, !horizons.contains(horizon) {
            throw ValidationError("--horizon must be from \(horizons.lowerBound) to \(horizons.upperBound) bars")
        }
        if let deadZone, !(deadZone.isFinite && (0...1).contains(deadZone)) {
            throw ValidationError("--dead-zone must be from 0 to 1 (a log return; 0 = balanced)")
        }
        guard (1...WalkForward.maxFolds).contains(folds) else {
            throw ValidationError("--folds must be from 1 to \(WalkForward.maxFolds)")
        }
        if let trees, !(1...10_000).contains(trees) { throw ValidationError("--trees must be from 1 to 10000") }
        if let models {
            for kind in models.split(separator: ",") where !trainableKinds.contains(String(kind)) {
                throw ValidationError("unknown model kind '\(kind)' (known: \(trainableKinds.joined(separator: ", ")))")
            }
        }
    }

    func run() throws {
        let loaded = try loadConfig(config)
        let zone = TimeZone(identifier: loaded.marketHours.timezone) ?? .gmt
        var job = TrainingJob(
            files: data, output: out, horizon: horizon ?? loaded.models.horizon, deadZone: deadZone ?? loaded.models.deadZone,
            kinds: models.map { $0.split(separator: ",").map(String.init) } ?? loaded.models.kinds, folds: folds, seed: seed,
            ensembleMethod: EnsembleMethod(rawValue: loaded.ensembleMethod) ?? .simpleAverage, timeZone: zone,
            exportDataset: exportDataset)
        if let trees {
            job.hyperparameters["rf"] = ["n_estimators": Double(trees)]
            job.hyperparameters["gbt"] = ["n_estimators": Double(trees)]
        }
        do {
            let report = try job.run()
            print(TrainingRun.table(report))
            print("\nmodels and report.json written to \(out)")
        } catch {
            FileHandle.standardError.write(Data("tickwire train: \(error)\n".utf8))
            throw ExitCode(65)
        }
    }
}

/// `tickwire predict`: score a feature file offline with one model (ours or an XGBoost JSON).
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a feature file (from `processor features` or --export-dataset) with a model file: p_down, p_flat, p_up per row."
    )

    @Option(help: "A Tickwire model file, or an XGBoost JSON model (save_model(\"m.json\")).") var model: String
    @Option(help: "Features CSV with a header of feature names.") var input: String
    @Option(help: "Where to write the probabilities.") var output: String

    static let nonFeatureColumns: Set<String> = ["timestamp", "date", "symbol", "forward_return", "label", "fold"]

    func run() throws {
        do {
            let text = try String(contentsOfFile: input, encoding: .utf8)
            var lines = text.split(whereSeparator: \.isNewline)
            guard !lines.isEmpty else { throw TrainingError(message: "\(input): the file is empty") }
            let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let featureColumns = header.indices.filter { !Self.nonFeatureColumns.contains(header[$0]) }
            let keyColumn = header.firstIndex(of: "timestamp") ?? header.firstIndex(of: "date")
            let classifier: any Classifier
            let order: [Int]
            let names = featureColumns.map { header[$0] }
            let schema = FeatureSchema(name: FeaturePipeline.schema.name, version: FeaturePipeline.schema.version, names: names)
            switch try AnyModelFile.load(path: model, expectedSchemaHash: schema.hash) {
            case .xgboost(let xgb):
                guard xgb.numFeatures == featureColumns.count else {
                    throw TrainingError(message: "\(model) reads \(xgb.numFeatures) features; \(input) has \(featureColumns.count) feature columns")
                }
                classifier = xgb
                order = featureColumns
            case .tickwire(let file):
                classifier = try file.classifier()
                order = try file.featureNames.map { name in
                    guard let column = header.firstIndex(of: name) else {
                        throw TrainingError(message: "\(model): feature_names lists '\(name)', which \(input) has no column for")
                    }
                    return column
                }
            }
            var out = (keyColumn.map { [header[$0]] } ?? ["row"]) + ["p_down", "p_flat", "p_up"]
            var result = out.joined(separator: ",") + "\n"
            for (number, line) in lines.enumerated() {
                let cells = line.split(separator: ",", omittingEmptySubsequences: false)
                guard cells.count == header.count else {
                    throw TrainingError(message: "\(input):\(number + 2): expected \(header.count) fields, found \(cells.count)")
                }
                out = [keyColumn.map { String(cells[$0]) } ?? String(number + 1)]
                let values = order.map { Double(cells[$0]) ?? .nan }
                if values.contains(where: { !$0.isFinite }) && !(classifier is XGBoostModel) {
                    result += out[0] + ",,,\n"  // features not defined yet
                    continue
                }
                let p: [Double]
                do {
                    p = try classifier.predict(values)
                } catch {
                    throw TrainingError(message: "\(input):\(number + 2): \(error)")
                }
                result += out[0] + "," + p.map { "\($0)" }.joined(separator: ",") + "\n"
            }
            try result.write(toFile: output, atomically: true, encoding: .utf8)
            FileHandle.standardError.write(Data("tickwire predict: \(lines.count) rows scored with \(classifier.kind) → \(output)\n".utf8))
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("tickwire predict: \(error)\n".utf8))
            throw ExitCode(65)
        }
    }
}

/// `tickwire history`: training data, downloaded with the ingestor's own client.
struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download bars for training: alphavantage (TIME_SERIES_INTRADAY, full) or simulated (the demo's market)."
    )

    @Option(help: "alphavantage or simulated.") var provider = "alphavantage"
    @Option(help: "The symbol.") var symbol: String
    @Option(help: "alphavantage: 1min, 5min, 15min, 30min or 60min; simulated: seconds per bar, e.g. 5s.") var interval = "1min"
    @Option(name: .customLong("api-key"), help: "Alpha Vantage key (default: api_key from config or TICKWIRE_API_KEY).") var apiKey: String?
    @Option(name: .customLong("provider-url"), help: "Alpha Vantage base URL (a local server in tests).") var providerURL: String?
    @Option(help: "simulated: how many bars.") var bars = 3_000
    @Option(help: "simulated: the market's seed (default: simulator.seed); another seed, another history.") var seed: UInt64?
    @Option(help: "simulated: when the last bar ends, ISO 8601 with an offset (default: now).") var end: String?
    @Option(help: "Output CSV (default: <SYMBOL>.csv).") var output: String?
    @Option(help: "Config file. Env: TICKWIRE_CONFIG.") var config: String?

    func validate() throws {
        guard ["alphavantage", "simulated"].contains(provider) else { throw ValidationError("--provider must be alphavantage or simulated") }
        if provider == "alphavantage" && !["1min", "5min", "15min", "30min", "60min"].contains(interval) {
            throw ValidationError("--interval for alphavantage must be 1min, 5min, 15min, 30min or 60min")
        }
    }

    func run() async throws {
        var loaded = try loadConfig(config)
        if let seed { loaded.simulator.seed = seed }
        let path = output ?? "\(symbol).csv"
        var csv = "timestamp,open,high,low,close,volume\n"
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: loaded.marketHours.timezone) ?? .gmt
        formatter.formatOptions = [.withInternetDateTime]
        func row(start: Int64, open: Double, high: Double, low: Double, close: Double, volume: Double) {
            let stamp = formatter.string(from: Date(timeIntervalSince1970: Double(start) / 1e9))
            csv += "\(stamp),\(open),\(high),\(low),\(close),\(volume)\n"
        }
        if provider == "simulated" {
            let seconds = Int64(interval.trimmingCharacters(in: CharacterSet(charactersIn: "s"))) ?? 0
            guard seconds > 0 else { throw ValidationError("--interval for simulated is seconds per bar, e.g. 5s") }
            if let problem = SimulatedHistory.problem(count: bars, intervalSeconds: seconds) {
                throw ValidationError(problem)
            }
            var endNanoseconds: Int64?
            if let end {
                guard let instant = ISO8601Instant.parse(end) else {
                    throw ValidationError("--end must be an ISO 8601 time with an offset, e.g. 2025-03-12T16:00:00-04:00 (got '\(end)')")
                }
                endNanoseconds = instant
            }
            for bar in SimulatedHistory.bars(symbol: symbol, config: loaded, count: bars, intervalSeconds: seconds, end: endNanoseconds) {
                row(start: bar.startTimeNs, open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume)
            }
        } else {
            if apiKey != nil { FileHandle.standardError.write(Data("tickwire: \(CommonOptions.apiKeyWarning)\n".utf8)) }
            guard let key = apiKey ?? loaded.apiKey?.value, !key.isEmpty else {
                throw ValidationError("an Alpha Vantage key is needed: --api-key, api_key in the config, or TICKWIRE_API_KEY")
            }
            let base = providerURL ?? (loaded.providerUrl.isEmpty ? loaded.providers.alphavantage.baseUrl : loaded.providerUrl)
            let url = AlphaVantage.url(base: base, function: .intraday, symbol: symbol, apiKey: key, interval: interval, outputSize: "full")
            let response: HTTPResponse
            do {
                response = try await CurlHTTPClient().get(url, timeout: .seconds(60))
            } catch {
                FileHandle.standardError.write(Data("tickwire history: \(error)\n".utf8))
                throw ExitCode(69)
            }
            switch AlphaVantage.parseSeries(response, symbol: symbol, apiKey: key) {
            case .success(let series):
                for bar in series.bars {
                    row(start: bar.startNs, open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume)
                }
            case .failure(let issue):
                FileHandle.standardError.write(Data("tickwire history: \(issue)\n".utf8))
                throw ExitCode(69)
            }
        }
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        FileHandle.standardError.write(Data("tickwire history: \(csv.split(separator: "\n").count - 1) bars of \(symbol) → \(path)\n".utf8))
    }
}

func loadConfig(_ file: String?) throws -> TickwireConfig {
    let path = file ?? ProcessInfo.processInfo.environment["TICKWIRE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
    do {
        return try ConfigLoader().load(file: path).config
    } catch {
        FileHandle.standardError.write(Data("tickwire: \(error)\n".utf8))
        throw ExitCode(ServiceRuntime.configErrorExitCode)
    }
}
