import Foundation
import Indicators
import Models

/// `tickwire train`: walk-forward validation of each model kind, the ensemble and two naive
/// baselines on the same out-of-sample rows; then each model fitted on all rows.
public struct TrainingRun {
    public var dataset: Dataset
    public var kinds: [String]
    public var folds: Int
    public var seed: UInt64
    public var ensembleMethod: EnsembleMethod
    public var makeTrainer: (String) throws -> any ClassifierTrainer

    public init(
        dataset: Dataset, kinds: [String], folds: Int, seed: UInt64, ensembleMethod: EnsembleMethod,
        makeTrainer: @escaping (String) throws -> any ClassifierTrainer
    ) {
        self.dataset = dataset
        self.kinds = kinds
        self.folds = folds
        self.seed = seed
        self.ensembleMethod = ensembleMethod
        self.makeTrainer = makeTrainer
    }

    /// Everything the report holds.
    public struct Report: Codable, Sendable {
        public var rows: Int
        public var horizon: Int
        public var deadZone: Double
        public var folds: Int
        public var from: String
        public var to: String
        public var classBalance: [String: Int]
        public var models: [String: Scores]
        public var ensemble: [String: Scores]
        public var baselines: [String: Scores]
        /// Each feature's training distribution (the live feature drift index's reference).
        public var featureBins: [FeatureBins]?

        enum CodingKeys: String, CodingKey {
            case rows, horizon, folds, from, to, models, ensemble, baselines
            case deadZone = "dead_zone"
            case classBalance = "class_balance"
            case featureBins = "feature_bins"
        }
    }

    /// The fold of every row in validation (0: only ever trained on), for `--export-dataset`.
    public private(set) var foldOfRow: [Int] = []
    /// Each model's calibration temperature, and the ensemble's (see ``TemperatureScaling``).
    public private(set) var temperatures: [String: Double] = [:]
    public private(set) var ensembleTemperature = 1.0

