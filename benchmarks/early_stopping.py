"""Joint versus per-task early stopping: each task's test score, epochs and fit time.

For three seeds of the network (``random_state`` 0, 1, 2: initialisation,
batch order and the validation split), fits one
:class:`~sklearn_mtl.MultiTaskEstimator` with ``early_stopping=True`` and one
with ``early_stopping="per_task"`` (same parameters otherwise) on

- ``gen.``: an informative regression that needs many epochs (``signal``)
  beside a pure-noise regression (``noise``), 4,000 training rows;
- ``Adult``: the bundled UCI Adult data (income, marital status, hours per
  week; the original train/test files, one-hot encoded as in
  ``benchmarks/weighting.py``).

and prints, per problem and mode, each task's default test score (accuracy,
R^2; mean and standard deviation over the seeds), each task's best epoch
(mean), the epochs run (mean) and the CPU seconds of a fit (mean; one torch
thread, so that other work on a shared machine disturbs it little). Runs in
a few minutes on two CPU cores.

Run from the repository root::

    python benchmarks/early_stopping.py
"""

import os
import platform
import time

import numpy as np
import torch
from weighting import adult_problem

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl.datasets import ADULT_TASKS

SEEDS = (0, 1, 2)
MODES = (True, "per_task")


def signal_and_noise(n_samples=8000, random_state=0):
    """An informative task and a pure-noise task, half of the rows for testing."""
    rng = np.random.RandomState(random_state)
    X = rng.normal(size=(n_samples, 8)).astype(np.float32)
    signal = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2] + 0.5 * X[:, 3]
    Y = TargetDict(
        signal=signal + 0.3 * rng.normal(size=n_samples), noise=rng.normal(size=n_samples)
    )
    half = n_samples // 2
    train, test = np.arange(half), np.arange(half, n_samples)
    return X[train], X[test], Y.iloc[train], Y.iloc[test]


PROBLEMS = {
    "gen.": (
        signal_and_noise,
        dict(hidden_layer_sizes=(64, 64), batch_size=128, lr=3e-3, max_epochs=200),
    ),
    "Adult": (
        adult_problem,
        dict(tasks=ADULT_TASKS, hidden_layer_sizes=(128, 64), batch_size=512, max_epochs=100),
    ),
}


def run():
    rows = []
    for problem, (load, params) in PROBLEMS.items():
        X_train, X_test, Y_train, Y_test = load()
        for mode in MODES:
            runs = []
            for seed in SEEDS:
                est = MultiTaskEstimator(
                    early_stopping=mode,
                    validation_fraction=0.2,
                    n_iter_no_change=10,
                    random_state=seed,
                    **params,
                )
                start = time.process_time()
                est.fit(X_train, Y_train)
                seconds = time.process_time() - start
                runs.append(
                    (est.score_tasks(X_test, Y_test), est.best_epochs_, est.n_epochs_, seconds)
                )
            rows.append((problem, mode, runs))
    return rows


def table(rows):
    header = ["problem", "early_stopping", "task", "test score", "best epoch", "epochs", "fit s"]
    print(".. list-table::\n   :header-rows: 1\n")
    print("\n".join(f"   {'*' if i == 0 else ' '} - {cell}" for i, cell in enumerate(header)))
    for problem, mode, runs in rows:
        epochs = np.mean([r[2] for r in runs])
        seconds = np.mean([r[3] for r in runs])
        for i, task in enumerate(runs[0][0]):
            scores = [r[0][task] for r in runs]
            best = np.mean([r[1][task] for r in runs])
            cells = [
                problem if i == 0 else "",
                repr(mode) if i == 0 else "",
                task,
                f"{np.mean(scores):.4f} ± {np.std(scores):.4f}",
                f"{best:.1f}",
                f"{epochs:.1f}" if i == 0 else "",
                f"{seconds:.1f}" if i == 0 else "",
            ]
            lines = (f"   {'*' if j == 0 else ' '} - {c}".rstrip() for j, c in enumerate(cells))
            print("\n".join(lines))
    print()


def main():
    torch.set_num_threads(1)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, one thread")
    print(f"# load average before: {os.getloadavg()[0]:.1f}")
    start = time.perf_counter()
    rows = run()
    print(f"# {time.perf_counter() - start:.0f} s wall-clock in all")
    print(f"# load average after: {os.getloadavg()[0]:.1f}\n")
    table(rows)


if __name__ == "__main__":
    main()
