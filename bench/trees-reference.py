"""Reference side of `npm run bench:trees`: scikit-learn RandomForest / XGBoost hist on the exact matrices ours uses.

Usage: /usr/bin/python3 bench/trees-reference.py <folder>
The folder holds config.json ({"cols", "classes", "threads", "models": ["rf", "xgb"], "predictRepeats", "repeats"})
and little-endian float64 files train_X.bin, test_X.bin, predict_X.bin, int32 train_y.bin, test_y.bin written by
bench/trees-quick.ts. NaN stays NaN for XGBoost (native missing values); RandomForest gets train medians (sklearn 1.2
does not accept NaN). Prints one JSON object: {model: {"fitSeconds": [..], "predictMs": [..], "macroF1": ..}}.
Predict time is the best of `predictRepeats` calls of predict_proba on predict_X, per repeat. CPU times (all the
process's threads, time.process_time) beside the wall times.
"""
import json
import os
import sys
import time


def main(folder):
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import f1_score
    from xgboost import XGBClassifier

    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    cols = config["cols"]

    def matrix(name):
        return np.fromfile(os.path.join(folder, name), dtype="<f8").reshape(-1, cols)

    X_train, X_test, X_predict = matrix("train_X.bin"), matrix("test_X.bin"), matrix("predict_X.bin")
    y_train = np.fromfile(os.path.join(folder, "train_y.bin"), dtype="<i4")
    y_test = np.fromfile(os.path.join(folder, "test_y.bin"), dtype="<i4")
    medians = np.nanmedian(X_train, axis=0)
    medians = np.where(np.isnan(medians), 0.0, medians)

    def imputed(X):
        return np.where(np.isnan(X), medians, X)

    threads = config["threads"]
    factories = {
        "rf": (lambda: RandomForestClassifier(n_estimators=100, n_jobs=threads, random_state=42), imputed),
        "xgb": (
            lambda: XGBClassifier(n_estimators=100, max_depth=6, learning_rate=0.1, tree_method="hist",
                                  n_jobs=threads, random_state=42),
            lambda X: X,
        ),
    }
    results = {}
    for key in config["models"]:
        factory, prepare = factories[key]
        train, test, predict = prepare(X_train), prepare(X_test), prepare(X_predict)
        fits, predicts, fit_cpu, predict_cpu, f1 = [], [], [], [], None
        for _ in range(config["repeats"]):
            model = factory()
            started, cpu_started = time.perf_counter(), time.process_time()
            model.fit(train, y_train)
            fits.append(time.perf_counter() - started)
            fit_cpu.append(time.process_time() - cpu_started)
            if predict.shape[0] > 0:
                model.predict_proba(predict)  # warm-up
                best, best_cpu = float("inf"), float("inf")
                for _ in range(config["predictRepeats"]):
                    started, cpu_started = time.perf_counter(), time.process_time()
                    model.predict_proba(predict)
                    best = min(best, time.perf_counter() - started)
                    best_cpu = min(best_cpu, time.process_time() - cpu_started)
                predicts.append(best * 1000)
                predict_cpu.append(best_cpu * 1000)
            f1 = float(f1_score(y_test, model.predict_proba(test).argmax(axis=1), average="macro"))
        results[key] = {"fitSeconds": fits, "predictMs": predicts, "fitCpuSeconds": fit_cpu, "predictCpuMs": predict_cpu, "macroF1": f1}
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])
