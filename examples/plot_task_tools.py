"""
Each task as a scikit-learn model: calibrate, tune, plot
========================================================

A multi-task model predicts several targets at once, but scikit-learn's
tools for one model (calibration, threshold tuning, ROC curves, partial
dependence) take a classifier or a regressor of one target.
:func:`~sklearn_mtl.for_task` gives each task of a fitted model that face:
a fitted single-task view of the shared network, Pipeline preprocessing
included. Here the income task of an Adult model is calibrated, its
decision threshold tuned, its ROC curve and partial dependence drawn; then
the whole Pipeline is exported to ONNX and checked against ``predict``.
"""

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime as ort
from sklearn.calibration import CalibratedClassifierCV, CalibrationDisplay
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.frozen import FrozenEstimator
from sklearn.inspection import PartialDependenceDisplay
from sklearn.metrics import (
    PredictionErrorDisplay,
    RocCurveDisplay,
    balanced_accuracy_score,
    brier_score_loss,
)
from sklearn.model_selection import (
    TunedThresholdClassifierCV,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_mtl import MultiTaskEstimator, for_task, onnx_inputs, to_onnx
from sklearn_mtl.datasets import ADULT_TASKS, load_adult

X, Y = load_adult("train")
X_test, Y_test = load_adult("test")
# A quarter of the training file is kept apart to calibrate and tune on:
# rows the network never trained on.
X_fit, X_cal, Y_fit, Y_cal = train_test_split(
    X, Y, test_size=0.25, random_state=0
)

# %%
# One Pipeline: one-hot encode the categories, scale the numbers, then one
# network for income, marital status and hours worked per week.

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
        tasks=ADULT_TASKS,
        max_epochs=15,
        batch_size=512,
        random_state=0,
        verbose=1,
    ),
)
print(
    f"fitting the pipeline on {len(X_fit):,} rows:\n"
    "  about 10 s on one idle core",
    flush=True,
)
model.fit(X_fit, Y_fit)
print(f"trained for {model[-1].n_epochs_} epochs")

# %%
# The income task as a classifier
# -------------------------------
#
# ``for_task(model, "income")`` is a fitted classifier: it takes the
# Pipeline's raw DataFrame, runs the preprocessing and the shared network,
# and answers for income alone. It holds the model, not a copy, and cannot
# be refitted; tools that fit their estimator get it inside a
# :class:`~sklearn.frozen.FrozenEstimator`.

income = for_task(model, "income")
print(income.classes_)
print(f"test accuracy: {income.score(X_test, Y_test['income']):.3f}")
y_test = Y_test["income"]
y_cal = Y_cal["income"]
positive = income.classes_[1]

# %%
# Calibration
# -----------
#
# Isotonic calibration on the held-out quarter. The network was trained on
# the cross-entropy, a proper scoring rule, so its probabilities start out
# close to calibrated: the Brier score (lower is better) moves little, and
# the calibration curves show where the two differ.

calibrated = CalibratedClassifierCV(
    FrozenEstimator(income), method="isotonic"
).fit(X_cal, y_cal)
for name, classifier in [("network", income), ("isotonic", calibrated)]:
    proba = classifier.predict_proba(X_test)[:, 1]
    brier = brier_score_loss(y_test, proba, pos_label=positive)
    print(f"{name:>9}: Brier score {brier:.4f}")

fig, ax = plt.subplots(figsize=(5.5, 5.0))
for name, classifier in [("network", income), ("isotonic", calibrated)]:
    CalibrationDisplay.from_estimator(
        classifier, X_test, y_test, n_bins=15, name=name, ax=ax
    )
ax.set_title("Income: calibration on the test file")
fig.tight_layout()

# %%
# Threshold tuning
# ----------------
#
# Only about a quarter of the people earn ``>50K``; predicting the class
# with probability above 0.5 favours ``<=50K``. Tuning the threshold for
# balanced accuracy (the mean recall of the two classes) moves it down.

