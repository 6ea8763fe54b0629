"""Expected values for the model-selection tests (test/unit/selection-*.test.ts), from scikit-learn / scipy.

Usage: /usr/bin/python3 scripts/selection-fixtures.py     (writes test/fixtures/selection-*.json)

The tests read the JSON files and never need Python. Data are generated here with a fixed numpy seed and written
into the fixtures with the expected values, so the tests compute on exactly the same numbers.
Versions used: see "versions" in each file.
"""
import json
import os

import numpy as np
import scipy
import sklearn
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedGroupKFold

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIXTURES = os.path.join(ROOT, "test", "fixtures")
VERSIONS = {"sklearn": sklearn.__version__, "scipy": scipy.__version__, "numpy": np.__version__}


def write(name, payload):
    payload = {"generatedBy": "scripts/selection-fixtures.py", "versions": VERSIONS, **payload}
    with open(os.path.join(FIXTURES, name), "w") as f:
        json.dump(payload, f, indent=1)
        f.write("\n")
    print("wrote", name)


def grouped_data(seed, n_groups, classes, weights):
    """Groups of 1-4 rows; rows of a group mostly share a class (as planets of one star); 2 features."""
    rng = np.random.default_rng(seed)
    labels, groups, X = [], [], []
    for g in range(n_groups):
        size = int(rng.integers(1, 5))
        base = int(rng.choice(classes, p=weights))
        for _ in range(size):
            y = base if rng.random() < 0.8 else int(rng.choice(classes, p=weights))
            labels.append(y)
            groups.append(f"star{g:04d}")
            X.append([rng.normal() + 1.2 * (y == 1) - 0.8 * (y == 2), rng.normal() + 1.0 * (y == 2)])
    return np.array(labels), np.array(groups), np.array(X)


def nearest_centroid_proba(X_train, y_train, X_test, k):
    """The test's toy model: softmax of minus the squared distance to each class's training mean."""
    centroids = np.array([X_train[y_train == c].mean(axis=0) for c in range(k)])
    d = ((X_test[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    z = -d - (-d).max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def cv_fixture():
    labels, groups, X = grouped_data(7, 120, [0, 1, 2], [0.5, 0.3, 0.2])
    k = 3
    folds = 5
    fold_of = np.full(len(labels), -1)
    cv = StratifiedGroupKFold(n_splits=folds, shuffle=False)
    per_fold = []
    oof = np.zeros((len(labels), k))
    for f, (train, test) in enumerate(cv.split(X, labels, groups)):
        fold_of[test] = f
        proba = nearest_centroid_proba(X[train], labels[train], X[test], k)
        oof[test] = proba
        y = labels[test]
        pred = proba.argmax(axis=1)
        per_fold.append(
            {
                "accuracy": accuracy_score(y, pred),
                "balancedAccuracy": balanced_accuracy_score(y, pred),
                "macroF1": f1_score(y, pred, average="macro", labels=sorted(set(y) | set(pred))),
                "macroPrecision": precision_score(y, pred, average="macro", zero_division=0),
                "macroRecall": recall_score(y, pred, average="macro", zero_division=0),
                "weightedF1": f1_score(y, pred, average="weighted"),
                "rocAucOvrMacro": roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=[0, 1, 2]),
                "logLoss": log_loss(y, proba, labels=[0, 1, 2]),
            }
        )
    names = list(per_fold[0].keys())
    summary = {
        name: {
            "mean": float(np.mean([p[name] for p in per_fold])),
            "sd": float(np.std([p[name] for p in per_fold], ddof=1)),
        }
        for name in names
    }
    # A second assignment with 3 folds, to check more than one shape.
    fold_of_3 = np.full(len(labels), -1)
    for f, (_, test) in enumerate(StratifiedGroupKFold(n_splits=3).split(X, labels, groups)):
        fold_of_3[test] = f
    write(
        "selection-cv.json",
        {
            "labels": labels.tolist(),
            "groups": groups.tolist(),
            "X": X.tolist(),
            "classes": ["a", "b", "c"],
            "folds": folds,
            "sklearnFoldOf": fold_of.tolist(),
            "sklearnFoldOf3": fold_of_3.tolist(),
            "perFold": per_fold,
            "summary": summary,
            "pooledOofMacroF1": f1_score(labels, oof.argmax(axis=1), average="macro"),
            "pooledOofLogLoss": log_loss(labels, oof),
        },
    )


if __name__ == "__main__":
    cv_fixture()
