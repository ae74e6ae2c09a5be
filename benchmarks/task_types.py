"""Does a task's type matter? Ordinal vs multiclass heads, count vs regression.

1. ``ordinal``: ordered classes (6 balanced classes binning a linear latent
   with logistic noise, 8 features, 300 training rows, 2,000 test rows), fitted
   as an ``"ordinal"`` task (CORAL head) and as a ``"multiclass"`` task, one
   per seed (6 seeds of the data; the network's seed is 0). Test accuracy and
   mean absolute error in ranks.
2. ``count``: Poisson counts of rate ``exp(0.3 + 0.6 x_0 - 0.4 x_1)``
   (2,000 training rows, 1,000 test rows), fitted as a ``"count"`` task
   (Poisson deviance, log link) and as a ``"regression"`` task (squared error
   on the standardised counts; negative predictions clipped to 1e-6 for the
   deviance), 3 seeds of the data. Test D^2 (Poisson deviance explained),
   the oracle's D^2 (the true rates), and the ratio of the mean predicted rate
   to the mean true rate (``count mean``, ``regr. mean``).

Runs in about a minute on two CPU cores with one torch thread::

    python benchmarks/task_types.py
"""

import numpy as np
import torch
from architectures import _rst
from sklearn.metrics import d2_tweedie_score, mean_absolute_error

from sklearn_mtl import MultiTaskEstimator


def ordered_problem(seed, n_train=300, n_test=2000, n_classes=6):
    rng = np.random.RandomState(seed)
    n = n_train + n_test
    X = rng.normal(size=(n, 8))
    latent = X @ rng.normal(size=8) / 2 + 0.3 * rng.logistic(size=n)
    edges = np.quantile(latent, np.linspace(0, 1, n_classes + 1)[1:-1])
    y = np.searchsorted(edges, latent)
    return X[:n_train], X[n_train:], y[:n_train], y[n_train:]


def poisson_problem(seed, n_train=2000, n_test=1000):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_train + n_test, 4))
    rate = np.exp(0.3 + 0.6 * X[:, 0] - 0.4 * X[:, 1])
    y = rng.poisson(rate)
    return X[:n_train], X[n_train:], y[:n_train], y[n_train:], rate[n_train:]


def fit_predict(kind, X_train, y_train, X_test, **params):
    """Test predictions of a one-task model of type ``kind``."""
    est = MultiTaskEstimator(
        tasks={"t": kind}, hidden_layer_sizes=(16,), lr=3e-3, random_state=0, **params
    )
    return est.fit(X_train, {"t": y_train}).predict(X_test)["t"]


def ordinal_rows(seeds=range(6)):
    rows = [["seed", "ordinal acc.", "multiclass acc.", "ordinal MAE", "multiclass MAE"]]
    results = []
    for seed in seeds:
        X_train, X_test, y_train, y_test = ordered_problem(seed)
        row = []
        for kind in ("ordinal", "multiclass"):
            pred = fit_predict(kind, X_train, y_train, X_test, batch_size=32, max_epochs=100)
            row.append((np.mean(pred == y_test), mean_absolute_error(y_test, pred)))
        (acc_o, mae_o), (acc_m, mae_m) = row
        results.append([acc_o, acc_m, mae_o, mae_m])
        rows.append([str(seed)] + [f"{v:.3f}" for v in results[-1]])
    rows.append(["mean"] + [f"{v:.3f}" for v in np.mean(results, axis=0)])
    return rows


def count_rows(seeds=range(3)):
    rows = [["seed", "count D^2", "regression D^2", "oracle D^2", "count mean", "regr. mean"]]
    for seed in seeds:
        X_train, X_test, y_train, y_test, rate = poisson_problem(seed)
        cells = []
        for kind in ("count", "regression"):
            pred = fit_predict(kind, X_train, y_train, X_test, batch_size=64, max_epochs=40)
            pred = np.clip(pred, 1e-6, None)
            cells.append((d2_tweedie_score(y_test, pred, power=1), pred.mean() / rate.mean()))
        oracle = d2_tweedie_score(y_test, rate, power=1)
        (d2_c, ratio_c), (d2_r, ratio_r) = cells
        rows.append([str(seed)] + [f"{v:.3f}" for v in (d2_c, d2_r, oracle, ratio_c, ratio_r)])
    return rows


if __name__ == "__main__":
    torch.set_num_threads(1)
    print(_rst(ordinal_rows()), _rst(count_rows()), sep="\n\n")
