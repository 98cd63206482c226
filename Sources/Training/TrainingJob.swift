import FeatureContract
import Foundation
import Indicators
import Models

/// Everything `tickwire train` does: read bar files, build the dataset with the processor's
/// feature code, validate walk-forward, fit each model on all rows, write the model files,
/// `report.json` and, when asked, the exact dataset used.
public struct TrainingJob {
    public var files: [String]
    public var output: String
    public var horizon: Int
    public var deadZone: Double
    public var kinds: [String]
    public var folds: Int
    public var seed: UInt64
    public var ensembleMethod: EnsembleMethod
    public var timeZone: TimeZone
    public var exportDataset: String?
    public var hyperparameters: [String: [String: Double]] = [:]

    public init(
        files: [String], output: String, horizon: Int, deadZone: Double, kinds: [String], folds: Int, seed: UInt64,
        ensembleMethod: EnsembleMethod, timeZone: TimeZone, exportDataset: String?
    ) {
        self.files = files
        self.output = output
        self.horizon = horizon
        self.deadZone = deadZone
        self.kinds = kinds
        self.folds = folds
        self.seed = seed
        self.ensembleMethod = ensembleMethod
        self.timeZone = timeZone
        self.exportDataset = exportDataset
    }

    /// The symbol a bar file is for: its name up to the first `.`, `_` or `-` (`AAPL.csv`,
    /// `AAPL_1min.csv`), upper-cased.
    public static func symbol(of path: String) -> String {
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return String(name.prefix { $0 != "_" && $0 != "-" && $0 != "." }).uppercased()
    }

    /// The label horizons ``run()`` accepts, in bars (the signal generator's `models.horizon` range).
    public static let horizons = ModelLimits.horizon

    /// Checks the settings: a horizon in ``horizons``, a dead zone from 0 to 1 (a log return;
    /// 0 = balanced), 1...``WalkForward/maxFolds`` folds, known kinds, at least one file.
    public func validate() throws {
        guard !files.isEmpty else { throw TrainingError(message: "no bar files to train on") }
        guard Self.horizons.contains(horizon) else {
            throw TrainingError(message: "horizon is \(horizon) bars; it must be from \(Self.horizons.lowerBound) to \(Self.horizons.upperBound)")
        }
        guard deadZone.isFinite, (0...1).contains(deadZone) else {
            throw TrainingError(message: "dead zone is \(deadZone); it must be from 0 to 1 (a log return; 0 = balanced)")
        }
        guard (1...WalkForward.maxFolds).contains(folds) else {
            throw TrainingError(message: "folds is \(folds); it must be from 1 to \(WalkForward.maxFolds)")
        }
        guard !kinds.isEmpty else { throw TrainingError(message: "no model kinds to train") }
        for kind in kinds where !trainableKinds.contains(kind) {
            throw TrainingError(message: "unknown model kind '\(kind)' (known: \(trainableKinds.joined(separator: ", ")))")
        }
    }

    /// Reads ``files`` and trains on them (``train(bars:quiet:)``).
    public func run() throws -> TrainingRun.Report {
        try validate()
        let bars = try files.map { (symbol: Self.symbol(of: $0), bars: try BarsCSV.read(path: $0, timeZone: timeZone)) }
        return try train(bars: bars)
    }

    /// Trains on bars already read (one entry per ticker) and writes the model files and
    /// `report.json` to ``output``. `quiet` leaves standard error alone (no progress bar), as
    /// walk-forward backtests want.
    public func train(bars: [(symbol: String, bars: [BarRow])], quiet: Bool = false) throws -> TrainingRun.Report {
        try validate()
        let dataset = Dataset.build(files: bars, horizon: horizon, deadZone: deadZone, timeZone: timeZone)
        if !quiet {
            FileHandle.standardError.write(Data(
                "train: \(dataset.count) labelled rows from \(bars.count) file(s), horizon \(horizon) bars, dead zone ±\(String(format: "%.5f", dataset.deadZone))\n".utf8))
        }
        let hyperparameters = self.hyperparameters
        var run = TrainingRun(
            dataset: dataset, kinds: kinds, folds: folds, seed: seed, ensembleMethod: ensembleMethod,
            makeTrainer: { kind in try trainer(kind: kind, hyperparameters: hyperparameters[kind] ?? [:]) })
        let progress = quiet ? nil : ProgressBar(total: kinds.count * (folds + 1))
        let (report, models) = try run.run(progress: progress)

        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let schema = FeaturePipeline.schema
        let created = ISO8601DateFormatter().string(from: Date())
        for (kind, classifier, trainer) in models {
            let scores = report.models[kind]
            let file = ModelFile(
                name: kind, featureSet: schema.name, featureSetVersion: Int(schema.version), schemaHash: schema.hash,
                featureNames: schema.names, hyperparameters: trainer.hyperparameters,
                training: .init(from: report.from, to: report.to, rows: report.rows, horizon: horizon, deadZone: dataset.deadZone),
                metrics: [
                    "accuracy": scores?.accuracy ?? 0, "balanced_accuracy": scores?.balancedAccuracy ?? 0,
                    "log_loss": scores?.logLoss ?? 0, "auc": scores?.auc ?? 0,
                    "temperature": run.temperatures[kind] ?? 1, "ensemble_temperature": run.ensembleTemperature,
                ],
                seed: seed, createdAt: created, payload: try ModelPayload(classifier))
            try file.save(to: (output as NSString).appendingPathComponent("\(kind).json"))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: (output as NSString).appendingPathComponent("report.json")))
        if let exportDataset {
            try Self.export(dataset, folds: run.foldOfRow, to: exportDataset)
        }
        return report
    }

    /// The exact matrix: symbol, timestamp, every feature, the forward return, the label
    /// (0 down, 1 flat, 2 up) and the walk-forward fold (0: training only).
    static func export(_ dataset: Dataset, folds: [Int], to path: String) throws {
        var text = (["symbol", "timestamp"] + FeaturePipeline.schema.names + ["forward_return", "label", "fold"]).joined(separator: ",") + "\n"
        for i in 0..<dataset.count {
            text += dataset.symbols[i] + "," + dataset.timestamps[i] + ","
            text += dataset.rows[i].map { "\($0)" }.joined(separator: ",")
            text += ",\(dataset.forwardReturns[i]),\(dataset.labels[i]),\(folds[i])\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