    /// Runs validation, then the final fits. Returns the report and the final classifiers.
    public mutating func run(progress: ProgressBar?) throws -> (report: Report, models: [(kind: String, classifier: any Classifier, trainer: any ClassifierTrainer)]) {
        guard (1...WalkForward.maxFolds).contains(folds) else {
            throw TrainingError(message: "folds is \(folds); it must be from 1 to \(WalkForward.maxFolds)")
        }
        guard !kinds.isEmpty else { throw TrainingError(message: "no model kinds to train") }
        let splits = WalkForward(folds: folds, purge: dataset.horizon).splits(count: dataset.count)
        guard !splits.isEmpty else {
            throw TrainingError(message: "\(dataset.count) rows are too few for \(folds) walk-forward folds (need about \(30 * (folds + 1)))")
        }
        foldOfRow = [Int](repeating: 0, count: dataset.count)
        var outOfSample: [String: [[Double]]] = [:]
        var testLabels: [Int] = []
        var majority: [[Double]] = []
        var lastDirection: [[Double]] = []
        for split in splits {
            let train = Array(split.train), test = Array(split.test)
            for i in test { foldOfRow[i] = split.fold }
            let (rows, labels) = dataset.slice(train)
            for kind in kinds {
                let model = try makeTrainer(kind).fit(rows: rows, labels: labels, seed: seed &+ UInt64(split.fold))
                outOfSample[kind, default: []] += test.map { model.probabilities(dataset.rows[$0]) }
                progress?.step("\(kind) fold \(split.fold)/\(splits.count)")
            }
            testLabels += test.map { dataset.labels[$0] }
            // Baselines, fitted on the same training rows: the class frequencies (majority
            // class), and the direction of the last `horizon` bars.
            var frequencies = [Double](repeating: 0, count: Direction.count)
            for y in labels { frequencies[y] += 1 }
            let total = frequencies.reduce(0, +)
            majority += test.map { _ in frequencies.map { $0 / total } }
            lastDirection += test.map { i in
                let past = Dataset.label(dataset.pastReturns[i], deadZone: dataset.deadZone).rawValue
                return (0..<Direction.count).map { $0 == past ? 0.98 : 0.01 }
            }
        }
        // Calibration: a temperature per model, then one for the ensemble, fitted on the
        // out-of-sample predictions; the report's scores are of the calibrated probabilities.
        var models: [String: Scores] = [:]
        for kind in kinds {
            let t = TemperatureScaling.fit(probabilities: outOfSample[kind]!, labels: testLabels)
            temperatures[kind] = t
            outOfSample[kind] = outOfSample[kind]!.map { TemperatureScaling.apply($0, temperature: t) }
            models[kind] = Scores(probabilities: outOfSample[kind]!, labels: testLabels)
        }
        var ensemble: [String: Scores] = [:]
        let perRow = testLabels.indices.map { i in kinds.map { outOfSample[$0]![i] } }
        let served = ensembleMethod == .dynamicEnsemble || ensembleMethod == .weightedAverage || ensembleMethod == .weightedVote
            ? EnsembleMethod.simpleAverage : ensembleMethod
        ensembleTemperature = TemperatureScaling.fit(
            probabilities: perRow.map { served.combine($0, weights: []).probabilities }, labels: testLabels)
        for method in [EnsembleMethod.simpleAverage, .majorityVote, .confidenceWeighted] + (ensembleMethod == .simpleAverage ? [] : [ensembleMethod]) where method != .dynamicEnsemble {
            let combined = perRow.map { TemperatureScaling.apply(method.combine($0, weights: []).probabilities, temperature: ensembleTemperature) }
            ensemble[method.rawValue] = Scores(probabilities: combined, labels: testLabels)
        }
        var balance: [String: Int] = [:]
        for y in dataset.labels { balance[Direction(rawValue: y).map { "\($0)" } ?? "\(y)", default: 0] += 1 }
        let report = Report(
            rows: dataset.count, horizon: dataset.horizon, deadZone: dataset.deadZone, folds: splits.count,
            from: dataset.timestamps.first ?? "", to: dataset.timestamps.last ?? "", classBalance: balance,
            models: models, ensemble: ensemble,
            baselines: [
                "majority_class": Scores(probabilities: majority, labels: testLabels),
                "last_direction": Scores(probabilities: lastDirection, labels: testLabels),
            ],
            featureBins: FeatureBins.of(rows: dataset.rows))
        var finals: [(kind: String, classifier: any Classifier, trainer: any ClassifierTrainer)] = []
        for kind in kinds {
            let trainer = try makeTrainer(kind)
            finals.append((kind, try trainer.fit(rows: dataset.rows, labels: dataset.labels, seed: seed), trainer))
            progress?.step("\(kind) on all \(dataset.count) rows")
        }
        return (report, finals)
    }

    /// The report as a fixed-width table.
    public static func table(_ report: Report) -> String {
        var lines = [
            "walk-forward: \(report.folds) folds, \(report.rows) rows (\(report.from) … \(report.to)), horizon \(report.horizon) bars, dead zone ±\(String(format: "%.5f", report.deadZone))",
            "class balance: " + ["down", "flat", "up"].map { "\($0) \(report.classBalance[$0] ?? 0)" }.joined(separator: ", "),
            "",
            "model".padding(toLength: 32, withPad: " ", startingAt: 0) + "accuracy  balanced  log loss    AUC",
        ]
        func row(_ name: String, _ s: Scores) {
            lines.append(
                name.padding(toLength: 32, withPad: " ", startingAt: 0)
                    + String(format: "%8.3f  %8.3f  %8.3f  %5.3f", s.accuracy, s.balancedAccuracy, s.logLoss, s.auc))
        }
        for (name, s) in report.models.sorted(by: { $0.key < $1.key }) { row(name, s) }
        for (name, s) in report.ensemble.sorted(by: { $0.key < $1.key }) { row("ensemble " + name, s) }
        for (name, s) in report.baselines.sorted(by: { $0.key < $1.key }) { row("baseline " + name, s) }
        if let best = report.ensemble["simple_average"] {
            lines.append("")
            lines.append("calibration (ensemble simple_average, temperature-scaled out of sample): confidence bin → mean confidence, accuracy, count")
            for bin in best.calibration {
                lines.append(String(format: "  %.1f–%.1f  %.3f  %.3f  %d", bin.lower, bin.upper, bin.meanConfidence, bin.accuracy, bin.count))
            }
        }
        return lines.joined(separator: "\n")
    }
}

public struct TrainingError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
