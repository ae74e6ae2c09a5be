"""Benchmark the task-weighting strategies: cost per epoch and test scores.

For every name in ``sklearn_mtl.weighting.WEIGHTINGS`` this prints

1. the CPU time per training epoch relative to ``static`` (same data,
   network and seed; see :func:`epoch_times`), at 3 tasks on the generated
   problem and
   on Adult, and at 2, 5 and 10 tasks on a generated regression problem (the
   cost of per-task gradients as tasks are added);
2. test scores on a generated problem with a noisy task (``gen.``: three
   related tasks made by :func:`~sklearn_mtl.datasets.make_multitask`, the
   third drowned in noise three times its signal's standard deviation), on a
   generated problem with conflicting tasks (``conflict``: four unrelated
   tasks, three regressions and an 8-class task, competing for a narrow
   16-unit trunk) and on the bundled UCI Adult
   data (income, marital status, hours per week; the original train/test
   files, one-hot encoded with a ``ColumnTransformer``).

Scores are each task's default score (accuracy, R^2) on held-out rows: the
mean over three seeds of the network (with the standard deviation of the
mean score) on the generated problems, one seed on Adult. Runs in about ten
minutes on two CPU cores with one torch thread (``--cost-only``: the cost
table alone, about five).

Run from the repository root::

    python benchmarks/weighting.py [--quick] [--cost-only]
"""

import argparse
import os
import platform
import time

import numpy as np
import torch
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl.datasets import ADULT_TASKS, load_adult, make_multitask
from sklearn_mtl.weighting import WEIGHTINGS


def noisy_problem(n_samples=6000, random_state=0):
    """Three related tasks; the third has noise 3x its signal's std."""
    X, Y = make_multitask(
        n_samples,
        16,
        3,
        ["regression", "binary", "regression"],
        correlation=0.5,
        random_state=random_state,
    )
    rng = np.random.RandomState(random_state)
    noisy = np.asarray(Y["task_2"], dtype=float)
    noisy = noisy + 3 * noisy.std() * rng.normal(size=noisy.shape)
    Y = TargetDict(main=Y["task_0"], flag=Y["task_1"], noisy=noisy)
    return train_test_split(X, Y, test_size=0.3, random_state=random_state)


def conflict_problem(n_samples=6000, random_state=0):
    """Four unrelated tasks (three regressions, one 8-class) for a narrow trunk."""
    X, Y = make_multitask(
        n_samples,
        16,
        4,
        ["regression", "regression", "multiclass", "regression"],
        correlation=0.0,
        n_classes=8,
        random_state=random_state,
    )
    Y = TargetDict(reg_a=Y["task_0"], reg_b=Y["task_1"], classes8=Y["task_2"], reg_c=Y["task_3"])
    return train_test_split(X, Y, test_size=0.3, random_state=random_state)


def adult_problem():
    X_train, Y_train = load_adult("train")
    X_test, Y_test = load_adult("test")
    preprocess = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_include="category")),
        (StandardScaler(), make_column_selector(dtype_include="number")),
        sparse_threshold=0.0,
    )
    X_train = preprocess.fit_transform(X_train).astype(np.float32)
    X_test = preprocess.transform(X_test).astype(np.float32)
    return X_train, X_test, Y_train, Y_test


def scaling_problem(n_tasks, n_samples=4000):
    return make_multitask(n_samples, 24, n_tasks, correlation=0.5, random_state=0)


def epoch_times(names, problems, net, rounds):
    """CPU seconds per training epoch of each strategy on each problem.

    CPU time of the process (one torch thread), not wall-clock time, so that
    other work on a shared machine disturbs it little: each strategy is fitted
    for 1 and for 3 epochs and the difference is divided by 2, which removes
    the set-up of a fit. Strategies are interleaved over several rounds and
    each keeps its smallest figure.
    """
    times = {name: {label: np.inf for label in problems} for name in names}
    for _ in range(rounds):
        for label, (X, Y, params) in problems.items():
            for name in names:
                seconds = []
                for epochs in (1, 3):
                    params = dict(net, **params) | {"max_epochs": epochs}
                    est = MultiTaskEstimator(weighting=name, random_state=0, **params)
                    start = time.process_time()
                    est.fit(X, Y)
                    seconds.append(time.process_time() - start)
                per_epoch = (seconds[1] - seconds[0]) / 2
                times[name][label] = min(times[name][label], per_epoch)
    return times


