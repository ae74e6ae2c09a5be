"""Per-task reference models on the public data sets of ``datasets.py`` (issue 31).

One model per data set, seed, task and library, each at its defaults:

- ``hgb``: ``HistGradientBoosting{Classifier,Regressor}(categorical_features=
  "from_dtype")``; count tasks ``loss="poisson"``. Columns with more than 255
  levels keep their 254 most frequent for HGB alone (HGB refuses more);
- ``catboost``: ``CatBoost{Classifier,Regressor}(cat_features=<the category
  columns>)`` (missing levels as the string "nan"); count tasks
  ``loss_function="Poisson"``;
- ``lightgbm``: ``LGBM{Classifier,Regressor}()`` on the category dtype
  columns; count tasks ``objective="poisson"``;
- ``realmlp``: pytabkit's ``RealMLP_TD_{Classifier,Regressor}()`` (its tuned
  defaults); count tasks as regression, predictions clipped at 0. Expensive:
  by default it runs on the data sets under 10,000 training rows only.

Every model uses one thread and the seed as its random state. Scores on the
test rows labelled for the task: ROC AUC (binary), accuracy (multiclass), R^2
(regression), Poisson D^2 (count: ``d2_tweedie_score(power=1)``, predictions
clipped below at ``FLOOR``). Each result is one JSON line in the results file
(data set, seed, task, library, version, score, fit seconds); a rerun skips
what the file already holds for the same library version. Run from the
repository root, in the background for the whole set (hours)::

    nice -n 10 python benchmarks/references.py                       # all, cached
    python benchmarks/references.py --datasets penguins auto --libraries hgb catboost
    python benchmarks/references.py --libraries realmlp --datasets penguins
    python benchmarks/references.py --tables                         # mean ± s.e.

Needs ``pip install catboost lightgbm pytabkit`` and the data packages of
``datasets.py``.
"""

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import datasets  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

RESULTS = Path(__file__).parent / "results"
OUT = RESULTS / "references.jsonl"
LIBRARIES = ("hgb", "catboost", "lightgbm", "realmlp")
#: Smallest prediction scored for a count task (Poisson deviance needs > 0).
FLOOR = 1e-4
#: RealMLP runs by default on data sets below this many training rows.
REALMLP_MAX_ROWS = datasets.SMALL


# -- scoring ----------------------------------------------------------------------------


def score(kind, y_true, predicted):
    """``predicted``: labels (multiclass), P(classes[1]) (binary), values otherwise."""
    from sklearn.metrics import accuracy_score, d2_tweedie_score, r2_score, roc_auc_score

    y_true = np.asarray(y_true)
    if kind == "binary":
        positive, p = predicted
        return float(roc_auc_score(y_true == positive, p))
    if kind == "multiclass":
        return float(accuracy_score(y_true.astype(str), np.asarray(predicted).astype(str)))
    if kind == "count":
        mu = np.maximum(np.asarray(predicted, dtype=float), FLOOR)
        return float(d2_tweedie_score(y_true.astype(float), mu, power=1))
    return float(r2_score(y_true.astype(float), np.asarray(predicted, dtype=float)))


def labelled(X, y):
    keep = y.notna().to_numpy()
    return X[keep].reset_index(drop=True), y[keep].reset_index(drop=True)


def categorical_columns(X):
    return [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]


# -- libraries --------------------------------------------------------------------------


def version(library):
    import importlib.metadata as md

    return md.version({"hgb": "scikit-learn", "realmlp": "pytabkit"}.get(library, library))


def _hgb_frames(X, Xt, max_levels=254):
    """Columns with more than 255 levels keep their ``max_levels`` most frequent."""
    X, Xt = X.copy(), Xt.copy()
    for c in categorical_columns(X):
        if X[c].nunique() > 255:
            keep = list(X[c].value_counts().index[:max_levels])
            X[c] = X[c].cat.set_categories(keep)
            Xt[c] = Xt[c].cat.set_categories(keep)
        X[c] = X[c].cat.remove_unused_categories()
        Xt[c] = Xt[c].cat.set_categories(X[c].cat.categories)
    return X, Xt


def _as_strings(X, columns):
    X = X.copy()
    for c in columns:
        X[c] = X[c].astype(object).where(X[c].notna(), "nan").astype(str)
    return X


def make_model(library, kind, seed, X):
    """The unfitted model and a function preparing (X_train, X_test) for it."""
    regression = kind in ("regression", "count")
    same = lambda X, Xt: (X, Xt)  # noqa: E731
    if library == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier as C
        from sklearn.ensemble import HistGradientBoostingRegressor as R

        extra = {"loss": "poisson"} if kind == "count" else {}
        cls = R if regression else C
        return cls(categorical_features="from_dtype", random_state=seed, **extra), _hgb_frames
    if library == "catboost":
        from catboost import CatBoostClassifier, CatBoostRegressor

        cats = categorical_columns(X)
        extra = {"loss_function": "Poisson"} if kind == "count" else {}
        cls = CatBoostRegressor if regression else CatBoostClassifier
        model = cls(cat_features=cats, random_seed=seed, thread_count=1, verbose=0,
                    allow_writing_files=False, **extra)
        return model, lambda X, Xt: (_as_strings(X, cats), _as_strings(Xt, cats))
    if library == "lightgbm":
        from lightgbm import LGBMClassifier, LGBMRegressor

        extra = {"objective": "poisson"} if kind == "count" else {}
        cls = LGBMRegressor if regression else LGBMClassifier
        return cls(random_state=seed, n_jobs=1, verbose=-1, **extra), same
    if library == "realmlp":
        from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

        cls = RealMLP_TD_Regressor if regression else RealMLP_TD_Classifier
        return cls(random_state=seed, n_threads=1, device="cpu", verbosity=0), same
    raise ValueError(library)


