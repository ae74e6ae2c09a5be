"""Latency of a predict call: one row and 1,000 rows, the estimator against one GBDT per task.

What a web service pays per request. On Adult (three tasks: income, marital
status, hours per week), each model is fitted once and then timed predicting
the first rows of the test file, one thread, for two kinds of input:

``DataFrame``
    the raw test rows as a pandas DataFrame (6 categorical columns): the
    estimator encodes them itself; HistGradientBoosting
    (``categorical_features="from_dtype"``), LightGBM (category dtype) and
    CatBoost (``cat_features``) take them as they are;
``NumPy``
    the same rows as a float32 array, categories replaced by their codes (every
    model fitted on that array, all columns numeric).

Columns: ``predict`` of the estimator (all three tasks); the exported ONNX
graph in onnxruntime (``session.run`` on inputs made beforehand, every task's
labels and probabilities); one HGB, LightGBM and CatBoost model per task,
``predict`` of each summed (a classifier's ``predict_proba`` would cost about
the same). Milliseconds per call, the median of ``--repeats`` rounds, each
round the mean of a call repeated for about ``--seconds``. Models missing from
the environment (``pip install "sklearn_mtl[benchmark]"``) are left out.

    python benchmarks/serving.py              # about ten minutes on 2 cores (CatBoost fits)
"""

import argparse
import datetime
import functools
import importlib.metadata
import importlib.util
import os
import statistics
import time

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from speed import machine, rst_table

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl.datasets import ADULT_TASKS, load_adult

PACKAGES = ("torch", "scikit-learn", "lightgbm", "catboost", "onnxruntime")
BATCHES = (1, 1_000)


def as_numbers(X):
    """The frame's categories as their codes: a float32 array, every column numeric."""
    columns = [
        X[c].cat.codes.where(X[c].notna(), np.nan) if isinstance(X[c].dtype, pd.CategoricalDtype)
        else X[c]
        for c in X.columns
    ]
    return np.column_stack([np.asarray(c, dtype=np.float32) for c in columns])


def per_task_models(X, Y, frame):
    """Library name -> a function fitting one model per task, for each installed library."""
    categorical = []
    if frame:
        categorical = [j for j, dtype in enumerate(X.dtypes) if dtype.name == "category"]

    def hgb(task, kind):
        cls = HistGradientBoostingRegressor
        if kind != "regression":
            cls = HistGradientBoostingClassifier
        return cls(categorical_features="from_dtype" if frame else None)

    factories = {"HGB per task": hgb}
    if importlib.util.find_spec("lightgbm"):
        import lightgbm

        factories["LightGBM per task"] = lambda task, kind: (
            lightgbm.LGBMRegressor if kind == "regression" else lightgbm.LGBMClassifier
        )(n_jobs=1, verbose=-1, random_state=0)
    if importlib.util.find_spec("catboost"):
        import catboost

        factories["CatBoost per task"] = lambda task, kind: (
            catboost.CatBoostRegressor if kind == "regression" else catboost.CatBoostClassifier
        )(cat_features=categorical or None, thread_count=1, verbose=0, random_seed=0)
    fitted = {}
    for name, make in factories.items():
        X_fit = X
        if name == "CatBoost per task" and frame:
            X_fit = X.astype({X.columns[j]: str for j in categorical})
        fitted[name] = [
            (make(task, kind).fit(X_fit, Y[task]), name == "CatBoost per task" and frame)
            for task, kind in ADULT_TASKS.items()
        ]
    return fitted


def onnx_runner(est, X_rows):
    """``rows`` -> a call of the exported graph on inputs made beforehand (as a server has them)."""
    import onnxruntime as ort

    from sklearn_mtl import onnx_inputs, to_onnx

    onnx_model = to_onnx(est, X_rows[:5])
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(onnx_model.SerializeToString(), options)

    def runner(rows):
        inputs = onnx_inputs(onnx_model, rows)
        return functools.partial(session.run, None, inputs)

    return runner


def predict_all(models, rows, categorical):
    for model, as_text in models:
        model.predict(rows.astype({c: str for c in categorical}) if as_text else rows)


def timed(call, seconds, repeats):
    """Median over ``repeats`` rounds of the mean seconds of ``call``."""
    call()
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        call()
        n += 1
    count = max(1, n)
    rounds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(count):
            call()
        rounds.append((time.perf_counter() - start) / count)
    return statistics.median(rounds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=3, help="of the estimator's fit")
    args = parser.parse_args()
    torch.set_num_threads(1)
    versions = ", ".join(
        f"{p} {importlib.metadata.version(p)}" for p in PACKAGES if importlib.util.find_spec(
            p.replace("scikit-learn", "sklearn")
        )
    )
    print(f"# {datetime.date.today()}; {machine(torch.device('cpu'))}; {versions}")
    print(f"# load average before: {os.getloadavg()}", flush=True)
    X, Y = load_adult("train")
    X_test, _ = load_adult("test")
    categorical = [c for c in X.columns if X[c].dtype.name == "category"]
    table = []
    for kind in ("DataFrame", "NumPy"):
        frame = kind == "DataFrame"
        X_fit, X_rows = (X, X_test) if frame else (as_numbers(X), as_numbers(X_test))
        est = MultiTaskEstimator(ADULT_TASKS, max_epochs=args.epochs, random_state=0)
        est.fit(X_fit, Y)
        calls = {"predict": est.predict}
        if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("skl2onnx"):
            calls["ONNX"] = onnx_runner(est, X_rows)
        for name, models in per_task_models(X_fit, Y, frame).items():
            calls[name] = functools.partial(predict_all, models, categorical=categorical)
        for batch in BATCHES:
            rows = X_rows[:batch]
            row = {"input": kind, "rows": f"{batch:,}"}
            for name, call in calls.items():
                seconds = timed(call(rows) if name == "ONNX" else functools.partial(call, rows),
                                args.seconds, args.repeats)
                row[f"{name} (ms)"] = f"{1000 * seconds:.2f}"
            print("  " + ", ".join(f"{k}={v}" for k, v in row.items()), flush=True)
            table.append(row)
    print(f"# load average after: {os.getloadavg()}\n")
    print(rst_table(table))


if __name__ == "__main__":
    main()
