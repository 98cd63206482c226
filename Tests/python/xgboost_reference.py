#!/usr/bin/env python3
"""XGBoost's own probabilities for the models Tickwire's XGBoostModel must reproduce.

    xgboost_reference.py OUTPUT_DIR

Trains small XGBClassifier models deterministically on synthetic data (49 features, some of
them NaN in about 10% of the rows), saves each with `save_model("xgboost-NAME.json")` and
writes `xgboost-NAME.csv`: one evaluation row per line, the 49 features (`nan` where missing,
Python's shortest round-trip repr otherwise) then `predict_proba`'s columns. The evaluation
rows include rows with NaN, an all-NaN row, and rows whose features sit exactly on a split
threshold or on the float64 just below one (which float32 rounds up onto the threshold:
xgboost compares `float(x) < threshold` in float32, so those rows go right).

Models (NAME):
  softprob      multi:softprob, 300 rounds, depth 4, intercept estimated by xgboost (3.x
                saves it as the vector string "[a,b,c]")
  softprob_bs   multi:softprob, 120 rounds, depth 6, base_score=0.3, L1/L2, subsampling
  softmax       multi:softmax (predict_proba is scipy's softmax of the margins)
  binary        binary:logistic (label 1 = up), base_score=0.35
  dart          booster=dart, rate_drop 0.2 (each tree scaled by its weight_drop)
  early         multi:softprob trained with early stopping: predict_proba uses the trees up
                to best_iteration only
  forest        multi:softprob, num_parallel_tree=3 (boosted random forest)
"""
import csv
import json
import os
import sys

import numpy as np
import xgboost as xgb

FEATURES = 49


def dataset(rng, n, classes):
    """Rows with signal in a few features, NaN in features 3, 7 and 20 about 10% of the time."""
    X = rng.normal(size=(n, FEATURES))
    X[:, 10] = rng.integers(0, 5, size=n)  # a discrete feature: many rows sit on a threshold
    score = X[:, 0] + 0.5 * X[:, 1] - 0.7 * np.nan_to_num(X[:, 3]) + 0.3 * X[:, 10] + rng.normal(scale=0.8, size=n)
    for j in (3, 7, 20):
        X[rng.random(n) < 0.1, j] = np.nan
    if classes == 3:
        y = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))
    else:
        y = (score > np.median(score)).astype(int)
    return X, y


def thresholds(path):
    """(feature, threshold) of every numerical split in a saved model."""
    learner = json.load(open(path))["learner"]
    booster = learner["gradient_booster"]
    model = booster["model"] if "model" in booster else booster["gbtree"]["model"]
    out = []
    for tree in model["trees"]:
        for node, left in enumerate(tree["left_children"]):
            if left != -1:
                out.append((tree["split_indices"][node], tree["split_conditions"][node]))
    return out


def evaluation_rows(rng, X_test, path):
    """Held-out rows, an all-NaN row, and rows placed on and just below split thresholds."""
    rows = [X_test[i].copy() for i in range(len(X_test))]
    rows.append(np.full(FEATURES, np.nan))
    splits = thresholds(path)
    picks = rng.choice(len(splits), size=min(150, len(splits)), replace=False)
    for k in picks:
        feature, threshold = splits[k]
        on = X_test[rng.integers(len(X_test))].copy()
        on[feature] = np.float64(np.float32(threshold))
        below = on.copy()
        # float64 just below the threshold: float32(below) == threshold, so xgboost goes right.
        below[feature] = np.nextafter(np.float64(np.float32(threshold)), -np.inf)
        rows.extend([on, below])
    return np.array(rows)


def write(out_dir, name, model, rows):
    path = os.path.join(out_dir, f"xgboost-{name}.json")
    model.save_model(path)
    # Reload as a fresh classifier: the probabilities are those of the saved file.
    loaded = xgb.XGBClassifier()
    loaded.load_model(path)
    proba = loaded.predict_proba(rows)
    assert np.array_equal(proba, model.predict_proba(rows))
    with open(os.path.join(out_dir, f"xgboost-{name}.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([f"f{j}" for j in range(FEATURES)] + [f"p{k}" for k in range(proba.shape[1])])
        for row, p in zip(rows, proba):
            w.writerow([repr(float(v)) for v in row] + [repr(float(v)) for v in p])


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    specs = {
        "softprob": (3, dict(objective="multi:softprob", n_estimators=300, max_depth=4, learning_rate=0.1)),
        "softprob_bs": (3, dict(objective="multi:softprob", n_estimators=120, max_depth=6, learning_rate=0.3,
                                base_score=0.3, reg_alpha=0.5, reg_lambda=2.0, subsample=0.8,
                                colsample_bytree=0.7)),
        "softmax": (3, dict(objective="multi:softmax", n_estimators=60, max_depth=3)),
        "binary": (2, dict(objective="binary:logistic", n_estimators=150, max_depth=5, base_score=0.35)),
        "dart": (3, dict(booster="dart", n_estimators=50, max_depth=3, rate_drop=0.2, skip_drop=0.0)),
        "early": (3, dict(objective="multi:softprob", n_estimators=400, max_depth=5, learning_rate=0.3,
                          early_stopping_rounds=10, eval_metric="mlogloss")),
        "forest": (3, dict(objective="multi:softprob", n_estimators=20, max_depth=4, num_parallel_tree=3,
                           subsample=0.7, colsample_bynode=0.6)),
    }
    for seed, (name, (classes, params)) in enumerate(specs.items()):
        rng = np.random.default_rng(100 + seed)
        X, y = dataset(rng, 2000, classes)
        X_train, y_train, X_test = X[:1500], y[:1500], X[1500:]
        model = xgb.XGBClassifier(random_state=seed, n_jobs=1, tree_method="hist", **params)
        if "early_stopping_rounds" in params:
            model.fit(X_train[:1200], y_train[:1200], eval_set=[(X_train[1200:], y_train[1200:])], verbose=False)
            assert model.best_iteration + 1 < model.get_booster().num_boosted_rounds()
        else:
            model.fit(X_train, y_train)
        tmp = os.path.join(out_dir, f"xgboost-{name}.json")
        model.save_model(tmp)
        write(out_dir, name, model, evaluation_rows(rng, X_test, tmp))


if __name__ == "__main__":
    main()
