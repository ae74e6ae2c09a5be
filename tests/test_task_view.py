"""for_task: each task of a fitted model as a fitted scikit-learn classifier or regressor."""

import pickle

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.calibration import CalibratedClassifierCV, CalibrationDisplay
from sklearn.compose import make_column_transformer
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.inspection import PartialDependenceDisplay, partial_dependence, permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    DetCurveDisplay,
    PrecisionRecallDisplay,
    PredictionErrorDisplay,
    RocCurveDisplay,
    accuracy_score,
    log_loss,
    r2_score,
    roc_auc_score,
)
from sklearn.model_selection import TunedThresholdClassifierCV, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from sklearn_mtl import MultiTaskEstimator, TargetDict, for_task, task_scorer
from sklearn_mtl._task_view import TaskClassifier, TaskRegressor

matplotlib.use("Agg")


def _data(n=600, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    Y = TargetDict(
        label=np.where(X[:, 0] + 0.5 * X[:, 1] + 0.3 * rng.normal(size=n) > 0, "yes", "no"),
        value=3.0 * X[:, 1] - X[:, 2] + 10.0 + 0.2 * rng.normal(size=n),
        grade=np.digitize(X[:, 2] + 0.3 * X[:, 0], [-0.6, 0.6]),
    )
    return X, Y


def _estimator(**params):
    base = dict(hidden_layer_sizes=(32,), max_epochs=40, batch_size=64, lr=1e-2, random_state=0)
    return MultiTaskEstimator(**{**base, **params})


@pytest.fixture(scope="module")
def one_thread():
    # conftest's per-test thread limit comes after module fixtures: apply it to them too.
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def fitted(one_thread):
    """A model that has learned its three tasks (shared by tests that only read it)."""
    X, Y = _data()
    return _estimator().fit(X, Y), X, Y


@pytest.fixture(scope="module")
def pipeline_fitted(one_thread):
    """A ColumnTransformer + estimator Pipeline fitted on a DataFrame with a category."""
    rng = np.random.RandomState(1)
    n = 500
    X = pd.DataFrame(
        {
            "num": rng.normal(size=n),
            "other": rng.normal(size=n),
            "cat": rng.choice(list("abc"), size=n),
        }
    )
    Y = pd.DataFrame(
        {
            "label": np.where(X["num"] + (X["cat"] == "a") > 0.3, "yes", "no"),
            "value": 2.0 * X["other"] + (X["cat"] == "b") * 3.0,
        }
    )
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["cat"]), (StandardScaler(), ["num", "other"])),
        _estimator(max_epochs=30),
    ).fit(X, Y)
    return model, X, Y


def test_views_are_classifiers_and_regressors_with_the_model_s_attributes(fitted):
    est, X, Y = fitted
    label, grade, value = for_task(est, "label"), for_task(est, "grade"), for_task(est, "value")
    assert isinstance(label, TaskClassifier) and isinstance(value, TaskRegressor)
    assert is_classifier(label) and is_classifier(grade) and is_regressor(value)
    assert not is_classifier(value)
    np.testing.assert_array_equal(label.classes_, ["no", "yes"])
    np.testing.assert_array_equal(grade.classes_, [0, 1, 2])
    assert not hasattr(value, "classes_") and not hasattr(value, "predict_proba")
    assert label.n_features_in_ == value.n_features_in_ == 4
    assert not hasattr(label, "feature_names_in_")  # fitted on an array
    assert label.model is est and label.estimator_ is est and label.preprocessors_ == []
    assert (label.task_type_, grade.task_type_, value.task_type_) == (
        "binary",
        "multiclass",
        "regression",
    )


def test_view_predictions_are_the_model_s_for_that_task(fitted):
    est, X, Y = fitted
    label, grade, value = (for_task(est, task) for task in ("label", "grade", "value"))
    predicted, proba = est.predict(X), est.predict_proba(X)
    np.testing.assert_array_equal(label.predict(X), predicted["label"])
    np.testing.assert_array_equal(grade.predict(X), predicted["grade"])
    np.testing.assert_array_equal(value.predict(X), predicted["value"])
    np.testing.assert_array_equal(label.predict_proba(X), proba["label"])
    np.testing.assert_array_equal(grade.predict_proba(X), proba["grade"])
    # Binary: one logit per row, positive where classes_[1] is predicted.
    logit = label.decision_function(X)
    assert logit.shape == (len(X),)
    np.testing.assert_array_equal(label.classes_[(logit > 0).astype(int)], predicted["label"])
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), proba["label"][:, 1], rtol=1e-6)
    scores = grade.decision_function(X)
    assert scores.shape == (len(X), 3)
    np.testing.assert_array_equal(grade.classes_[scores.argmax(axis=1)], predicted["grade"])


