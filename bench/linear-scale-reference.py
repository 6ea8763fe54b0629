"""Reference side of `npm run bench:linear`: scikit-learn's LogisticRegression on the same standardised matrix.

Usage: /usr/bin/python3 bench/linear-scale-reference.py <X.f64> <y.i32> <cols> <repeats>
X: row-major float64, already imputed and standardised (as ours receives it); y: int32 class indices.
Prints one JSON object: {"solver", "C", "tol", "maxIter", "nIter", "cpuSeconds": [...], "wallSeconds": [...],
"coef": [[...]], "intercept": [...], "optimum": {"solver", "nIter", "coef", "intercept"}}.
Timed: `fit` only, a fresh LogisticRegression(C=1, max_iter=1000) each repeat (bench:scale's estimator, default
lbfgs), CPU by time.process_time() (every thread of this process). The optimum, the coefficients' reference, is the
same objective solved by newton-cholesky to tol 1e-12 (scikit-learn's lbfgs stops on its relative-decrease test).
"""
import json
import sys
import time
import warnings


def main(x_path, y_path, cols, repeats):
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X = np.fromfile(x_path, dtype=np.float64).reshape(-1, cols)
    y = np.fromfile(y_path, dtype=np.int32)
    cpu, wall = [], []
    for _ in range(repeats):
        model = LogisticRegression(C=1.0, max_iter=1000)
        c, t = time.process_time(), time.perf_counter()
        model.fit(X, y)
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - t)
    optimum = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12, max_iter=100).fit(X, y)
    print(json.dumps({
        "solver": model.solver, "C": model.C, "tol": model.tol, "maxIter": model.max_iter, "nIter": int(model.n_iter_[0]),
        "cpuSeconds": cpu, "wallSeconds": wall, "coef": model.coef_.tolist(), "intercept": model.intercept_.tolist(),
        "optimum": {"solver": "newton-cholesky, tol 1e-12", "nIter": int(optimum.n_iter_[0]),
                    "coef": optimum.coef_.tolist(), "intercept": optimum.intercept_.tolist()},
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
