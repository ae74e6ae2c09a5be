"""Screening levers for the defaults (issue 31) on the splits of ``per_task_quality.py``.

Each lever is a named change to the estimator -- parameters, or a patch of its
internals for a choice that is not (yet) a parameter -- fitted in the
``shared`` mode of ``per_task_quality.py`` on the same data sets, seeds and
splits. Results go to ``benchmarks/results/levers.jsonl``; ``--compare``
prints, per task, each lever minus ``base`` (the current defaults, run in the
same session of the package) as mean ± standard error of the paired
differences over the seeds, and per lever the mean difference and its fit
time against ``base``. A configuration already in the results for a data set
and seed is not run again: after a change to the package, run ``base_now``
beside the new levers and compare with ``--base base_now``. Run from the
repository root, one thread::

    nice -n 10 python benchmarks/levers.py --levers base beta2 --datasets college auto
    python benchmarks/levers.py --compare
    python benchmarks/levers.py --compare --base base_now
"""

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
from collections import defaultdict  # noqa: E402

import datasets  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import per_task_quality  # noqa: E402
import references  # noqa: E402

OUT = references.RESULTS / "levers.jsonl"

#: The data sets below 10,000 training rows, where the levers are screened first.
SMALL = [
    "penguins", "auto", "college", "oj", "creditcard", "medpar", "wage", "nmes1988",
    "bikeshare",
]


def _adam_betas(beta2):
    import sklearn_mtl._training._fit as fit

    engine_params = fit._engine_params

    def patched(settings, seed, n_samples):
        params = engine_params(settings, seed, n_samples)
        params["optimizer__betas"] = (0.9, beta2)
        return params

    fit._engine_params = patched


def _log_skewed(load):
    """``datasets.load`` with log1p on non-negative, skewed numeric feature columns."""

    def patched(name, seed):
        X, Y, Xt, Yt, tasks = load(name, seed)
        X, Xt = X.copy(), Xt.copy()
        for column in X.columns:
            values = X[column]
            if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
                continue
            v = values.dropna().to_numpy(dtype=float)
            if len(np.unique(v)) <= 2 or v.min() < 0:
                continue
            skew = ((v - v.mean()) ** 3).mean() / max(v.std(), 1e-12) ** 3
            if skew > 1.0:
                X[column], Xt[column] = np.log1p(X[column]), np.log1p(Xt[column].clip(lower=0))
        return X, Y, Xt, Yt, tasks

    return patched


def _robust_smooth():
    import raw_features

    raw_features.apply_variant({"robust": 1.0, "smooth": 3.0}, None, None)


def _bagged(n_members, validation_fraction):
    """Fit ``n_members`` estimators, each validated on its own random share, and average.

    What RealMLP's ``n_cv`` and AutoGluon's bagging do with disjoint folds,
    approximated by independent splits: every row trains most members, and the
    average of the members is an ensemble. Classifiers average probabilities.
    """
    import sklearn_mtl

    estimator = sklearn_mtl.MultiTaskEstimator

    class Bagged:
        def __init__(self, random_state=0, **params):
            self.members = [
                estimator(random_state=random_state * 100 + i,
                          validation_fraction=validation_fraction, **params)
                for i in range(n_members)
            ]

        def fit(self, X, Y):
            for member in self.members:
                member.fit(X, Y)
            first = self.members[0]
            self.classes_, self.tasks_ = first.classes_, first.tasks_
            self.n_epochs_ = int(np.mean([m.n_epochs_ for m in self.members]))
            return self

        def predict_proba(self, X):
            probas = [m.predict_proba(X) for m in self.members]
            return {t: np.mean([np.asarray(p[t]) for p in probas], axis=0) for t in probas[0]}

        def predict(self, X):
            preds = [m.predict(X) for m in self.members]
            proba = self.predict_proba(X) if hasattr(self.members[0], "predict_proba") else {}
            out = {}
            for t in self.tasks_:
                if t in proba:
                    out[t] = np.asarray(self.classes_[t])[np.argmax(proba[t], axis=1)]
                else:
                    out[t] = np.mean([np.asarray(p[t], dtype=float) for p in preds], axis=0)
            return out

    sklearn_mtl.MultiTaskEstimator = Bagged