def test_view_score_is_the_task_s_default_score_over_labelled_rows(fitted):
    est, X, Y = fitted
    label, value = for_task(est, "label"), for_task(est, "value")
    assert label.score(X, Y["label"]) == accuracy_score(Y["label"], label.predict(X))
    assert value.score(X, Y["value"]) == pytest.approx(r2_score(Y["value"], value.predict(X)))
    assert label.score(X, Y["label"]) > 0.85 and value.score(X, Y["value"]) > 0.85
    partial = Y["value"].copy()
    partial[:100] = np.nan
    expected = r2_score(Y["value"][100:], value.predict(X[100:]))
    assert value.score(X, partial) == pytest.approx(expected)


def test_a_view_reads_the_model_and_does_not_copy_it(fitted):
    _, X, Y = fitted
    est = _estimator(max_epochs=2).fit(X, Y)
    view = for_task(est, "value")
    before = view.predict(X)
    est.set_params(max_epochs=20).fit(X, Y)
    after = view.predict(X)
    assert not np.allclose(before, after)
    np.testing.assert_array_equal(after, est.predict(X)["value"])


def test_calibration_of_a_frozen_view(fitted):
    est, X, Y = fitted
    X_cal, y_cal = _data(400, seed=1)[0], _data(400, seed=1)[1]["label"]
    view = for_task(est, "label")
    for method in ("sigmoid", "isotonic"):
        calibrated = CalibratedClassifierCV(FrozenEstimator(view), method=method).fit(X_cal, y_cal)
        np.testing.assert_array_equal(calibrated.classes_, view.classes_)
        proba = calibrated.predict_proba(X)
        assert proba.shape == (len(X), 2)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        # Calibration keeps the ranking of a good model: the AUC stays high.
        assert roc_auc_score(Y["label"] == "yes", proba[:, 1]) > 0.9


@pytest.mark.parametrize("how", ["frozen", "prefit"])
def test_threshold_tuning_of_a_view(fitted, how):
    est, X, Y = fitted
    view = for_task(est, "label")
    if how == "frozen":
        tuned = TunedThresholdClassifierCV(FrozenEstimator(view), scoring="balanced_accuracy")
    else:
        tuned = TunedThresholdClassifierCV(
            view, cv="prefit", refit=False, scoring="balanced_accuracy"
        )
    tuned.fit(X, Y["label"])
    assert 0.0 < tuned.best_threshold_ < 1.0
    assert tuned.best_score_ > 0.85
    predicted = tuned.predict(X)
    expected = np.where(view.predict_proba(X)[:, 1] >= tuned.best_threshold_, "yes", "no")
    np.testing.assert_array_equal(predicted, expected)


def test_curve_displays_of_a_classification_view(fitted):
    est, X, Y = fitted
    view = for_task(est, "label")
    roc = RocCurveDisplay.from_estimator(view, X, Y["label"])
    expected = roc_auc_score(Y["label"] == "yes", view.predict_proba(X)[:, 1])
    assert roc.roc_auc == pytest.approx(expected)
    assert roc.roc_auc > 0.9
    pr = PrecisionRecallDisplay.from_estimator(view, X, Y["label"])
    assert pr.average_precision > 0.9
    matplotlib.pyplot.close("all")


def test_calibration_and_det_displays_of_a_classification_view(fitted):
    est, X, Y = fitted
    view = for_task(est, "label")
    calibration = CalibrationDisplay.from_estimator(view, X, Y["label"], n_bins=5)
    assert len(calibration.prob_pred) == 5
    det = DetCurveDisplay.from_estimator(view, X, Y["label"])
    assert len(det.fpr) > 10
    matplotlib.pyplot.close("all")


def test_prediction_error_display_of_a_regression_view(fitted):
    est, X, Y = fitted
    view = for_task(est, "value")
    display = PredictionErrorDisplay.from_estimator(view, X, Y["value"])
    np.testing.assert_array_equal(display.y_pred, view.predict(X))
    matplotlib.pyplot.close("all")