tuned = TunedThresholdClassifierCV(
    FrozenEstimator(income), scoring="balanced_accuracy"
).fit(X_cal, y_cal)
print(f"tuned threshold: {tuned.best_threshold_:.3f}")
for name, classifier in [("0.5", income), ("tuned", tuned)]:
    score = balanced_accuracy_score(y_test, classifier.predict(X_test))
    print(f"threshold {name:>5}: test balanced accuracy {score:.3f}")

# %%
# ROC curve and partial dependence
# --------------------------------
#
# The displays take the view like any classifier.

fig, ax = plt.subplots(figsize=(5.5, 5.0))
RocCurveDisplay.from_estimator(income, X_test, y_test, name="income", ax=ax)
ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
ax.set_title("Income: ROC curve on the test file")
fig.tight_layout()

# %%
# Partial dependence averages the predicted probability of ``>50K`` over
# 1,000 test rows while one feature sweeps its range.

# scikit-learn refuses integer columns here (a grid of floats would be
# rounded): sweep them as floats.
features = ["age", "education_num", "capital_gain"]
sample = X_test.sample(1000, random_state=0).astype(
    dict.fromkeys(features, float)
)
fig, axes = plt.subplots(1, 3, figsize=(7.0, 3.2), sharey=True)
PartialDependenceDisplay.from_estimator(
    income,
    sample,
    features,
    grid_resolution=20,
    ax=axes,
)
fig.suptitle("Income: partial dependence of P(>50K)")
fig.tight_layout()

# %%
# The regression task
# -------------------
#
# ``for_task`` gives a regressor for a regression task: here the hours
# worked per week, predicted against the truth.

hours = for_task(model, "hours_per_week")
r2 = hours.score(X_test, Y_test["hours_per_week"])
print(f"hours per week, test R^2: {r2:.3f}")
rows = np.random.RandomState(0).choice(len(X_test), 2000, replace=False)
fig, ax = plt.subplots(figsize=(5.5, 5.0))
PredictionErrorDisplay.from_estimator(
    hours,
    X_test.iloc[rows],
    Y_test["hours_per_week"].iloc[rows],
    kind="actual_vs_predicted",
    scatter_kwargs={"alpha": 0.2},
    ax=ax,
)
ax.set_title("Hours per week: predicted against actual")
fig.tight_layout()

# %%
# The whole Pipeline in ONNX
# --------------------------
#
# :func:`~sklearn_mtl.to_onnx` exports the fitted Pipeline as one ONNX
# graph: the one-hot encoding and scaling (converted by skl2onnx), the
# network and every task's decoding. onnxruntime runs it without torch or
# scikit-learn. Its inputs are the DataFrame's columns, one each
# (:func:`~sklearn_mtl.onnx_inputs` makes them); its outputs are each task's
# predictions and a classification task's probabilities.

onnx_model = to_onnx(model, X_test[:5])
session = ort.InferenceSession(onnx_model.SerializeToString())
names = [output.name for output in session.get_outputs()]
print("\n".join(names))
outputs = dict(zip(names, session.run(None, onnx_inputs(onnx_model, X_test))))

# %%
# The graph gives what the Pipeline's ``predict`` and ``predict_proba`` give:
# the same labels, and probabilities and hours equal to float32 precision
# (the graph computes in float32 in another order, its preprocessing too).

predicted = model.predict(X_test)
probabilities = model.predict_proba(X_test)
for task in probabilities:
    same = np.mean(outputs[task] == predicted[task].to_numpy())
    gap = np.abs(outputs[f"{task}_proba"] - probabilities[task]).max()
    print(f"{task}: {same:.2%} of the labels identical, largest")
    print(f"  probability difference {gap:.1e}")
hours = predicted["hours_per_week"].to_numpy()
gap = np.abs(outputs["hours_per_week"] - hours).max()
print(f"hours per week: largest difference {gap:.1e} hours")

plt.show()
