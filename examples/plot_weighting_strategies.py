"""
Weighting strategies compared
=============================

How the task losses are combined matters as much as the network. This example
fits the same network with every strategy registered in
:data:`sklearn_mtl.weighting.WEIGHTINGS` (``weighting="<name>"``) on one
generated problem with a regression, a binary and a multiclass task, and
compares their test scores, fit times and the task weights each strategy set
during training.
"""

# sphinx_gallery_thumbnail_number = 2

import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from tqdm import tqdm

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl.datasets import make_multitask
from sklearn_mtl.inspection import plot_task_weights
from sklearn_mtl.weighting import WEIGHTINGS

X, Y = make_multitask(
    4000,
    12,
    3,
    ["regression", "binary", "multiclass"],
    correlation=0.5,
    random_state=0,
)
Y = Y.__class__(volume=Y["task_0"], up=Y["task_1"], grade=Y["task_2"])
X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.5, random_state=0
)

# %%
# One fit per strategy, every other parameter equal. Loss-level strategies cost
# one backward pass per step; gradient-level ones one per task (see each
# strategy's documentation).

print(
    f"fitting one model per strategy ({len(WEIGHTINGS)} fits) on "
    f"{len(X_train):,} rows:\n  about a minute on one idle core",
    flush=True,
)
fitted, rows = {}, []
for name in tqdm(WEIGHTINGS, desc="weighting strategies", unit="fit"):
    est = MultiTaskEstimator(
        hidden_layer_sizes=(64, 32),
        weighting=name,
        max_epochs=30,
        batch_size=256,
        lr=3e-3,
        random_state=0,
    )
    start = time.perf_counter()
    est.fit(X_train, Y_train)
    seconds = time.perf_counter() - start
    fitted[name] = est
    scores = est.score_tasks(X_test, Y_test)
    mean = np.mean(list(scores.values()))
    rows.append(
        {"weighting": name, **scores, "mean": mean, "fit (s)": seconds}
    )

table = pd.DataFrame(rows).set_index("weighting")
print(table.to_string(float_format="%.3f"))

# %%
# The weights in force at each epoch: flat for ``static``, moving for the
# dynamic strategies (for gradient-level ones, the weight each task's gradient
# received in the combined update).

n = len(fitted)
n_cols = min(n, 3)
n_rows = -(-n // n_cols)
fig, axes = plt.subplots(
    n_rows,
    n_cols,
    figsize=(7, 1.8 * n_rows + 0.5),
    sharex=True,
    squeeze=False,
)
for ax, (name, est) in zip(axes.flat, fitted.items()):
    plot_task_weights(est, ax=ax)
    ax.set_title(name)
    ax.get_legend().remove()
    ax.set_xlabel("")
    ax.set_ylabel("")
for ax in axes.flat[n:]:
    ax.set_visible(False)
fig.supxlabel("epoch")
fig.supylabel("task weight")
fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower right")
fig.tight_layout()

# %%
# Mean test score per strategy, on an axis that spans the scores (not from
# 0): differences are often small on related tasks, which is itself worth
# knowing before paying for a costlier strategy.

order = table["mean"].sort_values()
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(order.values, order.index, "o")
ax.axvline(table.loc["static", "mean"], color="grey", ls="--", label="static")
ax.set_xlabel("mean of the task scores (test)")
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()