def test_partial_dependence_of_each_kind_of_view(fitted):
    est, X, Y = fitted
    # value = 3 x1 - x2 + 10: its partial dependence on x1 rises by about 3 per unit.
    value = for_task(est, "value")
    result = partial_dependence(value, X, [1], grid_resolution=20)
    grid, average = result["grid_values"][0], result["average"][0]
    slope = np.polyfit(grid, average, 1)[0]
    assert 2.0 < slope < 4.0
    label = for_task(est, "label")
    rising = partial_dependence(label, X, [0], grid_resolution=10)["average"][0]
    assert rising[-1] > rising[0] + 0.5  # P(yes) rises with x0
    grade = for_task(est, "grade")
    assert partial_dependence(grade, X, [2], grid_resolution=10)["average"].shape == (3, 10)
    display = PartialDependenceDisplay.from_estimator(label, X, [0, 1], grid_resolution=10)
    assert display.pd_results[0]["average"].shape == (1, 10)
    PartialDependenceDisplay.from_estimator(grade, X, [2], target=2, grid_resolution=10)
    matplotlib.pyplot.close("all")


def test_permutation_importance_of_a_view_finds_the_task_s_features(fitted):
    est, X, Y = fitted
    label = permutation_importance(
        for_task(est, "label"), X, Y["label"], n_repeats=3, random_state=0
    )
    assert np.argmax(label.importances_mean) == 0
    assert label.importances_mean[3] < 0.02  # x3 is noise for every task
    value = permutation_importance(
        for_task(est, "value"), X, Y["value"], n_repeats=3, random_state=0
    )
    assert np.argmax(value.importances_mean) == 1


def test_stacking_and_voting_with_frozen_views(fitted):
    est, X, Y = fitted
    frozen = FrozenEstimator(for_task(est, "label"))
    stack = StackingClassifier([("mtl", frozen)], LogisticRegression(), cv=3)
    assert stack.fit(X, Y["label"]).score(X, Y["label"]) > 0.85
    vote = VotingClassifier([("mtl", frozen), ("lr", LogisticRegression())], voting="soft")
    assert vote.fit(X, Y["label"]).score(X, Y["label"]) > 0.85


def test_views_of_a_pipeline_run_its_preprocessing(pipeline_fitted):
    model, X, Y = pipeline_fitted
    label, value = for_task(model, "label"), for_task(model, "value")
    assert label.estimator_ is model[-1] and len(label.preprocessors_) == 1
    assert label.n_features_in_ == 3
    np.testing.assert_array_equal(label.feature_names_in_, ["num", "other", "cat"])
    np.testing.assert_array_equal(label.predict(X), model.predict(X)["label"])
    np.testing.assert_array_equal(value.predict(X), model.predict(X)["value"])
    assert label.score(X, Y["label"]) > 0.9 and value.score(X, Y["value"]) > 0.9
    calibrated = CalibratedClassifierCV(FrozenEstimator(label)).fit(X, Y["label"])
    assert calibrated.score(X, Y["label"]) > 0.9
    tuned = TunedThresholdClassifierCV(FrozenEstimator(label)).fit(X, Y["label"])
    assert 0.0 < tuned.best_threshold_ < 1.0
    RocCurveDisplay.from_estimator(label, X, Y["label"])
    PredictionErrorDisplay.from_estimator(value, X, Y["value"])
    # Partial dependence over a DataFrame column, categorical one included.
    slope = partial_dependence(value, X, ["other"], grid_resolution=10)
    assert np.ptp(slope["average"][0]) > 2.0
    by_category = partial_dependence(value, X, ["cat"], categorical_features=["cat"])
    np.testing.assert_array_equal(by_category["grid_values"][0], ["a", "b", "c"])
    assert by_category["average"][0][1] > by_category["average"][0][0] + 2.0
    PartialDependenceDisplay.from_estimator(label, X, ["num", "cat"], categorical_features=["cat"])
    importances = permutation_importance(value, X, Y["value"], n_repeats=3, random_state=0)
    assert importances.importances_mean[0] < importances.importances_mean[1]
    matplotlib.pyplot.close("all")


def test_a_view_of_a_nested_pipeline(pipeline_fitted):
    model, X, Y = pipeline_fitted
    # Fitted steps assembled by hand: preprocessing at two levels, nothing refitted.
    inner = Pipeline(
        [("same", FunctionTransformer().fit(model[0].transform(X))), ("mtl", model[-1])]
    )
    nested = Pipeline([("pre", model[0]), ("inner", inner)])
    view = for_task(nested, "value")
    np.testing.assert_array_equal(view.predict(X), model.predict(X)["value"])
    assert view.estimator_ is model[-1] and len(view.preprocessors_) == 2


@pytest.mark.parametrize("task", ["label", "value"])
def test_a_view_pickles(fitted, task):
    est, X, _ = fitted
    view = for_task(est, task)
    restored = pickle.loads(pickle.dumps(view))
    assert type(restored) is type(view) and restored.task == task
    np.testing.assert_array_equal(restored.predict(X), view.predict(X))
    if task == "label":
        np.testing.assert_array_equal(restored.predict_proba(X), view.predict_proba(X))
        np.testing.assert_array_equal(restored.decision_function(X), view.decision_function(X))


