"""
Partial labels: a rarely labelled task learns from the other tasks' rows
========================================================================

Real multi-task data is rarely fully labelled. Here we hide 90% of the
``income`` labels of the bundled Adult census data, as if the survey had asked
about income only one person in ten, and keep ``marital_status`` and
``hours_per_week`` for everyone.

A missing label (``NaN``, ``None``, ``pandas.NA``) removes that row from that
task's loss and score only, so the multi-task model still learns its shared
layers from every row through the other two tasks. The single-task baseline
can only use the rows whose income is known. Both are scored on the full,
untouched test set.
"""

# sphinx_gallery_thumbnail_path = "_static/thumbnails/partial_labels.png"

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, roc_auc_score
from tqdm import tqdm

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl.datasets import ADULT_TASKS, load_adult

X, Y = load_adult("train")
X_test, Y_test = load_adult("test")

# %%
# Hide 90% of the income labels
# -----------------------------
# ``None`` marks a missing label; the other two tasks stay fully labelled.
rng = np.random.RandomState(0)
hidden = rng.rand(len(Y)) < 0.9
Y_partial = Y.copy()
Y_partial["income"] = Y_partial["income"].astype(object).where(~hidden, None)
print(f"income labelled on {int((~hidden).sum())} of {len(Y)} training rows")


def make_model(tasks, seed):
    return MultiTaskEstimator(
        tasks=tasks,
        hidden_layer_sizes=(64, 32),
        max_epochs=30,
        early_stopping=True,
        n_iter_no_change=4,
        random_state=seed,
    )


def income_scores(model):
    proba = model.predict_proba(X_test)["income"]
    positive = model.classes_["income"][1]
    accuracy = accuracy_score(
        Y_test["income"], model.predict(X_test)["income"]
    )
    auc = roc_auc_score(Y_test["income"] == positive, proba[:, 1])
    return accuracy, auc


# %%
# Multi-task on every row versus single-task on the labelled rows
# ---------------------------------------------------------------
# The multi-task model sees all rows (income masked where hidden); the
# single-task model sees the labelled rows and the income task only. Both use
# the same network, training budget and early stopping, over three seeds. A
# single-task model that knows every income gives the ceiling. A progress
# line (tqdm) follows the seeds.
print(
    f"fitting 3 models for each of 3 seeds on up to {len(X):,} rows:\n"
    "  under 2 minutes on one idle core",
    flush=True,
)
rows = []
for seed in tqdm(range(3), desc="seeds", unit="seed"):
    multi = make_model(ADULT_TASKS, seed).fit(X, Y_partial)
    single = make_model({"income": "binary"}, seed).fit(
        X[~hidden], Y.loc[~hidden, ["income"]]
    )
    # The ceiling: income known for everyone.
    full = make_model({"income": "binary"}, seed).fit(X, Y[["income"]])
    models = {
        "multi-task, all rows": multi,
        "single-task, labelled rows": single,
        "single-task, all labels": full,  # the ceiling
    }
    for name, model in models.items():
        accuracy, auc = income_scores(model)
        rows.append(
            {
                "model": name,
                "seed": seed,
                "accuracy": accuracy,
                "roc_auc": auc,
                "epochs": model.n_epochs_,
            }
        )

results = pd.DataFrame(rows)
by_model = results.groupby("model", sort=False)[
    ["accuracy", "roc_auc", "epochs"]
]
print("mean over the seeds:")
print(by_model.mean().round(4).to_string())
print("\nstandard deviation over the seeds:")
print(by_model.std().round(4).to_string())
majority = (Y_test["income"] == Y["income"].mode()[0]).mean()
print(f"majority-class accuracy: {majority:.4f}")

# %%
# Reading the result
# ------------------
# With one income label in ten, the shared layers of the multi-task model are
# shaped by all 32,561 people through marital status and hours worked, which
# are related to income; the single-task model has about 3,300 rows to learn
# everything from. On a 2-core CPU (seeds 0-2) the multi-task model reached a
# test ROC AUC of 0.878 against 0.874 for the single-task model on the
# labelled rows, a fifth of the way to the 0.892 of a model that knows every
# income; accuracy moved from 0.839 to 0.842 (ceiling 0.852). The gain is
# small but steady, about four standard deviations across seeds (0.001):
# with these defaults the single-task model on 3,300 rows is already strong.
# The other two tasks are trained on every row: a row without income counts
# fully for them.
other_tasks = Y_test[["marital_status", "hours_per_week"]]
print(multi.score_tasks(X_test, other_tasks))
