"""Prediction throughput of an exported ONNX graph in onnxruntime against ``predict``.

(Not named onnx.py: run as a script, it would shadow the onnx package.)

Three fitted models, each exported with :func:`sklearn_mtl.to_onnx`:

``adult raw``
    ``MultiTaskEstimator(tasks=ADULT_TASKS)`` on Adult's raw DataFrame (10
    columns, 6 categorical; the estimator encodes them), predicting the test
    file's rows.
``adult pipeline``
    The same estimator behind a ColumnTransformer (one-hot encoding of the
    categorical columns, scaling of the numeric ones).
``numeric``
    The estimator on ``make_multitask``'s 50 float32 features and three tasks
    (regression, binary, 3-class), the data of ``benchmarks/speed.py``.

Each row times, for one batch size and one thread setting, ``model.predict(X)``
and ``session.run`` of onnxruntime on the inputs made beforehand by
:func:`sklearn_mtl.onnx_inputs` (as a server that receives arrays would), and
``onnx_inputs`` + ``run`` from the DataFrame. The graph computes every task's
labels and probabilities in the one call; ``predict`` computes labels only.
Rows/s are the median of ``--repeats`` alternating rounds (order rotated each
round); each round repeats a call until it has run about ``--seconds``.
"One thread" pins torch (``torch.set_num_threads(1)``) and onnxruntime
(``intra_op_num_threads=1``) to one thread; "default" leaves both at their
defaults.
"""

import argparse
import datetime
import functools
import importlib.metadata
import os
import time

import numpy as np
import onnxruntime as ort
import torch
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from speed import alternate, machine, rst_table

from sklearn_mtl import MultiTaskEstimator, onnx_inputs, to_onnx
from sklearn_mtl.datasets import ADULT_TASKS, load_adult, make_multitask

BATCH_SIZES = (1, 100, 1_000, 10_000)
PACKAGES = ("torch", "onnxruntime", "onnx", "onnxscript", "skl2onnx", "scikit-learn")


def estimator(tasks=None):
    """The default estimator, trained briefly: throughput does not depend on the fit."""
    return MultiTaskEstimator(tasks, max_epochs=2, random_state=0)


def models():
    """``(name, fitted model, X to predict)`` for each model of the table."""
    X, Y = load_adult("train")
    X_test, _ = load_adult("test")
    raw = estimator(ADULT_TASKS).fit(X, Y)
    preprocessing = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_include="category")),
        (StandardScaler(), make_column_selector(dtype_include="number")),
        sparse_threshold=0.0,
    )
    pipeline = make_pipeline(preprocessing, estimator(ADULT_TASKS)).fit(X, Y)
    types = ["regression", "binary", "multiclass"]
    X_num, Y_num = make_multitask(40_000, 50, 3, types, random_state=0)
    X_num = X_num.astype(np.float32)
    numeric = estimator().fit(X_num[:30_000], Y_num.iloc[:30_000])
    return [
        ("adult raw", raw, X_test),
        ("adult pipeline", pipeline, X_test),
        ("numeric", numeric, X_num[30_000:]),
    ]


def repeated(call, seconds):
    """A callable that calls ``call`` n times (n fixed once, to last about ``seconds``)."""
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds / 4:
        call()
        n += 1
    count = max(1, 4 * n)

    def run():
        for _ in range(count):
            call()

    return run, count


def measure(name, model, X, session, onnx_model, batch, threads, args):
    """One row of the table: rows/s of predict, of run, and of onnx_inputs + run."""
    rows = X[:batch]
    inputs = onnx_inputs(onnx_model, rows)
    calls = {
        "predict": functools.partial(model.predict, rows),
        "onnxruntime": functools.partial(session.run, None, inputs),
        "onnx_inputs + run": lambda: session.run(None, onnx_inputs(onnx_model, rows)),
    }
    runs, counts = {}, {}
    for key, call in calls.items():
        runs[key], counts[key] = repeated(call, args.seconds)
    seconds = alternate(runs, args.repeats, torch.device("cpu"))
    speed = {key: batch * counts[key] / seconds[key] for key in calls}
    return {
        "model": name,
        "threads": threads,
        "batch": f"{batch:,}",
        "predict (rows/s)": f"{speed['predict']:,.0f}",
        "onnxruntime (rows/s)": f"{speed['onnxruntime']:,.0f}",
        "ort/predict": f"{speed['onnxruntime'] / speed['predict']:.1f}x",
        "with onnx_inputs": f"{speed['onnx_inputs + run'] / speed['predict']:.1f}x",
    }


def session_for(onnx_model, threads):
    options = ort.SessionOptions()
    if threads == "one":
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
    return ort.InferenceSession(onnx_model.SerializeToString(), options)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds per row (median)")
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one timed run")
    args = parser.parse_args()
    default_threads = torch.get_num_threads()
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in PACKAGES)
    print(f"# {datetime.date.today()}; {machine(torch.device('cpu'))}; {versions}")
    print(f"# load average before: {os.getloadavg()}", flush=True)
    table = []
    for name, model, X in models():
        onnx_model = to_onnx(model, X[:5])
        for threads in ("one", "default"):
            torch.set_num_threads(1 if threads == "one" else default_threads)
            session = session_for(onnx_model, threads)
            for batch in BATCH_SIZES:
                row = measure(name, model, X, session, onnx_model, batch, threads, args)
                print("  " + ", ".join(f"{k}={v}" for k, v in row.items()), flush=True)
                table.append(row)
    print(f"# load average after: {os.getloadavg()}\n")
    print(rst_table(table))


if __name__ == "__main__":
    main()