def test_a_view_of_a_pipeline_pickles(pipeline_fitted):
    model, X, _ = pipeline_fitted
    restored = pickle.loads(pickle.dumps(for_task(model, "label")))
    np.testing.assert_array_equal(
        restored.predict_proba(X), model[-1].predict_proba(model[:-1].transform(X))["label"]
    )


REFIT = "cannot be fitted on its own: its network is shared with the model's other tasks"


def test_fitting_a_view_says_why_it_cannot_and_what_to_do(fitted):
    est, X, Y = fitted
    view = for_task(est, "label")
    with pytest.raises(TypeError, match=REFIT) as info:
        view.fit(X, Y["label"])
    assert "FrozenEstimator" in str(info.value) and "for_task(model, 'label')" in str(info.value)
    # Still the same fitted view afterwards.
    np.testing.assert_array_equal(view.predict(X), est.predict(X)["label"])


def test_a_cloned_view_is_unfitted_and_refuses_fit_like_the_view(fitted):
    est, X, Y = fitted
    view = for_task(est, "value")
    copy = clone(view)
    assert copy.model is not est
    with pytest.raises(NotFittedError):
        copy.predict(X)
    with pytest.raises(TypeError, match=REFIT):
        copy.fit(X, Y["value"])


def test_tools_that_clone_and_fit_a_view_give_the_same_error(fitted):
    est, X, Y = fitted
    with pytest.raises(TypeError, match=REFIT):
        CalibratedClassifierCV(for_task(est, "label"), cv=3).fit(X, Y["label"])
    with pytest.raises(TypeError, match=REFIT):
        cross_val_score(for_task(est, "value"), X, Y["value"], cv=2, error_score="raise")


def test_a_stale_view_says_what_changed(fast, rng):
    # Issue 26: a KeyError after a refit as a regression, "Call 'fit'" after one without it.
    X = rng.normal(size=(60, 3))
    est = MultiTaskEstimator(**fast).fit(X, {"t": X[:, 0] > 0, "u": X[:, 1]})
    view = for_task(est, "t")
    est.fit(X, {"t": X[:, 0], "u": X[:, 1]})
    with pytest.raises(NotFittedError, match=r"refitted as a regression task.*a TaskRegressor"):
        view.predict_proba(X)
    assert not hasattr(view, "classes_") and not hasattr(view, "n_features_in_")
    est.fit(X, {"u": X[:, 1]})
    with pytest.raises(NotFittedError, match=r"'t', which the model no longer has.*\['u'\]"):
        view.predict(X)
    with pytest.raises(NotFittedError, match=r"model that is not fitted \(a clone of a view"):
        clone(view).predict(X)
    est.fit(X, {"t": X[:, 0] < 0, "u": X[:, 1]})
    np.testing.assert_array_equal(view.predict(X), est.predict(X)["t"])  # current again


def test_an_ordinal_view_has_sorted_classes_as_scikit_learn_s_metrics_read_them(rng):
    # Issue 26: the view kept the declared order, which log loss and ROC AUC read as
    # sorted (neg_log_loss gave 2.5 where it is 0.6, roc_auc_ovr 0.23 where it is 0.999).
    X = rng.normal(size=(400, 3))
    y = np.array(["lo", "mid", "hi"])[np.digitize(X[:, 0], [-0.5, 0.5])]
    est = _estimator(tasks={"o": ["lo", "mid", "hi"]}, max_epochs=30).fit(X, {"o": y})
    view = for_task(est, "o")
    assert view.classes_.tolist() == ["hi", "lo", "mid"]
    assert est.classes_["o"].tolist() == ["lo", "mid", "hi"]  # the model keeps its order
    proba = est.predict_proba(X)["o"]
    np.testing.assert_array_equal(view.predict_proba(X), proba[:, [2, 0, 1]])
    truth = log_loss(y, proba[:, [2, 0, 1]])
    assert truth < 0.8
    assert task_scorer("o", "neg_log_loss")(est, X, {"o": y}) == pytest.approx(-truth)
    assert task_scorer("o", "roc_auc_ovr")(est, X, {"o": y}) > 0.99


def test_for_task_errors(fitted):
    est, X, Y = fitted
    with pytest.raises(ValueError, match=r"'nope' is not a task of the model; its tasks are"):
        for_task(est, "nope")
    with pytest.raises(NotFittedError):
        for_task(_estimator(), "label")
    with pytest.raises(TypeError, match="Expected a MultiTaskEstimator or a Pipeline"):
        for_task(LogisticRegression(), "label")
