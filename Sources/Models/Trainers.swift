import Foundation

/// The kinds ``trainer(kind:hyperparameters:)`` can train.
public let trainableKinds = ["logreg", "rf", "gbt", "svm"]

/// The trainer for `kind` (`logreg`, `rf`, `gbt`, `svm`), its defaults overridden by
/// `hyperparameters`. Throws ``ModelError`` for an unknown kind, an unknown hyperparameter
/// name or an invalid value.
public func trainer(kind: String, hyperparameters: [String: Double] = [:]) throws -> any ClassifierTrainer {
    switch kind {
    case "logreg": try LogisticRegressionTrainer(hyperparameters: hyperparameters)
    case "rf": try RandomForestTrainer(hyperparameters: hyperparameters)
    case "gbt": try GradientBoostingTrainer(hyperparameters: hyperparameters)
    case "svm": try RBFSupportVectorMachineTrainer(hyperparameters: hyperparameters)
    default: throw ModelError.unknownKind(kind)
    }
}
