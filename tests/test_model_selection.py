"""cross_val_predict: out-of-fold predictions of every task."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import make_column_transformer
from sklearn.model_selection import GroupKFold, KFold, ShuffleSplit, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl.model_selection import cross_val_predict

CV = KFold(3, shuffle=True, random_state=0)


def _estimator(**params):
    # One network a fit, not the five bags of the default on so few rows: bagging
    # has its own tests (tests/training/test_bags.py).
    base = dict(hidden_layer_sizes=(8,), max_epochs=3, batch_size=32, n_bags=1, random_state=0)
    return MultiTaskEstimator(**{**base, **params})


@pytest.fixture
def data(rng):
    n = 90
    X = rng.normal(size=(n, 3))
    Y = TargetDict(
        label=np.where(X[:, 0] > 0, "yes", "no").astype(object),
        value=X[:, 1] * 2.0 + 5.0,
        grade=np.digitize(X[:, 2], [-0.5, 0.5]),
    )
    return X, Y


def _by_hand(estimator, X, Y, cv, method="predict", groups=None):
    """Out-of-fold predictions of clones fitted fold by fold, task -> array."""
    out = {}
    for train, test in cv.split(X, None, groups):
        model = clone(estimator).fit(X[train], Y.take(train))
        fold = getattr(model, method)(X[test])
        for task, values in fold.items():
            out.setdefault(task, [None] * len(X))
            for row, value in zip(test, values):
                out[task][row] = value
    return {task: np.array(values) for task, values in out.items()}


def test_predictions_are_those_of_the_model_fitted_without_the_row(data):
    X, Y = data
    predicted = cross_val_predict(_estimator(), X, Y, cv=CV)
    expected = _by_hand(_estimator(), X, Y, CV)
    assert isinstance(predicted, TargetDict) and list(predicted) == ["label", "value", "grade"]
    for task in Y:
        np.testing.assert_array_equal(predicted[task], expected[task])


def test_probabilities_are_those_of_the_model_fitted_without_the_row(data):
    X, Y = data
    proba = cross_val_predict(_estimator(), X, Y, cv=CV, method="predict_proba")
    expected = _by_hand(_estimator(), X, Y, CV, method="predict_proba")
    assert sorted(proba) == ["grade", "label"]  # regression tasks have none
    assert proba["label"].shape == (90, 2) and proba["grade"].shape == (90, 3)
    for task in proba:
        np.testing.assert_allclose(proba[task], expected[task])
        np.testing.assert_allclose(proba[task].sum(axis=1), 1.0)


def test_the_default_cv_is_five_unshuffled_folds(data):
    X, Y = data
    predicted = cross_val_predict(_estimator(), X, Y)
    expected = _by_hand(_estimator(), X, Y, KFold(5))
    np.testing.assert_array_equal(predicted["value"], expected["value"])


def test_a_learned_task_is_predicted_out_of_fold_beyond_chance(data):
    X, Y = data
    est = _estimator(max_epochs=40, lr=1e-2)
    predicted = cross_val_predict(est, X, Y, cv=CV)
    assert (predicted["label"] == Y["label"]).mean() > 0.8
    assert np.corrcoef(predicted["value"], Y["value"])[0, 1] > 0.8


@pytest.mark.parametrize("container", ["dict", "targetdict", "frame", "array2d", "array1d"])
def test_predict_answers_in_the_container_fit_was_given(data, container):
    X, Y = data
    regression = {"value": Y["value"], "other": Y["value"] * -1.0}
    if container == "dict":
        targets = dict(regression)
    elif container == "targetdict":
        targets = TargetDict(regression)
    elif container == "frame":
        targets = pd.DataFrame(regression, index=np.arange(100, 190))
    elif container == "array2d":
        targets = np.column_stack(list(regression.values()))
    else:
        targets = Y["value"]
    X_in = pd.DataFrame(X, index=np.arange(100, 190)) if container == "frame" else X
    predicted = cross_val_predict(_estimator(), X_in, targets, cv=CV)
    direct = _estimator().fit(X_in, targets).predict(X_in)
    assert type(predicted) is type(direct)
    assert np.shape(predicted) == np.shape(direct)
    if container == "frame":
        assert list(predicted.columns) == ["value", "other"]
        assert list(predicted.index) == list(range(100, 190))
    if container in ("dict", "targetdict"):
        assert list(predicted) == ["value", "other"]


def test_predict_proba_of_one_task_is_an_array_as_predict_proba_gives(data):
    X, Y = data
    proba = cross_val_predict(_estimator(), X, Y["label"], cv=CV, method="predict_proba")
    assert isinstance(proba, np.ndarray) and proba.shape == (90, 2)


def test_rows_with_missing_labels_are_predicted(data):
    X, Y = data
    Y = TargetDict(Y)
    Y["value"] = Y["value"].copy()
    Y["value"][::3] = np.nan
    Y["label"] = Y["label"].copy()
    Y["label"][1::3] = None
    predicted = cross_val_predict(_estimator(), X, Y, cv=CV)
    proba = cross_val_predict(_estimator(), X, Y, cv=CV, method="predict_proba")
    assert np.isfinite(predicted["value"]).all()
    assert set(predicted["label"]) <= {"yes", "no"} and len(predicted["label"]) == 90
    assert np.isfinite(proba["label"]).all()
    expected = _by_hand(_estimator(), X, Y, CV)
    np.testing.assert_array_equal(predicted["value"], expected["value"])


def test_group_splitters_keep_groups_out_of_their_training_folds(data):
    X, Y = data
    groups = np.repeat(np.arange(9), 10)
    predicted = cross_val_predict(_estimator(), X, Y, cv=GroupKFold(3), groups=groups)
    expected = _by_hand(_estimator(), X, Y, GroupKFold(3), groups=groups)
    np.testing.assert_array_equal(predicted["value"], expected["value"])


def test_a_stratified_splitter_through_its_splits(data):
    X, Y = data
    splits = list(StratifiedKFold(3).split(X, Y["label"]))
    predicted = cross_val_predict(_estimator(), X, Y, cv=splits)
    assert len(predicted["label"]) == 90


def test_an_int_cv_stratifies_a_single_classification_task(rng):
    X = rng.normal(size=(60, 2))
    # Sorted labels: unstratified 3-fold training sets would miss a class.
    y = np.array(["no"] * 40 + ["yes"] * 20)
    predicted = cross_val_predict(_estimator(), X, y, cv=3)
    expected = np.empty(60, dtype=object)
    for train, test in StratifiedKFold(3).split(X, y):
        expected[test] = _estimator().fit(X[train], y[train]).predict(X[test])
    np.testing.assert_array_equal(predicted, expected)


def test_parallel_folds_give_the_same_predictions(data):
    X, Y = data
    one = cross_val_predict(_estimator(), X, Y, cv=CV, method="predict_proba")
    two = cross_val_predict(_estimator(), X, Y, cv=CV, method="predict_proba", n_jobs=2)
    for task in one:
        np.testing.assert_allclose(one[task], two[task], rtol=1e-6)


def test_a_class_missing_from_a_training_fold_gets_a_zero_column(rng):
    X = rng.normal(size=(60, 2))
    # Class "c" only in the last 10 rows: the fold that tests them never trains on it.
    Y = TargetDict(grade=np.array(["a", "b"] * 25 + ["c"] * 10, dtype=object))
    with pytest.warns(RuntimeWarning, match="have 2 of its 3 classes"):
        proba = cross_val_predict(_estimator(), X, Y, cv=KFold(3), method="predict_proba")
    assert proba["grade"].shape == (60, 3)
    np.testing.assert_array_equal(proba["grade"][40:, 2], 0.0)
    np.testing.assert_allclose(proba["grade"].sum(axis=1), 1.0)
    assert (proba["grade"][:40, 2] > 0).all()


def test_fit_params_are_restricted_to_the_training_rows(data, rng):
    X, Y = data
    weights = {"value": rng.uniform(0.1, 3.0, size=90)}
    predicted = cross_val_predict(_estimator(), X, Y, cv=CV, params={"sample_weight": weights})
    expected = {}
    for train, test in CV.split(X):
        model = _estimator().fit(
            X[train], Y.take(train), sample_weight={"value": weights["value"][train]}
        )
        expected.update(zip(test, model.predict(X[test])["value"]))
    np.testing.assert_array_equal(predicted["value"], [expected[i] for i in range(90)])
    unweighted = cross_val_predict(_estimator(), X, Y, cv=CV)
    assert not np.allclose(predicted["value"], unweighted["value"])


def test_a_pipeline_on_a_dataframe(rng):
    n = 90
    X = pd.DataFrame({"num": rng.normal(size=n), "cat": rng.choice(list("ab"), size=n)})
    Y = pd.DataFrame({"label": np.where(X["num"] > 0, "yes", "no"), "value": X["num"] * 2})
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["cat"]), (StandardScaler(), ["num"])),
        _estimator(),
    )
    predicted = cross_val_predict(model, X, Y, cv=CV)
    assert isinstance(predicted, pd.DataFrame) and predicted.shape == (90, 2)
    proba = cross_val_predict(model, X, Y, cv=CV, method="predict_proba")
    assert proba["label"].shape == (90, 2)


def test_cv_that_is_not_a_partition_is_refused(data):
    X, Y = data
    with pytest.raises(ValueError, match="exactly one test fold"):
        cross_val_predict(_estimator(), X, Y, cv=ShuffleSplit(3, test_size=0.2, random_state=0))


def test_predict_proba_without_a_classification_task_is_refused_before_fitting(data):
    X, Y = data
    with pytest.raises(ValueError, match="needs a classification task, but every task"):
        cross_val_predict(
            _estimator(max_epochs=10**6), X, {"value": Y["value"]}, method="predict_proba"
        )


def test_bad_arguments(data):
    X, Y = data
    with pytest.raises(ValueError, match="method"):
        cross_val_predict(_estimator(), X, Y, method="decision_function")
    with pytest.raises(TypeError, match="cross_val_predict takes a MultiTaskEstimator"):
        cross_val_predict(StandardScaler(), X, Y)
    with pytest.raises(ValueError, match="X has 90 rows but the targets have 89"):
        cross_val_predict(_estimator(), X, Y.take(np.arange(89)))
