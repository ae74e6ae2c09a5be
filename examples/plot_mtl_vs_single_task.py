"""
Does multi-task learning help? Adult, task by task
==================================================

Multi-task learning is not always better than learning each task alone:
tasks can help or hurt each other.
:func:`~sklearn_mtl.inspection.compare_single_task` answers per task with
cross-validation, and
:func:`~sklearn_mtl.inspection.task_affinity` shows which tasks pull the
shared network in the same direction. Both take a
:class:`~sklearn_mtl.MultiTaskEstimator` (here fitted on Adult's DataFrame as
it comes) or a Pipeline that ends in one.
"""

import matplotlib.pyplot as plt
from sklearn.model_selection import KFold

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl.datasets import ADULT_TASKS, load_adult
from sklearn_mtl.inspection import (
    compare_single_task,
    plot_task_affinity,
    plot_training_history,
    task_affinity,
)

X, Y = load_adult("train")
X_test, Y_test = load_adult("test")
# 23 of 32,561 people have the marital status "Married-AF-spouse" (spouse in
# the armed forces); a test fold can hold a class its training folds never saw,
# so merge it into "Married-civ-spouse".
for targets in (Y, Y_test):
    targets["marital_status"] = targets["marital_status"].replace(
        {"Married-AF-spouse": "Married-civ-spouse"}
    )

model = MultiTaskEstimator(
    tasks=ADULT_TASKS,
    hidden_layer_sizes=(64, 32),
    max_epochs=15,
    batch_size=256,
    random_state=0,
)

# %%
# Multi-task versus single-task, per task
# ---------------------------------------
# Each fold fits the estimator on all three tasks and, for each task, a clone
# with the same parameters on that task alone. ``difference`` is the mean
# paired difference of the test scores; the verdict says "helps" or "hurts"
# when it exceeds twice its standard error across folds.

print(
    f"comparing on {len(X):,} rows, 3 folds x (1 multi-task + 3 single-task "
    "fits):\n  about a minute and a half on one idle core",
    flush=True,
)
comparison = compare_single_task(
    model,
    X,
    Y,
    cv=KFold(3, shuffle=True, random_state=0),
    scoring={"income": "roc_auc"},
    verbose=1,
)
shown = ["metric", "multi_task", "single_task", "difference", "verdict"]
short = {"multi_task": "multi", "single_task": "single"}
print(comparison[shown].rename(columns=short).round(4).to_string())
print()
print(comparison[["difference_std", "difference_se"]].round(4).to_string())

# %%
# Which tasks cooperate?
# ----------------------
# Fit once on the training file and measure, on the test file, the cosine
# similarity between the tasks' gradients on the shared trunk. Positive
# values: a step that helps one task helps the other.

print(
    f"fitting the multi-task model on {len(X):,} rows:\n"
    "  about 15 s on one idle core",
    flush=True,
)
model.set_params(verbose=1).fit(X, Y)
affinity = task_affinity(model, X_test, Y_test)
print(affinity.round(3))

fig, ax = plt.subplots(figsize=(5.5, 4.5))
plot_task_affinity(affinity, ax=ax)
fig.tight_layout()

# %%
# The per-task training losses of that fit, epoch by epoch.

fig, ax = plt.subplots(figsize=(7, 4))
plot_training_history(model, ax=ax)
fig.tight_layout()
plt.show()
