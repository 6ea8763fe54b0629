"""scikit-learn side of `npm run bench:search`: RandomizedSearchCV and HalvingRandomSearchCV on the rows, folds,
space and time budget that bench/search.ts exported.

Usage: /usr/bin/python3 bench/search_reference.py <dir>   (reads config.json and the CSVs, writes results.json)

- Folds: bench/search.ts's grouped stratified folds, as a PredefinedSplit (the very same rows per fold).
- Space: the default spaces of src/ml/selection/search-space.ts for random_forest and xgboost (the config carries
  them), mirrored: log-uniform ranges drawn log-uniformly, 'all' max_features = None. RandomForestClassifier gets
  median-imputed input (scikit-learn 1.2's trees take no NaN); XGBClassifier (hist) takes NaN as ours does.
- RandomizedSearchCV with a clock: scikit-learn has no time budget, so it runs one candidate at a time
  (n_iter=1, random_state = seed + i) until the budget is spent; every call is a RandomizedSearchCV.
- HalvingRandomSearchCV: factor 3, resource n_estimators from 300 // 9 to 300, candidates = 3 × the trials random
  search completed rounded up to a multiple of 9 (as ours); it cannot stop midway, so its real time is reported.
- Scoring f1_macro; the best configuration is refitted on all search rows and scored on the test rows.
"""
import json
import math
import os
import sys
import time
import warnings

import numpy as np


class LogUniformInt:
    def __init__(self, low, high):
        self.low, self.high = low, high

    def rvs(self, random_state=None):
        rng = np.random.default_rng(random_state.randint(2**31) if hasattr(random_state, "randint") else random_state)
        x = math.exp(math.log(self.low) + rng.random() * (math.log(self.high) - math.log(self.low)))
        return int(min(self.high, max(self.low, round(x))))


def distributions(space, prefix):
    from scipy.stats import loguniform, randint, uniform

    out = {}
    for d in space["dimensions"]:
        name = prefix + d["name"]
        if d["kind"] == "choice":
            values = [None if v == "all" and d["name"] == "max_features" else v for v in d["values"]]
            out[name] = values
        elif d["kind"] == "int":
            out[name] = LogUniformInt(d["low"], d["high"]) if d.get("log") else randint(d["low"], d["high"] + 1)
        else:
            out[name] = loguniform(d["low"], d["high"]) if d.get("log") else uniform(d["low"], d["high"] - d["low"])
    return out


def main(folder):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import f1_score
    from sklearn.model_selection import HalvingRandomSearchCV, PredefinedSplit, RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from xgboost import XGBClassifier
    import sklearn
    import xgboost

    warnings.filterwarnings("ignore")
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)

    def load(name):
        return np.genfromtxt(os.path.join(folder, name), delimiter=",", missing_values="", filling_values=np.nan, ndmin=2)

    X, Xt = load("X_search.csv"), load("X_test.csv")
    y = np.loadtxt(os.path.join(folder, "y_search.csv"), dtype=np.int64)
    yt = np.loadtxt(os.path.join(folder, "y_test.csv"), dtype=np.int64)
    seed, budget, threads = config["seed"], config["budgetSeconds"], config["threads"]
    cv = PredefinedSplit(np.asarray(config["foldOf"]))
    spaces = {s["modelType"]: s for s in config["spaces"]}

    grid = []
    if "random_forest" in spaces:
        rf = Pipeline([("impute", SimpleImputer(strategy="median")), ("model", RandomForestClassifier(n_jobs=threads, random_state=seed))])
        grid.append({"model": [rf.named_steps["model"]], "model__n_estimators": [300], **distributions(spaces["random_forest"], "model__")})
    if "xgboost" in spaces:
        xgb = XGBClassifier(tree_method="hist", max_bin=255, n_jobs=threads, random_state=seed)
        grid.append({"model": [xgb], "model__n_estimators": [300], **distributions(spaces["xgboost"], "model__")})
    # One pipeline; for XGBoost the imputer is replaced by 'passthrough' (NaN handled natively).
    pipe = Pipeline([("impute", SimpleImputer(strategy="median")), ("model", RandomForestClassifier())])
    for g in grid:
        g["impute"] = ["passthrough"] if isinstance(g["model"][0], XGBClassifier) else [SimpleImputer(strategy="median")]

    def summary(search, index):
        r = search.cv_results_
        params = {k.replace("model__", ""): v for k, v in r["params"][index].items() if k not in ("model", "impute")}
        params["model"] = type(r["params"][index]["model"]).__name__
        scores = [r[f"split{i}_test_score"][index] for i in range(cv.get_n_splits())]
        return params, float(np.mean(scores)), float(np.std(scores, ddof=1))

    results = []
    # RandomizedSearchCV, one candidate per call, until the budget is spent.
    started = time.perf_counter()
    best = None
    trials = 0
    while time.perf_counter() - started < budget:
        search = RandomizedSearchCV(pipe, grid, n_iter=1, scoring="f1_macro", cv=cv, random_state=seed + trials, refit=False)
        search.fit(X, y)
        trials += 1
        params, score, sd = summary(search, 0)
        print(f"  random #{trials:3d} {score:.4f} ± {sd:.4f}  {params}", file=sys.stderr, flush=True)
        if best is None or score > best[1]:
            best = (search.cv_results_["params"][0], score, sd, params)
    random_seconds = time.perf_counter() - started

    def held_out(raw_params):
        model = pipe.set_params(**raw_params)
        model.fit(X, y)
        return float(f1_score(yt, model.predict(Xt), average="macro"))

    results.append(
        {
            "strategy": "RandomizedSearchCV",
            "trials": trials,
            "seconds": random_seconds,
            "best": {"params": best[3], "score": best[1], "sd": best[2]} if best else None,
            "test": held_out(best[0]) if best else None,
        }
    )

    candidates = max(9, math.ceil(3 * trials / 9) * 9)
    started = time.perf_counter()
    for g in grid:
        g.pop("model__n_estimators", None)
    halving = HalvingRandomSearchCV(
        pipe, grid, n_candidates=candidates, factor=3, resource="model__n_estimators", max_resources=300,
        min_resources=300 // 9, scoring="f1_macro", cv=cv, random_state=seed, refit=False,
    )
    halving.fit(X, y)
    halving_seconds = time.perf_counter() - started
    r = halving.cv_results_
    last = max(r["iter"])
    index = max((i for i in range(len(r["iter"])) if r["iter"][i] == last), key=lambda i: r["mean_test_score"][i])
    params, score, sd = summary(halving, index)
    params["n_estimators"] = int(r["n_resources"][index])
    raw = dict(r["params"][index])
    raw["model__n_estimators"] = int(r["n_resources"][index])
    print(f"  halving: {len(r['iter'])} trials over {last + 1} rungs, best {score:.4f} ± {sd:.4f}  {params}", file=sys.stderr, flush=True)
    results.append(
        {
            "strategy": "HalvingRandomSearchCV",
            "trials": len(r["iter"]),
            "candidates": candidates,
            "seconds": halving_seconds,
            "best": {"params": params, "score": score, "sd": sd},
            "test": held_out(raw),
        }
    )
    versions = {"sklearn": sklearn.__version__, "xgboost": xgboost.__version__, "numpy": np.__version__}
    with open(os.path.join(folder, "results.json"), "w") as f:
        json.dump({"ok": True, "versions": versions, "results": results}, f, default=str)


if __name__ == "__main__":
    main(sys.argv[1])
