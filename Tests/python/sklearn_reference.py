"""scikit-learn reference accuracies for Tests/ModelsTests (the Swift models are checked against these).

Usage: sklearn_reference.py DATA.csv SPLIT [--no-svm]

DATA.csv has a header; every column but the last is a feature, the last (`label`) a class
index 0..2. Rows [0, SPLIT) train, rows [SPLIT, end) test (a time-ordered split). Prints one
JSON object: the test accuracy of each model, the row counts, each model's fit time, and the
test-set class probabilities of logistic regression and gradient boosting (deterministic up to
tie-breaking, so the Swift models should agree closely).
Needs scikit-learn and numpy (the project's .venv).
"""

import json
import sys
import time

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit("usage: sklearn_reference.py DATA.csv SPLIT [--no-svm]")
    path, split = sys.argv[1], int(sys.argv[2])
    with_svm = "--no-svm" not in sys.argv[3:]
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    x, y = data[:, :-1], data[:, -1].astype(int)
    x_train, y_train, x_test, y_test = x[:split], y[:split], x[split:], y[split:]

    models = {
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)),
        "rf": RandomForestClassifier(n_estimators=100, max_depth=8, min_samples_leaf=5, random_state=0),
        "gbt": GradientBoostingClassifier(n_estimators=100, max_depth=3, learning_rate=0.1, random_state=0),
    }
    if with_svm:
        models["svm"] = make_pipeline(StandardScaler(), SVC(kernel="rbf", gamma="scale", probability=True, random_state=0))

    result = {"train_rows": int(split), "test_rows": int(len(y) - split), "accuracy": {}, "seconds": {},
              "probabilities": {}}
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(x_train, y_train)
        result["seconds"][name] = round(time.perf_counter() - start, 3)
        result["accuracy"][name] = float(np.mean(model.predict(x_test) == y_test))
        # The deterministic models' test probabilities, for row-by-row comparisons.
        if name in ("logreg", "gbt"):
            result["probabilities"][name] = model.predict_proba(x_test).tolist()
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
