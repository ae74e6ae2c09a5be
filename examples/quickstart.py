"""
Quickstart: three tasks on the Adult census data
=================================================

Fit one :class:`~sklearn_mtl.MultiTaskEstimator` on the bundled UCI Adult
training file to predict income (binary), marital status (multiclass) and
hours worked per week (regression) at once, and compare its test scores with
the same estimator trained on each task alone.
"""

# sphinx_gallery_thumbnail_path = "_static/thumbnails/quickstart.png"

import time

import pandas as pd

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl.datasets import ADULT_TASKS, load_adult

X_train, Y_train = load_adult("train")
X_test, Y_test = load_adult("test")
print(f"Adult: {len(X_train)} training rows, {len(X_test)} test rows; tasks:")
for task, kind in ADULT_TASKS.items():
    print(f"  {task} ({kind})")
categorical = X_train.select_dtypes("category").columns
print(f"features: {X_train.shape[1] - len(categorical)} numeric columns and")
print(f"  {len(categorical)} categorical: {', '.join(categorical)}")

# %%
# The DataFrame goes in as it comes: the estimator one-hot encodes or embeds
# its categorical columns (``category`` dtype here, missing values included)
# and scales the numeric ones itself. The same estimator serves the
# multi-task model and the single-task ones.


def make_model(tasks):
    return MultiTaskEstimator(
        tasks=tasks,
        hidden_layer_sizes=(128, 64),
        max_epochs=30,
        batch_size=512,
        early_stopping=True,
        n_iter_no_change=4,
        random_state=0,
        verbose=1,
    )


def fit_and_score(columns):
    model = make_model({name: ADULT_TASKS[name] for name in columns})
    start = time.perf_counter()
    model.fit(X_train, Y_train[columns])
    seconds = time.perf_counter() - start
    scores = model.score_tasks(X_test, Y_test[columns])
    return scores, seconds, model.n_epochs_


# %%
# The multi-task model sees all three targets; each single-task model sees one.
# ``verbose=1`` draws one progress line per fit (on stderr): the epochs run
# out of ``max_epochs``, the time elapsed and left, the validation loss and,
# when early stopping ends the fit, why; then each task's score on the rows
# held out for early stopping. See :ref:`progress` for how to read it.

print(
    f"\nfitting the multi-task model (3 tasks) on {len(X_train):,} rows:\n"
    "  about 20 s on one idle core",
    flush=True,
)
multi_scores, multi_seconds, multi_epochs = fit_and_score(list(ADULT_TASKS))
print(
    "\nfitting one single-task model per task on the same rows:\n"
    "  about 40 s in all on one idle core",
    flush=True,
)
rows = []
for task in ADULT_TASKS:
    single_scores, single_seconds, single_epochs = fit_and_score([task])
    rows.append(
        {
            "task": task,
            "metric": "R^2"
            if ADULT_TASKS[task] == "regression"
            else "accuracy",
            "multi-task": multi_scores[task],
            "single-task": single_scores[task],
            "single (s)": single_seconds,
            "single epochs": single_epochs,
        }
    )
table = pd.DataFrame(rows).set_index("task")
pd.set_option("display.precision", 3)
print(table.to_string())
print(
    f"multi-task fit: {multi_seconds:.1f} s for all three tasks "
    f"({multi_epochs} epochs)"
)
print(f"single-task fits: {table['single (s)'].sum():.1f} s in all")
