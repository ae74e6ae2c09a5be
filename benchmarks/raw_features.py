"""Raw Adult DataFrame in: the estimator's own encoding against a one-hot pipeline and HGB.

Writes the tables of ``docs/benchmarks/raw_features.rst``. Run from the
repository root::

    python benchmarks/raw_features.py             # test file, 3 seeds, about 10 minutes
    python benchmarks/raw_features.py --choices   # encoding variants, validation split

Default: trained on Adult's training file, scored on its test file, per task
(ROC AUC for income, accuracy for marital status, R^2 for hours per week):

- ``MultiTaskEstimator`` fitted on ``load_adult()``'s DataFrame as it comes;
- the same estimator behind the ColumnTransformer users wrote before
  (``OneHotEncoder(handle_unknown="ignore")`` on the categorical columns,
  ``StandardScaler`` on the numeric ones);
- one ``HistGradientBoosting{Classifier,Regressor}(categorical_features="from_dtype")``
  per task, defaults otherwise.

``--choices`` compares encoding variants on a validation split of the
training file (80 % / 20 %, fixed seed): numeric scaling, one-hot against
embedded categories, ``min_frequency``.

Each fit runs in a fresh subprocess with one thread (``OMP_NUM_THREADS=1``,
``torch.set_num_threads(1)``), so that the peak resident memory it adds
(Linux ``VmHWM``, reset before fit) is its own; the table shows mean and
standard deviation over the seeds.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

N_SEEDS = 3
#: The estimator's parameters in every row (those of the quickstart example).
PARAMS = dict(max_epochs=30, batch_size=512, early_stopping=True, n_iter_no_change=4)
METHODS = ["raw DataFrame", "one-hot pipeline", "HGB per task"]
VARIANTS = {
    "default": {},
    "numeric: no clipping": {"clip": None},
    "numeric: smooth clipping at 5": {"smooth": 5.0},
    "numeric: median / (IQR / 1.349), clipping at 5": {"robust": 1 / 1.3489795},
    "numeric: RealMLP's (median / IQR, smooth clipping at 3)": {"robust": 1.0, "smooth": 3.0},
    "numeric: standard scaling": {"numeric": "standard"},
    "numeric: quantile-normal": {"numeric": "quantile"},
    "categories: all one-hot": {"one_hot_max": 10**9},
    "categories: all embedded": {"one_hot_max": 0},
    "min_frequency=1": {"min_frequency": 1},
    "min_frequency=20": {"min_frequency": 20},
    # What fit did before issue 13: numeric inputs as given, no scaling inside.
    "numeric: as given": {"numeric": "as given"},
}


def load(split):
    """Training and evaluation data: test file, or a validation split of the training file."""
    from sklearn_mtl.datasets import load_adult

    X, Y = load_adult("train")
    if split == "test":
        return (X, Y, *load_adult("test"))
    order = np.random.RandomState(123).permutation(len(X))
    cut = int(0.8 * len(X))
    train, valid = order[:cut], order[cut:]
    return X.iloc[train], Y.iloc[train], X.iloc[valid], Y.iloc[valid]


def numeric_columns(X):
    return [c for c in X.columns if X[c].dtype.kind in "biuf"]


def one_hot_pipeline(estimator):
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    preprocess = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_include="category")),
        (StandardScaler(), make_column_selector(dtype_include="number")),
        sparse_threshold=0.0,
    )
    return make_pipeline(preprocess, estimator)


def apply_variant(variant, X, X_eval):
    """Patch the encoding for one of ``VARIANTS``; numeric variants transform X first."""
    from sklearn.preprocessing import QuantileTransformer, StandardScaler

    import sklearn_mtl._features._encoder as features
    import sklearn_mtl._features._statistics as statistics
    import sklearn_mtl._nn._inputs as inputs

    if "one_hot_max" in variant:
        inputs.ONE_HOT_MAX_SLOTS = variant["one_hot_max"]
    if "clip" in variant:
        inputs.CLIP = variant["clip"] or float("inf")
    if "smooth" in variant:
        inputs.NumericInputs.forward = smooth_clipping(variant["smooth"])
    if "robust" in variant:
        # Centre at the median, divide by the inter-quartile range times
        # variant["robust"] (the standard deviation where the quartiles coincide).
        def robust(values, weights):
            q1, median, q3 = statistics._weighted_quartiles(values, weights)
            std = statistics._weighted_moments(values, weights)[1]
            return median, np.where(q3 > q1, (q3 - q1) * variant["robust"], std)

        statistics._winsorised_moments = robust
    kind = variant.get("numeric")
    if kind is None:
        return X, X_eval
    if kind in ("standard", "as given"):
        # The network's own scaling becomes the identity: centre 0, scale 1, no clipping.
        inputs.CLIP = float("inf")
        learned = features.numeric_statistics

        def identity(X, numeric, sample_weight):
            _, scale, missing, logged = learned(X, numeric, sample_weight)
            return np.zeros_like(scale), np.ones_like(scale), missing, logged[:0]

        features.numeric_statistics = identity
    if kind == "as given":
        return X, X_eval
    columns = numeric_columns(X)
    if kind == "standard":
        transformer = StandardScaler()
    else:
        transformer = QuantileTransformer(output_distribution="normal", random_state=0)
    X, X_eval = X.copy(), X_eval.copy()
    X[columns] = transformer.fit_transform(X[columns])
    X_eval[columns] = transformer.transform(X_eval[columns])
    return X, X_eval


def smooth_clipping(bound):
    """``NumericInputs.forward`` with ``z / sqrt(1 + (z / bound)^2)`` instead of the clip."""
    import torch

    def forward(self, x):
        if self.positions is not None:
            x = x.index_select(1, self.positions)
        z = torch.nan_to_num((x - self.center) * self.scale, nan=0.0).clamp(-1e18, 1e18)
        return self._with_indicators(z * torch.rsqrt(1 + (z / bound) ** 2), x)

    return forward


def score(task, y_true, model_predict, model_proba):
    from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

    if task == "income":
        return roc_auc_score(y_true == ">50K", model_proba()[:, 1])
    if task == "marital_status":
        return accuracy_score(y_true, model_predict())
    return r2_score(y_true, model_predict())


def read_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def probe(method, seed, split, variant_name):
    """Run in a subprocess: one fit, its scores, seconds and added peak memory, as JSON."""
    import torch

    from sklearn_mtl import MultiTaskEstimator
    from sklearn_mtl.datasets import ADULT_TASKS

    torch.set_num_threads(1)
    X, Y, X_eval, Y_eval = load(split)
    X, X_eval = apply_variant(VARIANTS[variant_name], X, X_eval)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current resident size
    before = read_kb("VmRSS:")
    start = time.perf_counter()
    scores = {}
    if method == "HGB per task":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        models = {}
        for task, kind in ADULT_TASKS.items():
            cls = (
                HistGradientBoostingRegressor
                if kind == "regression"
                else (HistGradientBoostingClassifier)
            )
            models[task] = cls(categorical_features="from_dtype", random_state=seed)
            models[task].fit(X, Y[task])
        seconds = time.perf_counter() - start
        peak = read_kb("VmHWM:")
        for task, model in models.items():
            scores[task] = score(
                task,
                Y_eval[task],
                lambda m=model: m.predict(X_eval),
                lambda m=model: m.predict_proba(X_eval),
            )
    else:
        variant = {k: v for k, v in VARIANTS[variant_name].items() if k == "min_frequency"}
        model = MultiTaskEstimator(tasks=ADULT_TASKS, random_state=seed, **PARAMS, **variant)
        if method == "one-hot pipeline":
            model = one_hot_pipeline(model)
        model.fit(X, Y)
        seconds = time.perf_counter() - start
        peak = read_kb("VmHWM:")
        predictions, proba = model.predict(X_eval), model.predict_proba(X_eval)
        for task in ADULT_TASKS:
            scores[task] = score(
                task, Y_eval[task], lambda t=task: predictions[t], lambda t=task: proba[t]
            )
    print(
        json.dumps(
            {
                "method": method,
                "variant": variant_name,
                "seed": seed,
                "seconds": seconds,
                "peak_mb": (peak - before) / 1024,
                **scores,
            }
        )
    )


def generated(seeds):
    """Numeric arrays of make_multitask: scaled inside (default) against as given."""
    import torch

    from sklearn_mtl import MultiTaskEstimator
    from sklearn_mtl.datasets import make_multitask

    torch.set_num_threads(1)
    kinds = ["regression", "binary", "multiclass"]
    rows = []
    for variant in ("default", "numeric: as given"):
        for seed in seeds:
            X, Y = make_multitask(6000, 20, 3, kinds, random_state=seed)
            X_eval, Y_eval = X[5000:], {k: v[5000:] for k, v in Y.items()}
            X, _ = apply_variant(VARIANTS[variant], X[:5000], X_eval)
            start = time.perf_counter()
            est = MultiTaskEstimator(random_state=seed, **PARAMS).fit(
                X, {k: v[:5000] for k, v in Y.items()}
            )
            seconds = time.perf_counter() - start
            scores = est.score_tasks(X_eval, Y_eval)
            rows.append({"variant": variant, "seconds": seconds, "peak_mb": np.nan, **scores})
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


def run(method, seed, split, variant="default"):
    command = [sys.executable, __file__, "--probe", method, str(seed), split, variant]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    row = json.loads(out.strip().splitlines()[-1])
    print(row, file=sys.stderr, flush=True)
    return row


ADULT = {"income": "AUC", "marital_status": "accuracy", "hours_per_week": "R^2"}
GENERATED = {"task_0": "R^2", "task_1": "accuracy", "task_2": "accuracy"}


def table(rows, key, title, metrics=ADULT):
    """Mean ± standard deviation over the seeds per ``key``, as an RST list-table."""
    groups = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    lines = [[key, *(f"{t} ({m})" for t, m in metrics.items()), "fit (s)", "peak (MB)"]]
    for name, group in groups.items():
        cells = [name]
        for task in metrics:
            values = [r[task] for r in group]
            cells.append(f"{np.mean(values):.4f} ± {np.std(values, ddof=1):.4f}")
        cells.append(f"{np.mean([r['seconds'] for r in group]):.1f}")
        peak = np.mean([r["peak_mb"] for r in group])
        cells.append("n/a" if np.isnan(peak) else f"{peak:.0f}")
        lines.append(cells)
    print(f".. list-table:: {title}\n   :header-rows: 1\n")
    for cells in lines:
        print("\n".join(f"   {'*' if j == 0 else ' '} - {c}" for j, c in enumerate(cells)))
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--choices", action="store_true", help="encoding variants, validation")
    parser.add_argument(
        "--arrays", action="store_true", help="numeric arrays: scaled inside or as given"
    )
    parser.add_argument("--seeds", type=int, default=N_SEEDS)
    parser.add_argument("--probe", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        method, seed, split, variant = args.probe
        probe(method, int(seed), split, variant)
        return
    import sklearn
    import torch

    print(
        f"# {time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; torch {torch.__version__}, "
        f"scikit-learn {sklearn.__version__}; {PARAMS}"
    )
    seeds = range(args.seeds)
    if args.choices:
        choices = [v for v in VARIANTS if v != "numeric: as given"]
        rows = [run("raw DataFrame", s, "val", v) for v in choices for s in seeds]
        table(rows, "variant", "Validation split of the training file")
    elif args.arrays:
        variants = ["default", "numeric: as given"]
        rows = [run("one-hot pipeline", s, "val", v) for v in variants for s in seeds]
        table(rows, "variant", "One-hot pipeline (numeric arrays), validation split")
        table(generated(seeds), "variant", "make_multitask, 5,000 rows", GENERATED)
    else:
        rows = [run(m, s, "test") for m in METHODS for s in seeds]
        table(rows, "method", "Adult test file")
    print(f"# load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
