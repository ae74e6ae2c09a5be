"""Benchmark the task-weighting strategies: cost per epoch and test scores.

For every name in ``sklearn_mtl.weighting.WEIGHTINGS`` this prints

1. the time per training epoch relative to ``static`` (the fastest epoch of
   a fit, the least disturbed by other work on the machine; same data,
   network and seed), at 3 tasks on the generated problem and
   on Adult, and at 2, 5 and 10 tasks on a generated regression problem (the
   cost of per-task gradients as tasks are added);
2. test scores on a generated problem with a noisy task (three tasks made by
   :func:`~sklearn_mtl.datasets.make_multitask`, the third drowned in noise
   three times its signal's standard deviation) and on the bundled UCI Adult
   data (income, marital status, hours per week; the original train/test
   files, one-hot encoded with a ``ColumnTransformer``).

Scores are each task's default score (accuracy, R^2) on held-out rows, one
seed; differences of a few thousandths are within seed noise. Runs in about
five minutes on two CPU cores with one torch thread.

Run from the repository root::

    python benchmarks/weighting.py [--quick]
"""

import argparse
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


def fit_and_score(name, X_train, X_test, Y_train, Y_test, **params):
    est = MultiTaskEstimator(weighting=name, random_state=0, **params)
    est.fit(X_train, Y_train)
    epoch = float(np.min(est.history_[:, "dur"]))
    return epoch, est.score_tasks(X_test, Y_test), est.task_weights_


def scaling_problem(n_tasks, n_samples=4000):
    return make_multitask(n_samples, 24, n_tasks, correlation=0.5, random_state=0)


def main(quick=False):
    torch.set_num_threads(1)
    names = list(WEIGHTINGS)
    epochs = 3 if quick else 12
    net = dict(hidden_layer_sizes=(64, 32), batch_size=128, lr=2e-3, max_epochs=epochs)
    print(
        f"Machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch thread, device cpu"
    )

    # Warm up (imports, allocator, SciPy) so the first strategy timed is not penalised.
    X, Y = scaling_problem(2, 500)
    for name in names:
        MultiTaskEstimator(weighting=name, **dict(net, max_epochs=1)).fit(X, Y)

    problems = {"generated": noisy_problem(3000 if quick else 6000), "adult": adult_problem()}
    rows = {name: {} for name in names}
    for label, (X_train, X_test, Y_train, Y_test) in problems.items():
        params = dict(net, max_epochs=max(2, epochs // 2)) if label == "adult" else net
        if label == "adult":
            params = dict(params, tasks=ADULT_TASKS, batch_size=512, hidden_layer_sizes=(128, 64))
        for name in names:
            start = time.perf_counter()
            epoch, scores, weights = fit_and_score(name, X_train, X_test, Y_train, Y_test, **params)
            rows[name][label] = (epoch, scores, weights)
            print(
                f"  {label:9s} {name:11s} {time.perf_counter() - start:6.1f} s  "
                + " ".join(f"{t}={s:.3f}" for t, s in scores.items()),
                flush=True,
            )

    scaling = {name: {} for name in names}
    for n_tasks in (2, 5, 10):
        X, Y = scaling_problem(n_tasks, 2000 if quick else 4000)
        for name in names:
            est = MultiTaskEstimator(weighting=name, random_state=0, **dict(net, max_epochs=3))
            est.fit(X, Y)
            scaling[name][n_tasks] = float(np.min(est.history_[:, "dur"]))

    print()
    print(table(names, rows, scaling))


def table(names, rows, scaling):
    """The results as a reStructuredText grid table."""
    generated_tasks = list(rows["static"]["generated"][1])
    adult_tasks = list(rows["static"]["adult"][1])
    header = (
        ["strategy", "epoch x gen.", "epoch x Adult"]
        + [f"x at {t} tasks" for t in (2, 5, 10)]
        + [f"gen. {t}" for t in generated_tasks]
        + ["gen. mean"]
        + [f"Adult {t}" for t in adult_tasks]
        + ["Adult mean"]
    )
    lines = []
    for name in names:
        gen_epoch, gen_scores, _ = rows[name]["generated"]
        adult_epoch, adult_scores, _ = rows[name]["adult"]
        cells = [
            name,
            f"{gen_epoch / rows['static']['generated'][0]:.2f}",
            f"{adult_epoch / rows['static']['adult'][0]:.2f}",
            *(f"{scaling[name][t] / scaling['static'][t]:.2f}" for t in (2, 5, 10)),
            *(f"{gen_scores[t]:.3f}" for t in generated_tasks),
            f"{np.mean(list(gen_scores.values())):.3f}",
            *(f"{adult_scores[t]:.3f}" for t in adult_tasks),
            f"{np.mean(list(adult_scores.values())):.3f}",
        ]
        lines.append(cells)
    static = [
        "static (s/epoch)",
        f"{rows['static']['generated'][0]:.3f}",
        f"{rows['static']['adult'][0]:.3f}",
        *(f"{scaling['static'][t]:.3f}" for t in (2, 5, 10)),
    ] + [""] * (len(header) - 6)
    widths = [max(len(str(row[i])) for row in [header, static, *lines]) for i in range(len(header))]

    def render(row):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |"

    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [rule, render(header), rule.replace("-", "="), render(static), rule]
    for row in lines:
        out += [render(row), rule]
    return "\n".join(out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rows and epochs")
    main(**vars(parser.parse_args()))
