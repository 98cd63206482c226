import Foundation
import Models
import Testing

/// Small models shared by the tests (trained once, on 500 rows of the synthetic problem).
enum Fixtures {
    static let data = SyntheticMarket.make(rows: 500, seed: 11)
    static let train = Array(data.rows[..<400])
    static let trainLabels = Array(data.labels[..<400])
    static let test = Array(data.rows[400...])
    /// Quick hyperparameters: the code paths of the defaults, a fraction of the work.
    static let quick: [String: [String: Double]] = [
        "logreg": [:],
        "rf": ["n_estimators": 20],
        "gbt": ["n_estimators": 20, "subsample": 0.8],
        "svm": ["n_components": 200],
    ]
    static let models: [String: any Classifier] = {
        var models: [String: any Classifier] = [:]
        for kind in trainableKinds {
            models[kind] = try! trainer(kind: kind, hyperparameters: quick[kind]!)
                .fit(rows: train, labels: trainLabels, seed: 42)
        }
        return models
    }()

    static func file(_ model: any Classifier, schemaHash: String = "schema-a1b2c3") throws -> ModelFile {
        ModelFile(
            name: "test-\(model.kind)", featureSet: "synthetic", featureSetVersion: 1, schemaHash: schemaHash,
            featureNames: (0..<SyntheticMarket.featureCount).map { "f\($0)" },
            hyperparameters: quick[model.kind] ?? [:],
            training: .init(from: "2024-01-02T14:30:00Z", to: "2024-06-28T20:00:00Z", rows: 400, horizon: 5, deadZone: 0.0005),
            metrics: ["accuracy": 0.61, "log_loss": 0.93], seed: 42, createdAt: "2024-07-01T00:00:00Z",
            payload: try ModelPayload(model))
    }
}

@Suite("Models")
struct ModelTests {
    @Test("every kind gives three probabilities in [0, 1] summing to 1, extreme inputs included",
          arguments: ["logreg", "rf", "gbt", "svm"])
    func probabilities(kind: String) throws {
        let model = try #require(Fixtures.models[kind])
        #expect(model.kind == kind)
        let extreme: [[Double]] = [
            [Double](repeating: 1e9, count: SyntheticMarket.featureCount),
            [Double](repeating: -1e9, count: SyntheticMarket.featureCount),
            [Double](repeating: 0, count: SyntheticMarket.featureCount),
        ]
        var distinct = Set<[Double]>()
        for row in Fixtures.test + extreme {
            let p = model.probabilities(row)
            #expect(p.count == 3)
            #expect(p.allSatisfy { $0 >= 0 && $0 <= 1 && $0.isFinite }, "\(kind): \(p)")
            #expect(abs(p.reduce(0, +) - 1) < 1e-9, "\(kind): \(p)")
            distinct.insert(p)
        }
        #expect(distinct.count > 10, "\(kind) predicts nearly the same thing for every row")
        // Better than always predicting the most common class on held-out rows.
        let testLabels = Array(Fixtures.data.labels[400...])
        let majority = Double((0..<3).map { c in testLabels.filter { $0 == c }.count }.max()!) / Double(testLabels.count)
        #expect(accuracy(model, rows: Fixtures.test, labels: testLabels) > majority + 0.03)
    }

    @Test("the same seed gives byte-identical model files; another seed a different randomized model",
          arguments: ["logreg", "rf", "gbt", "svm"])
    func determinism(kind: String) throws {
        let trainer = try Models.trainer(kind: kind, hyperparameters: Fixtures.quick[kind]!)
        let again = try trainer.fit(rows: Fixtures.train, labels: Fixtures.trainLabels, seed: 42)
        let first = try Fixtures.file(Fixtures.models[kind]!).encoded()
        #expect(try Fixtures.file(again).encoded() == first)
        let other = try trainer.fit(rows: Fixtures.train, labels: Fixtures.trainLabels, seed: 43)
        if kind == "logreg" {
            #expect(try Fixtures.file(other).encoded() == first)  // no randomness in it
        } else {
            #expect(try Fixtures.file(other).encoded() != first)
        }
    }

