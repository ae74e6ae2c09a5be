"""The log of skewed columns on three ISLP tables that the benchmark does not hold.

``Hitters`` (263 rows: salary, new league), ``Credit`` (400 rows: balance,
student) and ``Boston`` (506 rows: median value, the river flag): five random
75 / 25 splits each, ``MultiTaskEstimator(tasks=..., random_state=seed)`` at
its defaults (below 1,000 rows: no numeric embedding, so the log rule
applies), R^2 or ROC AUC on the held-out quarter. Each run appends its
records under ``--label`` to ``benchmarks/results/log_rule_islp.jsonl``; the
package versions compared are whatever ``sklearn_mtl`` imports (run the
earlier one from a checkout of its commit with ``PYTHONPATH=<checkout>``).
``--extra`` adds log_skewed's columns beside the raw ones in the data (the
lever's form, for a package without the rule). ``--lever`` fits with one of
``levers.LEVERS`` (its parameters and patch) instead of the defaults: the
same check for other levers. ``--compare`` prints each label minus
``--base``, paired by split::

    PYTHONPATH=../at-5bad490 python benchmarks/log_rule_islp.py --label before
    python benchmarks/log_rule_islp.py --label beside
    python benchmarks/log_rule_islp.py --label alternate_pwl --lever bags_alternate_pwl
    python benchmarks/log_rule_islp.py --compare --base before
"""

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).parent / "results" / "log_rule_islp.jsonl"


def tables():
    from ISLP import load_data

    hitters = load_data("Hitters").dropna()
    yield (
        "hitters",
        hitters.drop(columns=["Salary", "NewLeague"]),
        {"Salary": hitters["Salary"].astype(float), "NewLeague": hitters["NewLeague"].astype(str)},
    )
    credit = load_data("Credit")
    yield (
        "credit",
        credit.drop(columns=["Balance", "Student"]),
        {"Balance": credit["Balance"].astype(float), "Student": credit["Student"].astype(str)},
    )
    boston = load_data("Boston")
    yield (
        "boston",
        boston.drop(columns=["medv", "chas"]),
        {"medv": boston["medv"].astype(float), "chas": boston["chas"].astype(str)},
    )


def add_logs(X_train, X_test):
    """log1p of log_skewed's columns (chosen on the training rows) beside them."""
    from levers import logs_of, skewed_columns

    columns = skewed_columns(X_train)
    return tuple(
        pd.concat([X, logs_of(X, columns).add_suffix("_log1p")], axis=1) for X in (X_train, X_test)
    )


def run(label, extra, lever=None):
    import torch
    from sklearn.metrics import r2_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    from sklearn_mtl import MultiTaskEstimator

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    params = {}
    if lever is not None:
        from levers import LEVERS

        params, patch = LEVERS[lever]
        if patch is not None:
            patch()
    with open(OUT, "a") as out:
        for name, X, Y in tables():
            X = X.apply(lambda c: c.astype("category") if c.dtype == object else c)
            Y = pd.DataFrame(Y)
            kinds = {c: "regression" if Y[c].dtype.kind == "f" else "binary" for c in Y}
            for seed in range(5):
                X_train, X_test, Y_train, Y_test = train_test_split(
                    X, Y, test_size=0.25, random_state=seed
                )
                if extra:
                    X_train, X_test = add_logs(X_train, X_test)
                est = MultiTaskEstimator(tasks=kinds, random_state=seed, **params)
                est.fit(X_train, Y_train)
                pred, proba = est.predict(X_test), est.predict_proba(X_test)
                scores = {
                    c: r2_score(Y_test[c], pred[c])
                    if kinds[c] == "regression"
                    else roc_auc_score(Y_test[c] == est.classes_[c][1], proba[c][:, 1])
                    for c in Y
                }
                record = {"label": label, "table": name, "seed": seed, "scores": scores}
                out.write(json.dumps(record) + "\n")
                print(json.dumps(record), flush=True)


def compare(base):
    records = [json.loads(line) for line in open(OUT) if line.strip()]
    by = {(r["label"], r["table"], r["seed"]): r["scores"] for r in records}
    for label in sorted({r["label"] for r in records} - {base}):
        print(f"\n{label} minus {base}")
        for name in ("hitters", "credit", "boston"):
            seeds = [s for s in range(5) if (label, name, s) in by and (base, name, s) in by]
            if not seeds:
                continue
            for task in by[(label, name, seeds[0])]:
                d = np.array(
                    [by[(label, name, s)][task] - by[(base, name, s)][task] for s in seeds]
                )
                se = d.std(ddof=1) / np.sqrt(len(d))
                print(f"  {name:8s} {task:10s} {d.mean():+.4f} ± {se:.4f}  (n={len(d)})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label")
    parser.add_argument("--extra", action="store_true")
    parser.add_argument("--lever", help="a lever of levers.py instead of the defaults")
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--base", default="before")
    args = parser.parse_args()
    if args.compare:
        compare(args.base)
    else:
        run(args.label, args.extra, args.lever)


if __name__ == "__main__":
    main()
