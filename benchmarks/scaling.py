"""Scaling out: Dask grid search, 2-process DDP and memory-mapped X, timed.

Sections (each prints one reStructuredText table row per configuration):

``dask``
    A ``GridSearchCV`` over task weights and layer sizes (``--candidates``
    candidates x 3 folds) run three ways on the same total number of cores
    (``--cores``): locally in one process with ``cores`` torch threads
    (``n_jobs=1``), locally with joblib's loky backend (``n_jobs=cores``, one
    thread each) and on a ``distributed.LocalCluster`` of ``cores``
    single-threaded worker processes under ``joblib.parallel_backend("dask")``.
    Worker start-up and imports are not timed (a small search warms the
    workers up first); the cv_results_ of the dask run are checked equal to
    the local one.
``ddp``
    One ``fit`` of one model (``--ddp-rows`` rows, global batch ``--ddp-batch``) under
    ``torchrun``: 1 process with 1 thread, 1 process with 2 threads, and 2
    processes with 1 thread each under :func:`sklearn_mtl.parallel.data_parallel`
    on gloo. The fit is timed inside rank 0 between two barriers.
``memmap``
    Fitting from a ``.npy`` file: ``np.load`` then ``fit`` against
    ``np.load(mmap_mode="r")`` then ``fit``: time and the peak memory traced by
    ``tracemalloc`` (NumPy and Python allocations, X included) over load and
    fit, relative to X's size.

Usage: ``python benchmarks/scaling.py [--sections dask ddp memmap]``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl.datasets import make_multitask

ROOT = Path(__file__).resolve().parents[1]


def make_data(n_samples, n_features=50, seed=0):
    X, Y = make_multitask(
        n_samples, n_features, 3, ["regression", "binary", "multiclass"], random_state=seed
    )
    return X.astype(np.float32), TargetDict({name: np.asarray(Y[name]) for name in Y})


def head(X, Y, n):
    return X[:n], TargetDict({name: column[:n] for name, column in Y.items()})


def bench_dask(cores, candidates, rows, repeats):
    import joblib
    from distributed import Client, LocalCluster
    from sklearn.model_selection import GridSearchCV

    X, Y = make_data(rows)
    weights = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0][: max(1, candidates // 2)]
    grid = {"task_weights__task_0": weights, "hidden_layer_sizes": [(64,), (64, 32)]}
    est = MultiTaskEstimator(max_epochs=5, batch_size=256, random_state=0)

    def local():
        torch.set_num_threads(cores)
        return GridSearchCV(est, grid, cv=3, n_jobs=1).fit(X, Y)

    def local_one_thread():
        torch.set_num_threads(1)
        return GridSearchCV(est, grid, cv=3, n_jobs=1).fit(X, Y)

    def loky():
        torch.set_num_threads(1)
        return GridSearchCV(est, grid, cv=3, n_jobs=cores).fit(X, Y)

    def dask():
        torch.set_num_threads(1)
        with joblib.parallel_backend("dask"):
            return GridSearchCV(est, grid, cv=3, n_jobs=-1).fit(X, Y)

    runs = {
        f"local, 1 process x {cores} torch threads": local,
        "local, 1 process x 1 torch thread": local_one_thread,
        f"local joblib (loky), {cores} processes x 1 thread": loky,
        f"dask LocalCluster, {cores} workers x 1 thread": dask,
    }
    times = {name: [] for name in runs}
    with (
        LocalCluster(
            n_workers=cores, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        results = {name: run() for name, run in runs.items()}  # warm-up: workers, imports
        for _ in range(repeats):
            for name, run in runs.items():
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
    reference = results[next(iter(runs))].cv_results_["mean_test_score"]
    for result in results.values():
        np.testing.assert_allclose(result.cv_results_["mean_test_score"], reference, rtol=1e-5)
    base = statistics.median(times[next(iter(runs))])
    n_fits = len(results[next(iter(runs))].cv_results_["params"]) * 3
    print(f"\nGridSearchCV: {n_fits} fits of {rows} rows x 50 features, 5 epochs, ", end="")
    print(f"median of {repeats}")
    _table(
        ["run", "seconds", "speed-up"],
        [(name, statistics.median(t), base / statistics.median(t)) for name, t in times.items()],
    )


def ddp_worker(rows, epochs, batch_size, out):
    """Run inside torchrun: time one data-parallel fit, rank 0 writes the result."""
    import torch.distributed as dist

    from sklearn_mtl.parallel import data_parallel

    X, Y = make_data(rows)
    est = MultiTaskEstimator(
        hidden_layer_sizes=(256, 128), max_epochs=epochs, batch_size=batch_size, random_state=0
    )
    with data_parallel() as plan:
        dist.barrier()
        start = time.perf_counter()
        est.fit(X, Y)
        dist.barrier()
        elapsed = time.perf_counter() - start
    if plan.rank == 0:
        Path(out).write_text(
            json.dumps({"seconds": elapsed, "loss": est.history_[-1, "train_loss"]})
        )


def bench_ddp(rows, epochs, batch_size, repeats):
    configs = [(1, 1), (1, 2), (2, 1)]
    results = {config: [] for config in configs}
    for _ in range(repeats):
        for nproc, threads in configs:
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "result.json"
                env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=str(ROOT))
                command = [
                    sys.executable,
                    "-m",
                    "torch.distributed.run",
                    "--standalone",
                    f"--nproc_per_node={nproc}",
                    __file__,
                    "--ddp-worker",
                    str(out),
                    "--ddp-rows",
                    str(rows),
                    "--ddp-epochs",
                    str(epochs),
                    "--ddp-batch",
                    str(batch_size),
                ]
                run = subprocess.run(command, env=env, capture_output=True, text=True)
                if run.returncode:
                    raise RuntimeError(
                        f"torchrun failed:\n{run.stdout[-3000:]}{run.stderr[-3000:]}"
                    )
                results[nproc, threads].append(json.loads(out.read_text()))
    base = statistics.median(r["seconds"] for r in results[1, 1])
    print(f"\nOne fit: {rows} rows x 50 features, network (256, 128), batch {batch_size}, ", end="")
    print(f"{epochs} epochs, median of {repeats}")
    table = []
    for (n, t), runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        table.append((f"{n} process(es) x {t} thread(s)", seconds, base / seconds, runs[0]["loss"]))
    _table(["run", "seconds", "speed-up", "final train loss"], table)


def bench_memmap(rows, repeats):
    X, Y = make_data(rows)
    params = dict(hidden_layer_sizes=(64,), max_epochs=2, batch_size=1024, random_state=0)
    MultiTaskEstimator(**params).fit(*head(X, Y, 1000))
    modes = {"np.load(path)": None, "np.load(path, mmap_mode='r')": "r"}
    times, peaks = {name: [] for name in modes}, {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "X.npy"
        np.save(path, X)
        for _ in range(repeats):
            for name, mode in modes.items():
                tracemalloc.start()
                start = time.perf_counter()
                MultiTaskEstimator(**params).fit(np.load(path, mmap_mode=mode), Y)
                times[name].append(time.perf_counter() - start)
                peaks[name] = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
    print(f"\nload + fit, {rows} rows x 50 features ({X.nbytes / 2**20:.0f} MiB float32), ", end="")
    print(f"2 epochs, median of {repeats}")
    _table(
        ["X", "seconds", "peak traced MiB", "peak / size of X"],
        [
            (name, statistics.median(times[name]), peaks[name] / 2**20, peaks[name] / X.nbytes)
            for name in modes
        ],
    )


def _table(header, rows):
    cells = [header] + [
        [f"{v:.3g}" if isinstance(v, float) else str(v) for v in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    print(rule)
    for i, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            print(rule)
    print(rule)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="+", default=["dask", "ddp", "memmap"])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--dask-rows", type=int, default=12_000)
    parser.add_argument("--ddp-rows", type=int, default=100_000)
    parser.add_argument("--ddp-epochs", type=int, default=3)
    parser.add_argument("--ddp-batch", type=int, default=1024)
    parser.add_argument("--memmap-rows", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ddp-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ddp_worker:
        ddp_worker(args.ddp_rows, args.ddp_epochs, args.ddp_batch, args.ddp_worker)
        return
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs")
    if "dask" in args.sections:
        bench_dask(args.cores, args.candidates, args.dask_rows, args.repeats)
    if "ddp" in args.sections:
        bench_ddp(args.ddp_rows, args.ddp_epochs, args.ddp_batch, args.repeats)
    if "memmap" in args.sections:
        bench_memmap(args.memmap_rows, args.repeats)


if __name__ == "__main__":
    main()