def _member_scaling(init):
    """Ensemble members' input scalings initialised with ``init`` ("ones", "normal")."""
    import tabm

    import sklearn_mtl._training._fit as fit
    from sklearn_mtl._nn._ensemble import MemberInputs

    class Patched(MemberInputs):
        def __init__(self, k, feature_widths, scaling_init):
            super().__init__(k, feature_widths, scaling_init)
            self.scaling = tabm.ElementwiseAffine(
                (k, sum(feature_widths)), bias=False, scaling_init=init,
                scaling_init_chunks=None if init == "ones" else list(feature_widths),
            )

    fit.MemberInputs = Patched


#: Lever name -> (estimator parameters, patch applied before fitting, or None).
LEVERS = {
    "base": ({}, None),
    # The defaults again, at a later commit: the base of the levers run beside it.
    "base_now": ({}, None),
    "beta2": ({}, lambda: _adam_betas(0.95)),
    "pwl": ({"numeric_embedding": "piecewise_linear"}, None),
    "periodic": ({"numeric_embedding": "periodic"}, None),
    "mixed": ({"numeric_embedding": "mixed"}, None),
    "log_skewed": ({}, lambda: setattr(datasets, "load", _log_skewed(datasets.load))),
    "robust_smooth": ({}, _robust_smooth),
    "per_task_es": ({"early_stopping": "per_task"}, None),
    "ensemble3": ({"ensemble_size": 3}, None),
    # Recorded with the former "auto" (every column over 64 categories); "auto" is
    # now the default, with the rule of _features._target_statistics.
    "target_encoding": ({"target_encoding": "auto"}, None),
    "patience8": ({"n_iter_no_change": 8}, None),
    "bag5": ({}, lambda: _bagged(5, 0.2)),
    "heads32": ({"head_hidden_sizes": (32,)}, None),
    "cosine": ({"lr_schedule": "cosine"}, None),
    "cosine_all_epochs": ({"lr_schedule": "cosine", "early_stopping": False}, None),
    "lr1e3": ({"lr": 1e-3}, None),
    "ens3_ones": ({"ensemble_size": 3}, lambda: _member_scaling("ones")),
    "ens3_normal": ({"ensemble_size": 3}, lambda: _member_scaling("normal")),
}


def run(levers, names, seeds):
    for lever in levers:
        params, patch = LEVERS[lever]
        if patch is not None:
            patch()  # each lever runs in a process of its own: see main
        per_task_quality.run(
            names, seeds, ["shared"], lever, params, str(OUT)
        )


def compare(records, base="base"):
    by = defaultdict(dict)
    for r in records:
        by[(r["config"], r["dataset"])][r["seed"]] = r
    levers = sorted({r["config"] for r in records} - {base})
    summary = {}
    for lever in levers:
        diffs, times = [], []
        print(f"\n{lever} minus {base}")
        for name in datasets.DATASETS:
            ours, theirs = by.get((lever, name), {}), by.get((base, name), {})
            seeds = sorted(set(ours) & set(theirs))
            if not seeds:
                continue
            for task in ours[seeds[0]]["scores"]:
                d = np.array([ours[s]["scores"][task] - theirs[s]["scores"][task] for s in seeds])
                se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
                diffs.append(d.mean())
                print(f"  {name:12s} {task:16s} {d.mean():+.4f} ± {se:.4f}  (n={len(d)})")
            times.append(np.mean([ours[s]["fit_s"] for s in seeds])
                         / np.mean([theirs[s]["fit_s"] for s in seeds]))
        summary[lever] = (np.mean(diffs), np.min(diffs), np.mean(times), len(diffs))
    print("\nlever            mean diff   worst   fit time / base   tasks")
    for lever, (mean, worst, time_ratio, n) in summary.items():
        print(f"{lever:15s}  {mean:+.4f}   {worst:+.4f}   {time_ratio:.2f}   {n}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levers", nargs="+", default=["base"], choices=list(LEVERS))
    parser.add_argument("--datasets", nargs="+", default=SMALL)
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--base", default="base", help="the configuration --compare subtracts")
    args = parser.parse_args()
    if args.compare:
        compare(references.read(str(OUT)), args.base)
        return
    if len(args.levers) > 1:  # a patch must not leak into the next lever: one process each
        import subprocess
        import sys

        for lever in args.levers:
            command = [sys.executable, __file__, "--levers", lever, "--datasets", *args.datasets]
            if args.seeds:
                command += ["--seeds", *map(str, args.seeds)]
            subprocess.run(command, check=True)
        return
    run(args.levers, args.datasets, args.seeds)


if __name__ == "__main__":
    main()
