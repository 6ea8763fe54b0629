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


class Identity:
    """A 'fitted classifier' whose probabilities are its input: CalibratedClassifierCV(cv='prefit') calibrates them."""

    _estimator_type = "classifier"

    def __init__(self, k):
        self.classes_ = np.arange(k)

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        return np.asarray(X)

    def get_params(self, deep=True):
        return {}


def overconfident(rng, n, k):
    """Labels drawn from softmax(logits); the 'model' says softmax(2.5 · logits): too sure, as trees often are."""
    logits = rng.normal(size=(n, k)) * 1.5
    true_p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(k, p=row) for row in true_p])
    z = 2.5 * logits
    model = np.exp(z - z.max(axis=1, keepdims=True))
    return model / model.sum(axis=1, keepdims=True), labels


def ece_top_class(labels, proba, bins=10):
    pred = proba.argmax(axis=1)
    conf = proba[np.arange(len(labels)), pred]
    idx = np.minimum(bins - 1, np.floor(conf * bins + 1e-9).astype(int))
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs((pred[m] == labels[m]).mean() - conf[m].mean())
    return ece


def calibration_fixture():
    from sklearn.calibration import CalibratedClassifierCV, calibration_curve
    from sklearn.metrics import brier_score_loss

    rng = np.random.default_rng(11)
    cases = []
    for k in (2, 3):
        p_fit, y_fit = overconfident(rng, 400, k)
        p_test, y_test = overconfident(rng, 201, k)
        for method in ("sigmoid", "isotonic"):
            cal = CalibratedClassifierCV(Identity(k), method=method, cv="prefit").fit(p_fit, y_fit)
            after = cal.predict_proba(p_test)
            calibrators = cal.calibrated_classifiers_[0].calibrators
            case = {
                "k": k,
                "method": method,
                "fitProba": p_fit.ravel().tolist(),
                "fitLabels": y_fit.tolist(),
                "testProba": p_test.ravel().tolist(),
                "testLabels": y_test.tolist(),
                "calibrated": after.ravel().tolist(),
            }
            if method == "sigmoid":
                case["ab"] = [[float(c.a_), float(c.b_)] for c in calibrators]
            measures = {}
            for name, proba in (("before", p_test), ("after", after)):
                onehot = np.eye(k)[y_test]
                measures[name] = {
                    "brier": float(((proba - onehot) ** 2).sum(axis=1).mean()),
                    "binaryBrier": float(brier_score_loss(y_test, proba[:, 1])) if k == 2 else None,
                    "logLoss": float(log_loss(y_test, proba, labels=list(range(k)))),
                    "ece": float(ece_top_class(y_test, proba)),
                    "curves": [
                        {
                            strategy: [
                                a.tolist()
                                for a in calibration_curve(y_test == c, proba[:, c], n_bins=10, strategy=strategy)
                            ]
                            for strategy in ("uniform", "quantile")
                        }
                        for c in range(k)
                    ],
                }
            case["measures"] = measures
            cases.append(case)
    write("selection-calibration.json", {"cases": cases})


def compare_fixture():
    from scipy.stats import binomtest, chi2

    mcnemar = []
    for b, c in [(0, 0), (3, 9), (0, 5), (12, 12), (11, 13), (7, 17), (20, 35), (40, 25), (100, 130), (3, 300)]:
        n = b + c
        if n < 25:
            p = 1.0 if n == 0 else float(binomtest(min(b, c), n, 0.5).pvalue)
            mcnemar.append({"b": b, "c": c, "method": "EXACT_BINOMIAL", "statistic": min(b, c), "pValue": p})
        else:
            stat = (abs(b - c) - 1) ** 2 / n
            mcnemar.append(
                {"b": b, "c": c, "method": "CHI_SQUARE_CORRECTED", "statistic": stat, "pValue": float(chi2.sf(stat, 1))}
            )

    rng = np.random.default_rng(5)
    n, k = 400, 3
    labels = rng.choice(k, size=n, p=[0.5, 0.2, 0.3])
    groups = [f"star{int(i):03d}" for i in rng.integers(0, 250, size=n)]
    signal = np.eye(k)[labels]
    logits_a = 1.2 * signal + rng.normal(size=(n, k))
    logits_b = 1.6 * signal + rng.normal(size=(n, k))
    # Rounded scores, so ties exist and the AUC's tie handling is exercised.
    proba_a = np.round(np.exp(logits_a) / np.exp(logits_a).sum(axis=1, keepdims=True), 2)
    proba_a /= proba_a.sum(axis=1, keepdims=True)
    proba_b = np.exp(logits_b) / np.exp(logits_b).sum(axis=1, keepdims=True)

    def observed(proba):
        pred = proba.argmax(axis=1)
        onehot = np.eye(k)[labels]
        return {
            "accuracy": accuracy_score(labels, pred),
            "balancedAccuracy": balanced_accuracy_score(labels, pred),
            "macroF1": f1_score(labels, pred, average="macro"),
            "rocAucOvrMacro": roc_auc_score(labels, proba, multi_class="ovr", average="macro"),
            "logLoss": log_loss(labels, proba, eps=1e-15),
            "brierScore": float(((proba - onehot) ** 2).sum(axis=1).mean()),
        }

    obs_a, obs_b = observed(proba_a), observed(proba_b)
    # An independent bootstrap (numpy's generator): its sd of the macro-F1 and accuracy differences, rows and stars.
    boot = np.random.default_rng(1)
    unique_groups = sorted(set(groups))
    rows_of = {g: [i for i in range(n) if groups[i] == g] for g in unique_groups}
    sds = {}
    for mode in ("ROWS", "STARS"):
        diffs = {"accuracy": [], "macroF1": []}
        for _ in range(2000):
            if mode == "ROWS":
                idx = boot.integers(0, n, size=n)
            else:
                picked = boot.integers(0, len(unique_groups), size=len(unique_groups))
                idx = np.concatenate([rows_of[unique_groups[g]] for g in picked])
            y = labels[idx]
            pa, pb = proba_a[idx].argmax(axis=1), proba_b[idx].argmax(axis=1)
            diffs["accuracy"].append(accuracy_score(y, pb) - accuracy_score(y, pa))
            diffs["macroF1"].append(f1_score(y, pb, average="macro") - f1_score(y, pa, average="macro"))
        sds[mode] = {m: float(np.std(v, ddof=1)) for m, v in diffs.items()}
    pa, pb = proba_a.argmax(axis=1), proba_b.argmax(axis=1)
    b = int(((pa == labels) & (pb != labels)).sum())
    c = int(((pa != labels) & (pb == labels)).sum())
    write(
        "selection-compare.json",
        {
            "mcnemar": mcnemar,
            "labels": labels.tolist(),
            "groups": groups,
            "probaA": proba_a.ravel().tolist(),
            "probaB": proba_b.ravel().tolist(),
            "observedA": obs_a,
            "observedB": obs_b,
            "discordant": {"b": b, "c": c},
            "bootstrapSd": sds,
        },
    )


if __name__ == "__main__":
    cv_fixture()
    calibration_fixture()
    compare_fixture()
