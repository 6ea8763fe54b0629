"""Reference side of the logistic-regression and PCA + LR goals (bench:models, bench:scale's linear figures).

Usage: /usr/bin/python3 bench/linear-reference.py <X.csv> <y.csv> <repeats>
X is already imputed and standardised (as ours receives it), y class indices. Prints one JSON object:
{"lr": {"seconds": [...], "nIter": n, "coef": [[...]], "intercept": [...]}, "lrOptimum": {"coef", "intercept"},
 "pca": {"seconds": [...], "components": k, "nIter": n, "coef": [[...]] (in feature space), "intercept": [...]},
 "pcaOptimum": {"coef", "intercept"}}
The *Optimum entries are the same objectives solved by newton-cg to a 1e-12 gradient: scikit-learn's lbfgs stops on
its relative-decrease test, up to 1e-2 from the optimum on Kepler, so coefficients are compared with the optimum.
Fit time is `fit` only, each repeat a fresh estimator: LogisticRegression(C=1, max_iter=1000) (lbfgs; multinomial
for 3+ classes) and make_pipeline(PCA(0.95), LogisticRegression(C=1, max_iter=1000)).
"""
import json
import sys
import time
import warnings


def main(x_path, y_path, repeats):
    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X = np.loadtxt(x_path, delimiter=",", dtype=np.float64, ndmin=2)
    y = np.loadtxt(y_path, dtype=np.int64)
    out = {}
    times = []
    for _ in range(repeats):
        model = LogisticRegression(C=1.0, max_iter=1000)
        start = time.perf_counter()
        model.fit(X, y)
        times.append(time.perf_counter() - start)
    out["lr"] = {"seconds": times, "nIter": int(model.n_iter_[0]), "coef": model.coef_.tolist(), "intercept": model.intercept_.tolist()}
    # The optimum itself (the coefficients' reference): Newton-CG to a 1e-12 gradient.
    optimum = LogisticRegression(C=1.0, solver="newton-cg", tol=1e-12, max_iter=1000).fit(X, y)
    out["lrOptimum"] = {"coef": optimum.coef_.tolist(), "intercept": optimum.intercept_.tolist()}
    times = []
    for _ in range(repeats):
        pipeline = make_pipeline(PCA(n_components=0.95), LogisticRegression(C=1.0, max_iter=1000))
        start = time.perf_counter()
        pipeline.fit(X, y)
        times.append(time.perf_counter() - start)
    pca, lr = pipeline[0], pipeline[1]
    # The composed linear map in feature space: independent of the components' signs.
    coef = lr.coef_ @ pca.components_
    intercept = lr.intercept_ - coef @ pca.mean_
    out["pca"] = {"seconds": times, "components": int(pca.n_components_), "nIter": int(lr.n_iter_[0]), "coef": coef.tolist(), "intercept": intercept.tolist()}
    Z = pca.transform(X)
    optimum = LogisticRegression(C=1.0, solver="newton-cg", tol=1e-12, max_iter=1000).fit(Z, y)
    coef = optimum.coef_ @ pca.components_
    out["pcaOptimum"] = {"coef": coef.tolist(), "intercept": (optimum.intercept_ - coef @ pca.mean_).tolist()}
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
