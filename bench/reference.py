"""Reference side of `npm run bench:ml`: scikit-learn / XGBoost on the split that bench/ml.ts exported.

Usage: /usr/bin/python3 bench/reference.py <dir>      (reads <dir>/config.json and the CSVs, writes <dir>/results.json)
       /usr/bin/python3 bench/reference.py --probe    (prints the library versions as JSON, or the import error)

Inputs are the RAW feature matrices (empty cell = missing). Preprocessing is done here, fitted on the training
split only, as ours: median imputation (+ standard scaling for the non-tree models). scikit-learn 1.2 trees do
not accept NaN, so RandomForest / DecisionTree get train medians too, while ours route NaN natively; XGBoost and
HistGradientBoosting take NaN as ours do. Fit time = the estimator's `fit` only (preprocessing excluded on both
sides). Probabilities are returned so bench/ml.ts scores both sides with the same code.
"""
import json
import os
import sys
import time
import warnings


def probe():
    try:
        import numpy
        import sklearn
        import xgboost
    except Exception as error:  # noqa: BLE001 - any import failure means "no reference"
        print(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}))
        return
    print(json.dumps({"ok": True, "numpy": numpy.__version__, "sklearn": sklearn.__version__, "xgboost": xgboost.__version__}))


def main(folder):
    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier
    from xgboost import XGBClassifier

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)

    def load(name):
        return np.genfromtxt(os.path.join(folder, name), delimiter=",", dtype=np.float64, missing_values="", filling_values=np.nan, ndmin=2)

    X_train, X_test = load("X_train.csv"), load("X_test.csv")
    y_train = np.loadtxt(os.path.join(folder, "y_train.csv"), dtype=np.int64)
    y_test = np.loadtxt(os.path.join(folder, "y_test.csv"), dtype=np.int64)
    svm_rows = np.asarray(config.get("svmRows", []), dtype=np.int64)
    threads = int(config.get("threads", 2))
    num_classes = int(config["numClasses"])
    # 10,000 rows to time prediction: the test rows repeated (bench/ml.ts builds the same block).
    X_predict = X_test[np.arange(int(config.get("predictRows", 10000))) % X_test.shape[0]]

    imputer = SimpleImputer(strategy="median").fit(X_train)
    Xi_train, Xi_test, Xi_predict = imputer.transform(X_train), imputer.transform(X_test), imputer.transform(X_predict)
    scaler = StandardScaler().fit(Xi_train)
    Xs_train, Xs_test = scaler.transform(Xi_train), scaler.transform(Xi_test)

    # --impute-trees (investigation): the NaN-native references get imputed input too, so no side handles NaN.
    if config.get("imputeTrees"):
        X_train, X_test, X_predict = Xi_train, Xi_test, Xi_predict

    # reference key → (estimator factory(seed), train matrix, test matrix, predict matrix or None, note)
    def estimators(seed):
        return {
            "rf": (
                lambda: RandomForestClassifier(n_estimators=100, n_jobs=threads, random_state=seed),
                Xi_train, Xi_test, Xi_predict, "RandomForestClassifier(n_estimators=100, n_jobs=%d) on train-median-imputed X (sklearn 1.2 RF rejects NaN)" % threads,
            ),
            "xgb": (
                lambda: XGBClassifier(tree_method="hist", n_estimators=100, max_depth=6, learning_rate=0.1, n_jobs=threads, random_state=seed),
                X_train, X_test, X_predict, "XGBClassifier(tree_method='hist', n_estimators=100, max_depth=6, learning_rate=0.1, n_jobs=%d), NaN native" % threads,
            ),
            "hgb": (
                lambda: HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_depth=6, max_leaf_nodes=None, early_stopping=False, random_state=seed),
                X_train, X_test, X_predict, "HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_depth=6, max_leaf_nodes=None, early_stopping=False; min_samples_leaf=20, l2=0 defaults), NaN native",
            ),
            "dt": (
                lambda: DecisionTreeClassifier(random_state=seed),
                Xi_train, Xi_test, Xi_predict, "DecisionTreeClassifier() defaults on train-median-imputed X",
            ),
            "nn": (
                # n_iter_no_change=max_iter: no stop on a training-loss plateau either, so both sides run every epoch.
                lambda: MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=config["nnEpochs"], batch_size=32, learning_rate_init=0.001,
                                      alpha=1e-4, early_stopping=False, n_iter_no_change=config["nnEpochs"], random_state=seed),
                Xs_train, Xs_test, None, "MLPClassifier((64,32), max_iter=%d, batch_size=32, learning_rate_init=0.001, alpha=1e-4, early_stopping=False, n_iter_no_change=max_iter), standardised" % config["nnEpochs"],
            ),
            "lr": (
                lambda: LogisticRegression(C=1.0, max_iter=1000),
                Xs_train, Xs_test, None, "LogisticRegression(C=1, max_iter=1000) (lbfgs, multinomial), standardised",
            ),
            "svm": (
                lambda: SVC(probability=True, random_state=seed),
                Xs_train[svm_rows] if svm_rows.size else Xs_train, Xs_test, None,
                "SVC(probability=True) rbf C=1 gamma=scale, standardised, on the same %d training rows as ours%s" % (
                    svm_rows.size or Xs_train.shape[0], " (stratified subsample)" if 0 < svm_rows.size < Xs_train.shape[0] else " (whole training split)"),
            ),
            "pca": (
                lambda: make_pipeline(PCA(n_components=0.95), LogisticRegression(C=1.0, max_iter=1000)),
                Xs_train, Xs_test, None, "make_pipeline(PCA(0.95), LogisticRegression(C=1, max_iter=1000)), standardised",
            ),
        }

    results = {}
    for key in config["references"]:
        runs = []
        note = ""
        for seed in config["seeds"]:
            factory, train, test, predict, note = estimators(seed)[key]
            labels = y_train[svm_rows] if key == "svm" and svm_rows.size else y_train
            model = factory()
            started, cpu_started = time.perf_counter(), time.process_time()
            model.fit(train, labels)
            fit_seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu_started  # all threads of this process
            proba = model.predict_proba(test)
            run = {
                "seed": seed,
                "fitSeconds": fit_seconds,
                "cpuSeconds": cpu_seconds,
                "proba": proba.ravel().tolist(),
                # sklearn's own figures, to cross-check bench/ml.ts's scoring of these probabilities.
                "sklearn": {
                    "accuracy": float(accuracy_score(y_test, proba.argmax(axis=1))),
                    "macroF1": float(f1_score(y_test, proba.argmax(axis=1), average="macro")),
                    "rocAuc": float(roc_auc_score(y_test, proba, multi_class="ovr", average="macro", labels=list(range(num_classes)))),
                },
            }
            if key == "nn":
                run["epochs"] = int(model.n_iter_)
            if key == "pca":
                run["components"] = int(model[0].n_components_)
            if predict is not None and seed == config["seeds"][0]:
                model.predict_proba(predict)  # warm-up
                timings, cpu_timings = [], []
                for _ in range(int(config.get("predictRepeats", 10))):
                    started, cpu_started = time.perf_counter(), time.process_time()
                    model.predict_proba(predict)
                    timings.append(time.perf_counter() - started)
                    cpu_timings.append(time.process_time() - cpu_started)
                # best of N, as bench/ml.ts; CPU time sums threads (RF predicts with n_jobs threads)
                run["predictMs"] = min(timings) * 1000
                run["predictCpuMs"] = min(cpu_timings) * 1000
            runs.append(run)
            print(f"  [reference] {key} seed {seed}: fit {fit_seconds:.2f} s", file=sys.stderr, flush=True)
        results[key] = {"note": note, "runs": runs}

    with open(os.path.join(folder, "results.json"), "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    if sys.argv[1] == "--probe":
        probe()
    else:
        main(sys.argv[1])