    @Test("logistic regression reaches the penalised optimum: the gradient vanishes")
    func logisticOptimality() throws {
        let c = 0.5
        let model = try LogisticRegressionTrainer(hyperparameters: ["C": c])
            .fitModel(rows: Fixtures.train, labels: Fixtures.trainLabels)
        let d = SyntheticMarket.featureCount
        var gradientW = [[Double]](repeating: [Double](repeating: 0, count: d), count: 3)
        var gradientB = [Double](repeating: 0, count: 3)
        for (row, label) in zip(Fixtures.train, Fixtures.trainLabels) {
            let x = model.standardizer.transform(row)
            let p = model.probabilities(row)
            for k in 0..<3 {
                let r = p[k] - (k == label ? 1 : 0)
                for j in 0..<d { gradientW[k][j] += r * x[j] }
                gradientB[k] += r
            }
        }
        for k in 0..<3 { for j in 0..<d { gradientW[k][j] += model.coefficients[k][j] / c } }
        let largest = (gradientW.flatMap { $0 } + gradientB).map(abs).max()!
        #expect(largest < 1e-3, "largest gradient component \(largest)")
        // The penalty is on the weights only: a stronger one shrinks them.
        let strong = try LogisticRegressionTrainer(hyperparameters: ["C": 0.01])
            .fitModel(rows: Fixtures.train, labels: Fixtures.trainLabels)
        let norm = { (m: LogisticRegression) in m.coefficients.flatMap { $0 }.map { $0 * $0 }.reduce(0, +) }
        #expect(norm(strong) < norm(model) / 4)
    }

    @Test("a forest tree honours max_depth and min_samples_leaf, and separates a clean threshold exactly")
    func treeConstraints() throws {
        let forest = try RandomForestTrainer(hyperparameters: [
            "n_estimators": 3, "max_depth": 4, "min_samples_leaf": 7, "bootstrap": 0, "max_features": 20,
        ]).fitModel(rows: Fixtures.train, labels: Fixtures.trainLabels, seed: 1)
        for tree in forest.trees {
            #expect(depth(tree, node: 0) <= 4)
            var counts: [Int: Int] = [:]
            for row in Fixtures.train { counts[tree.leaf(row), default: 0] += 1 }
            #expect(counts.values.allSatisfy { $0 >= 7 }, "leaf sizes \(counts.values.sorted())")
            #expect(counts.count == (0..<tree.nodeCount).filter { tree.feature[$0] < 0 }.count)
        }
        // Every feature considered and no bootstrap: the three trees are the same tree.
        #expect(forest.trees[0] == forest.trees[1] && forest.trees[1] == forest.trees[2])

        // One informative feature, split at the midpoint between the classes.
        let rows = (0..<30).map { i in [Double(i), Double((i * 7) % 5)] }
        let labels = (0..<30).map { $0 < 10 ? 0 : $0 < 20 ? 1 : 2 }
        let exact = try RandomForestTrainer(hyperparameters: [
            "n_estimators": 1, "bootstrap": 0, "min_samples_leaf": 1, "max_features": 2,
        ]).fitModel(rows: rows, labels: labels, seed: 0)
        let tree = exact.trees[0]
        #expect(Set(tree.threshold.enumerated().filter { tree.feature[$0.offset] == 0 }.map(\.element)) == [9.5, 19.5])
        #expect(rows.indices.allSatisfy { exact.probabilities(rows[$0])[labels[$0]] == 1 })
    }

    @Test("gradient boosting learns a nonlinear rule no linear model can")
    func boostingLearnsXor() throws {
        var generator = SeededGenerator(seed: 5)
        let rows = (0..<400).map { _ in [2 * generator.unit() - 1, 2 * generator.unit() - 1] }
        let labels = rows.map { ($0[0] > 0) == ($0[1] > 0) ? 2 : 0 }
        let boosted = try GradientBoostingTrainer().fitModel(rows: rows, labels: labels, seed: 0)
        let linear = try LogisticRegressionTrainer().fitModel(rows: rows, labels: labels)
        #expect(accuracy(boosted, rows: rows, labels: labels) > 0.97)
        #expect(accuracy(linear, rows: rows, labels: labels) < 0.7)
        #expect(boosted.probabilities([0.5, 0.5])[1] < 0.05)  // flat never seen: low probability
        #expect(boosted.rounds.count == 100 && boosted.rounds.allSatisfy { $0.count == 3 })
    }

    @Test("random Fourier features approximate the RBF kernel on standardized rows")
    func fourierKernel() throws {
        let svm = try RBFSupportVectorMachineTrainer(hyperparameters: ["n_components": 2000, "calibration_folds": 1])
            .fitModel(rows: Fixtures.train, labels: Fixtures.trainLabels, seed: 3)
        #expect(svm.components == 2000)
        // gamma = 'scale' on standardized features (a few near-constant columns aside): about 1/d.
        #expect(abs(svm.gamma - 1 / Double(SyntheticMarket.featureCount)) < 0.01)
        var worst = 0.0
        for i in 0..<20 {
            let a = Fixtures.train[i], b = Fixtures.train[i + 20]
            let za = svm.fourierFeatures(a).dropLast(), zb = svm.fourierFeatures(b).dropLast()
            let approx = zip(za, zb).map { $0 * $1 }.reduce(0, +)
            let (sa, sb) = (svm.standardizer.transform(a), svm.standardizer.transform(b))
            let exact = exp(-svm.gamma * zip(sa, sb).map { ($0 - $1) * ($0 - $1) }.reduce(0, +))
            worst = max(worst, abs(approx - exact))
            #expect(abs(svm.fourierFeatures(a).dropLast().map { $0 * $0 }.reduce(0, +) - 1) < 0.1)
        }
        #expect(worst < 0.1, "largest kernel error \(worst)")
    }