def main(quick=False, cost_only=False):
    torch.set_num_threads(1)
    names = list(WEIGHTINGS)
    epochs = 3 if quick else 12
    seeds = (0,) if quick else (0, 1, 2)
    net = dict(hidden_layer_sizes=(64, 32), batch_size=128, lr=2e-3, max_epochs=epochs)
    adult_net = dict(
        net,
        tasks=ADULT_TASKS,
        batch_size=512,
        hidden_layer_sizes=(128, 64),
        max_epochs=max(2, epochs // 2),
    )
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch thread, device cpu"
    )
    generated = noisy_problem(3000 if quick else 6000)
    adult = adult_problem()

    # Warm up (imports, allocator, SciPy) so the first strategy timed is not penalised.
    X, Y = scaling_problem(2, 500)
    for name in names:
        MultiTaskEstimator(weighting=name, **dict(net, max_epochs=1)).fit(X, Y)

    conflict = conflict_problem(3000 if quick else 6000)
    scores = {}
    if not cost_only:
        scores = score_all(names, generated, conflict, adult, net, adult_net, seeds)

    timing_problems = {
        "gen.": (generated[0], generated[2], {}),
        "Adult": (adult[0], adult[2], adult_net),
    }
    for n_tasks in (2, 5, 10):
        X, Y = scaling_problem(n_tasks, 2000 if quick else 4000)
        timing_problems[f"{n_tasks} tasks"] = (X, Y, {})
    times = epoch_times(names, timing_problems, net, rounds=1 if quick else 3)

    print()
    print(cost_table(names, times))
    if scores:
        print()
        print(score_table(names, scores))


def score_all(names, generated, conflict, adult, net, adult_net, seeds):
    """Each strategy's per-task test scores on the three problems."""
    scored = {
        "gen.": (generated, net, seeds),
        "conflict": (conflict, dict(net, hidden_layer_sizes=(16,)), seeds),
        "Adult": (adult, adult_net, (0,)),
    }
    scores = {name: {} for name in names}
    for name in names:
        for label, ((X_train, X_test, Y_train, Y_test), params, label_seeds) in scored.items():
            scores[name][label] = [
                MultiTaskEstimator(weighting=name, **dict(params, random_state=seed))
                .fit(X_train, Y_train)
                .score_tasks(X_test, Y_test)
                for seed in label_seeds
            ]
        print(f"  scored {name}", flush=True)
    return scores


def grid_table(header, rows):
    """A reStructuredText grid table."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def render(row):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |"

    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [rule, render(header), rule.replace("-", "=")]
    for row in rows:
        out += [render(row), rule]
    return "\n".join(out)


def cost_table(names, times):
    """Seconds per epoch relative to static, with static's own seconds first."""
    labels = list(times["static"])
    header = ["strategy", *labels]
    rows = [["static, s/epoch", *(f"{times['static'][label]:.3f}" for label in labels)]]
    for name in names:
        ratios = (times[name][label] / times["static"][label] for label in labels)
        rows.append([name, *(f"{ratio:.2f}" for ratio in ratios)])
    return grid_table(header, rows)


def score_table(names, scores):
    """Per-task test scores (mean over seeds) and their mean: one table per problem.

    One table per problem keeps each narrow enough to read on the documentation site.
    """
    tables = []
    for label in scores["static"]:
        tasks = list(scores["static"][label][0])
        header = [f"{label}: strategy", *tasks, "mean"]
        rows = []
        for name in names:
            runs = scores[name][label]
            means = [np.mean(list(run.values())) for run in runs]
            spread = f" +- {np.std(means):.3f}" if len(runs) > 1 else ""
            row = [name, *(f"{np.mean([run[task] for run in runs]):.3f}" for task in tasks)]
            rows.append([*row, f"{np.mean(means):.3f}{spread}"])
        tables.append(grid_table(header, rows))
    return "\n\n".join(tables)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rows and epochs")
    parser.add_argument("--cost-only", action="store_true", help="only the cost table")
    main(**vars(parser.parse_args()))