def fit_one(library, kind, seed, X, y, Xt, yt):
    """Score and fit seconds of one model on one task (labelled rows only)."""
    X, y = labelled(X, y)
    Xt, yt = labelled(Xt, yt)
    model, prepare = make_model(library, kind, seed, X)
    Xp, Xtp = prepare(X, Xt)
    target = y
    classes = None
    if kind in ("binary", "multiclass"):  # integer codes: every library reads them alike
        classes, target = np.unique(y.astype(str).to_numpy(), return_inverse=True)
    elif kind == "count":
        target = y.astype(float)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(Xp, target)
    fit_s = time.perf_counter() - start
    if kind == "binary":
        p = np.asarray(model.predict_proba(Xtp))[:, 1]
        return score(kind, yt.astype(str), (classes[1], p)), fit_s
    prediction = np.asarray(model.predict(Xtp)).reshape(len(Xtp), -1)[:, 0]
    if kind == "multiclass":
        return score(kind, yt, classes[prediction.astype(int)]), fit_s
    if kind == "count" and library == "realmlp":
        prediction = np.maximum(prediction, 0.0)
    return score(kind, yt, prediction), fit_s


# -- cache ------------------------------------------------------------------------------


def read(path):
    path = Path(path)
    if not path.exists():
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def key(r):
    return (r["dataset"], r["seed"], r["task"], r["library"], r["version"])


def run(names, libraries, seeds, out, realmlp_all=False):
    done = {key(r) for r in read(out)}
    versions = {lib: version(lib) for lib in libraries}
    for name in names:
        for seed in seeds or datasets.SEEDS[name]:
            data = None
            for library in libraries:
                for task, kind in datasets.tasks_of(name).items():
                    record_key = (name, seed, task, library, versions[library])
                    if record_key in done:
                        continue
                    if data is None:
                        data = datasets.load(name, seed)
                    X, Y, Xt, Yt, tasks = data
                    if library == "realmlp" and not realmlp_all and len(X) >= REALMLP_MAX_ROWS:
                        continue
                    load_avg = os.getloadavg()[0]
                    value, fit_s = fit_one(library, kind, seed, X, Y[task], Xt, Yt[task])
                    record = dict(
                        dataset=name, seed=seed, task=task, kind=kind, library=library,
                        version=versions[library], score=round(value, 6),
                        fit_s=round(fit_s, 3), n_train=int(Y[task].notna().sum()),
                        n_test=int(Yt[task].notna().sum()), load=round(load_avg, 2),
                        time=time.strftime("%Y-%m-%d %H:%M:%S"),
                    )
                    print(json.dumps(record), flush=True)
                    with open(out, "a") as f:
                        f.write(json.dumps(record) + "\n")
                    done.add(record_key)


# -- tables -----------------------------------------------------------------------------


def mean_se(values):
    v = np.asarray(values, dtype=float)
    se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan")
    return v.mean(), se


def tables(records):
    out = []
    for name in dict.fromkeys(r["dataset"] for r in records):
        mine = [r for r in records if r["dataset"] == name]
        libraries = [lib for lib in LIBRARIES if any(r["library"] == lib for r in mine)]
        out.append(f"\n{name}\n")
        out.append("| task | " + " | ".join(libraries) + " |")
        out.append("|---" * (len(libraries) + 1) + "|")
        for task in dict.fromkeys(r["task"] for r in mine):
            cells = []
            for lib in libraries:
                v = [r["score"] for r in mine if r["task"] == task and r["library"] == lib]
                if not v:
                    cells.append("")
                    continue
                m, se = mean_se(v)
                cells.append(f"{m:.4f} ± {se:.4f} (n={len(v)})")
            out.append(f"| {task} | " + " | ".join(cells) + " |")
        fits = []
        for lib in libraries:
            per_seed = {}
            for r in mine:
                if r["library"] == lib:
                    per_seed[r["seed"]] = per_seed.get(r["seed"], 0.0) + r["fit_s"]
            fits.append(f"{np.mean(list(per_seed.values())):.1f}")
        out.append("| fit s (all tasks) | " + " | ".join(fits) + " |")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(datasets.DATASETS))
    parser.add_argument("--libraries", nargs="+", default=list(LIBRARIES), choices=LIBRARIES)
    parser.add_argument("--seeds", type=int, nargs="+", help="default: datasets.SEEDS")
    parser.add_argument("--realmlp-all", action="store_true",
                        help=f"RealMLP also from {REALMLP_MAX_ROWS} training rows")
    parser.add_argument("--tables", action="store_true", help="print tables and stop")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    if args.tables:
        print(tables(read(args.out)))
        return
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    run(args.datasets, args.libraries, args.seeds, args.out, args.realmlp_all)


if __name__ == "__main__":
    main()
