"""
Grid search over task weights and layer sizes in a Pipeline
===========================================================

A :class:`~sklearn_mtl.MultiTaskEstimator` is an ordinary scikit-learn
estimator: it sits at the end of a :class:`~sklearn.pipeline.Pipeline`, here
behind a :class:`~sklearn.compose.ColumnTransformer`, and
:class:`~sklearn.model_selection.GridSearchCV` tunes its parameters. Here the
search tunes the weight of the marital-status task
(``task_weights__marital_status``) and the size of the shared trunk
(``hidden_layer_sizes``), scoring each task with
:func:`~sklearn_mtl.task_scorer` and refitting on the income ROC AUC.
"""

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_mtl import MultiTaskEstimator, task_scorer
from sklearn_mtl.datasets import ADULT_TASKS, load_adult

X, Y = load_adult("train")
# 23 of 32,561 people have the marital status "Married-AF-spouse" (spouse in
# the armed forces); a test fold can hold a class its training folds never saw,
# so merge it into "Married-civ-spouse".
Y["marital_status"] = Y["marital_status"].replace(
    {"Married-AF-spouse": "Married-civ-spouse"}
)
X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.25, random_state=0
)

# %%
# The estimator would encode Adult's DataFrame itself; a Pipeline is where
# your own preprocessing goes when you want to choose it. This one one-hot
# encodes the categories and scales the numbers, then one network learns the
# three tasks. Step names are lower-cased class names, so the estimator's
# parameters are ``multitaskestimator__<name>``.

model = make_pipeline(
    make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore"),
            make_column_selector(dtype_include="category"),
        ),
        (StandardScaler(), make_column_selector(dtype_include="number")),
        sparse_threshold=0.0,
    ),
    MultiTaskEstimator(
        tasks=ADULT_TASKS, max_epochs=10, batch_size=512, random_state=0
    ),
)

# %%
# ``task_weights__<task>`` addresses one entry of the ``task_weights`` dict,
# like a nested parameter. Each task gets its own scorer; ``refit`` picks the
# one the final model is chosen by.

param_grid = {
    "multitaskestimator__task_weights__marital_status": [0.1, 1.0, 10.0],
    "multitaskestimator__hidden_layer_sizes": [(32,), (64, 32)],
}
scoring = {
    "income_auc": task_scorer("income", "roc_auc"),
    "marital_accuracy": task_scorer("marital_status", "accuracy"),
    "hours_r2": task_scorer("hours_per_week", "r2"),
}
search = GridSearchCV(
    model, param_grid, scoring=scoring, refit="income_auc", cv=3, verbose=1
)
print(
    f"grid search on {len(X_train):,} rows, then the best candidate "
    "refitted:\n  about 75 s on one idle core",
    flush=True,
)
search.fit(X_train, Y_train)

results = pd.DataFrame(search.cv_results_)
columns = {
    "param_multitaskestimator__task_weights__marital_status": "marital weight",
    "param_multitaskestimator__hidden_layer_sizes": "trunk",
    "mean_test_income_auc": "income AUC",
    "mean_test_marital_accuracy": "marital acc.",
    "mean_test_hours_r2": "hours R^2",
}
table = results[list(columns)].rename(columns=columns)
print(table.to_string(index=False, float_format="%.3f"))
print("best:")
for name, value in search.best_params_.items():
    print(f"  {name.removeprefix('multitaskestimator__')} = {value}")

# %%
# Raising a task's weight trades the other tasks' scores for its own: the
# marital-status accuracy climbs with its weight, income and hours pay for it.

fig, axes = plt.subplots(3, 1, figsize=(7, 7.5), sharex=True)
for ax, metric in zip(axes, ["income AUC", "marital acc.", "hours R^2"]):
    for trunk, group in table.groupby(table["trunk"].astype(str)):
        ax.plot(
            group["marital weight"],
            group[metric],
            marker="o",
            label=f"trunk {trunk}",
        )
    ax.set_xscale("log")
    ax.set_ylabel(metric)
axes[-1].set_xlabel("weight of the marital_status task")
axes[0].legend()
fig.tight_layout()

# %%
# The refitted best pipeline predicts all three tasks on new rows.

best = search.best_estimator_
test_scores = best[-1].score_tasks(best[:-1].transform(X_test), Y_test)
for task, score in test_scores.items():
    print(f"test {task}: {score:.3f}")
print(f"test income AUC: {scoring['income_auc'](best, X_test, Y_test):.3f}")
plt.show()
