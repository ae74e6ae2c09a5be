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
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl.datasets import ADULT_TASKS, load_adult

X_train, Y_train = load_adult("train")
X_test, Y_test = load_adult("test")
print(f"Adult: {len(X_train)} training rows, {len(X_test)} test rows; tasks:")
for task, kind in ADULT_TASKS.items():
    print(f"  {task} ({kind})")

# %%
# One-hot encode the categorical columns, scale the numeric ones, then fit
# the network. The same pipeline serves the multi-task model and the
# single-task ones.


def make_model(tasks):
    preprocess = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore"),
            make_column_selector(dtype_include="category"),
        ),
        (StandardScaler(), make_column_selector(dtype_include="number")),
        sparse_threshold=0.0,
    )
    estimator = MultiTaskEstimator(
        tasks=tasks,
        hidden_layer_sizes=(128, 64),
        max_epochs=30,
        batch_size=512,
        early_stopping=True,
        n_iter_no_change=4,
        random_state=0,
    )
    return make_pipeline(preprocess, estimator)


def fit_and_score(columns):
    model = make_model({name: ADULT_TASKS[name] for name in columns})
    start = time.perf_counter()
    model.fit(X_train, Y_train[columns])
    seconds = time.perf_counter() - start
    scores = model[-1].score_tasks(
        model[:-1].transform(X_test), Y_test[columns]
    )
    return scores, seconds, model[-1].n_epochs_


# %%
# The multi-task model sees all three targets; each single-task model sees one.

multi_scores, multi_seconds, multi_epochs = fit_and_score(list(ADULT_TASKS))
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
