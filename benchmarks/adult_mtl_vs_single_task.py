"""Multi-task versus single-task on the Adult training file, per task.

Writes the table of ``docs/benchmarks/mtl_vs_single_task.rst`` (printed as a
reStructuredText list-table). Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/adult_mtl_vs_single_task.py [n_rows] [--verbose]

``n_rows`` (default: all 32,561) subsamples the training file first;
``--verbose`` draws a progress line over the 12 fits on stderr.
"""

import argparse
import time

from sklearn.model_selection import KFold

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl.datasets import ADULT_TASKS, load_adult
from sklearn_mtl.inspection import compare_single_task


def main(n_rows=None, verbose=False):
    X, Y = load_adult("train")
    Y["marital_status"] = Y["marital_status"].replace({"Married-AF-spouse": "Married-civ-spouse"})
    if n_rows is not None:
        X, Y = X.sample(n_rows, random_state=0), Y.sample(n_rows, random_state=0)
    model = MultiTaskEstimator(
        tasks=ADULT_TASKS,
        hidden_layer_sizes=(128, 64),
        max_epochs=10,
        batch_size=512,
        random_state=0,
    )
    start = time.perf_counter()
    table = compare_single_task(
        model,
        X,
        Y,
        cv=KFold(3, shuffle=True, random_state=0),
        scoring={"income": "roc_auc"},
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    print(f".. list-table:: {len(X)} rows, 3 folds, {seconds:.0f} s in all (one CPU thread)")
    print("   :header-rows: 1\n")
    header = ["task", "metric", "multi-task", "single-task", "difference", "std", "s.e.", "verdict"]
    print("\n".join(f"   {'*' if i == 0 else ' '} - {cell}" for i, cell in enumerate(header)))
    for task, row in table.iterrows():
        cells = [task, row["metric"]]
        cells += [f"{row[c]:.4f}" for c in ("multi_task", "single_task")]
        cells += [f"{row[c]:+.4f}" for c in ("difference",)]
        cells += [f"{row[c]:.4f}" for c in ("difference_std", "difference_se")]
        cells += [row["verdict"]]
        print("\n".join(f"   {'*' if i == 0 else ' '} - {cell}" for i, cell in enumerate(cells)))
    print()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_rows", type=int, nargs="?", help="default: all")
    parser.add_argument("--verbose", action="store_true", help="a progress line over the fits")
    args = parser.parse_args()
    main(args.n_rows, args.verbose)