    @Test("a class missing from the training rows: finite model, valid probabilities, low probability for it",
          arguments: ["logreg", "rf", "gbt", "svm"])
    func missingClass(kind: String) throws {
        let labels = Fixtures.trainLabels.map { $0 == 1 ? 2 : $0 }  // no flat rows
        let model = try trainer(kind: kind, hyperparameters: Fixtures.quick[kind]!)
            .fit(rows: Fixtures.train, labels: labels, seed: 1)
        _ = try Fixtures.file(model).encoded()  // JSON has no infinities: this throws on one
        for row in Fixtures.test {
            let p = model.probabilities(row)
            #expect(p.allSatisfy { $0 >= 0 && $0 <= 1 } && abs(p.reduce(0, +) - 1) < 1e-9)
            #expect(p[1] < 0.05, "\(kind): \(p)")
        }
    }

    @Test("trainers refuse bad training sets")
    func badTrainingSets() throws {
        let trainer = try Models.trainer(kind: "rf", hyperparameters: ["n_estimators": 1])
        #expect(throws: ModelError.emptyTrainingSet) { try trainer.fit(rows: [], labels: [], seed: 0) }
        for kind in trainableKinds {  // rows of no features (logreg's solver trapped on them)
            #expect(throws: ModelError.noFeatures) { try Models.trainer(kind: kind).fit(rows: [[], []], labels: [0, 1], seed: 0) }
        }
        #expect(throws: ModelError.labelCountMismatch(rows: 2, labels: 1)) {
            try trainer.fit(rows: [[1], [2]], labels: [0], seed: 0)
        }
        #expect(throws: ModelError.raggedRow(index: 1, count: 2, expected: 1)) {
            try trainer.fit(rows: [[1], [2, 3]], labels: [0, 1], seed: 0)
        }
        #expect(throws: ModelError.nonFiniteFeature(row: 1, column: 0)) {
            try trainer.fit(rows: [[1], [.nan]], labels: [0, 1], seed: 0)
        }
        #expect(throws: ModelError.labelOutOfRange(row: 0, label: 3)) {
            try trainer.fit(rows: [[1], [2]], labels: [3, 1], seed: 0)
        }
    }

    @Test("the factory: defaults, overrides, refusals")
    func factory() throws {
        for kind in trainableKinds { #expect(try Models.trainer(kind: kind).kind == kind) }
        let rf = try Models.trainer(kind: "rf", hyperparameters: ["max_depth": 12])
        #expect(rf.hyperparameters["max_depth"] == 12 && rf.hyperparameters["n_estimators"] == 100
                && rf.hyperparameters["min_samples_leaf"] == 5)
        let gbt = try Models.trainer(kind: "gbt")
        #expect(gbt.hyperparameters == ["n_estimators": 100, "learning_rate": 0.1, "max_depth": 3, "min_samples_leaf": 1,
                                        "min_samples_split": 2, "subsample": 1.0, "max_features": 0])
        #expect(try Models.trainer(kind: "logreg").hyperparameters["C"] == 1)
        #expect(throws: ModelError.unknownKind("xgboost")) { try Models.trainer(kind: "xgboost") }
        #expect(throws: ModelError.self) { try Models.trainer(kind: "rf", hyperparameters: ["max_dept": 3]) }
        #expect(throws: ModelError.self) { try Models.trainer(kind: "rf", hyperparameters: ["max_depth": 2.5]) }
        #expect(throws: ModelError.self) { try Models.trainer(kind: "gbt", hyperparameters: ["subsample": 0]) }
        #expect(throws: ModelError.self) { try Models.trainer(kind: "svm", hyperparameters: ["C": -1]) }
        do {
            _ = try Models.trainer(kind: "rf", hyperparameters: ["max_dept": 3])
        } catch {
            #expect("\(error)".contains("max_dept") && "\(error)".contains("max_depth"))
        }
    }

    private func depth(_ tree: DecisionTree, node: Int) -> Int {
        tree.feature[node] < 0 ? 0 : 1 + max(depth(tree, node: tree.left[node]), depth(tree, node: tree.right[node]))
    }
}
