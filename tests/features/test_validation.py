"""Checking X: the one-pass check of finite float arrays answers as validate_data does."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.validation import validate_data

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl._features import _validation, validate_features


@pytest.fixture(scope="module")
def fitted():
    X = np.random.RandomState(0).normal(size=(80, 4))
    est = MultiTaskEstimator(hidden_layer_sizes=(4,), max_epochs=1, random_state=0)
    return est.fit(X, {"y": X[:, 0]})


def _general_path(estimator, X):
    return validate_data(estimator, X, reset=False, dtype=np.float32, ensure_all_finite="allow-nan")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [1, 7, 300])
def test_finite_arrays_come_back_as_validate_data_gives_them(fitted, dtype, rows):
    X = np.random.RandomState(1).normal(size=(rows, 4)).astype(dtype)
    assert _validation._finite_float32(fitted, X) is not None  # the one-pass path
    fast = validate_features(fitted, X, reset=False)
    general = _general_path(fitted, X)
    assert fast.dtype == general.dtype == np.float32
    np.testing.assert_array_equal(fast, general)
    if dtype == np.float32:
        assert fast is X  # nothing to convert, nothing copied


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[1.0, np.inf, 0.0, 0.0]]), "Input X contains infinity"),
        (np.array([[1.0, 1e39, 0.0, 0.0]]), "too large for dtype\\('float32'\\)"),
        (np.zeros((2, 3)), "X has 3 features, but MultiTaskEstimator is expecting 4"),
    ],
    ids=["inf", "beyond float32", "width"],
)
def test_what_the_one_pass_check_refuses_gets_validate_datas_error(fitted, X, match):
    assert _validation._finite_float32(fitted, X) is None
    with pytest.raises(ValueError, match=match):
        validate_features(fitted, X, reset=False)
    with pytest.raises(ValueError, match=match):
        _general_path(fitted, X)


def _layouts(X):
    """``X`` as C-ordered, Fortran-ordered, strided, reversed and read-only arrays."""
    read_only = X.copy()
    read_only.flags.writeable = False
    wide = np.repeat(X, 2, axis=1)
    return {
        "C": X,
        "F": np.asfortranarray(X),
        "strided": wide[:, ::2],
        "reversed": X[::-1],
        "read-only": read_only,
    }


@pytest.mark.parametrize("layout", ["C", "F", "strided", "reversed", "read-only"])
@pytest.mark.parametrize(
    "value, finite",
    [(0.5, True), (np.nan, False), (np.inf, False), (-np.inf, False), (3e38, False)],
    ids=["finite", "nan", "inf", "-inf", "sum overflows"],
)
def test_the_one_pass_check_reads_every_layout_alike(fitted, layout, value, finite):
    # torch sums large C-ordered writeable arrays in place, NumPy the others: the same
    # answer, no warning, no copy of X kept. A sum that overflows takes the general path.
    for rows in [40, _validation.TORCH_SUM_SIZE // 4]:  # NumPy's sum, then torch's for C
        X = np.random.RandomState(3).normal(size=(rows, 4)).astype(np.float32)
        X[7, 2] = value
        if value == 3e38:
            X[8, 2] = value
        X = _layouts(X)[layout]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            checked = _validation._finite_float32(fitted, X)
        assert (checked is not None) == finite
        if finite:
            np.testing.assert_array_equal(checked, X)


def test_missing_values_take_the_general_path_and_are_kept(fitted):
    X = np.array([[np.nan, 1.0, 2.0, 3.0]])
    assert _validation._finite_float32(fitted, X) is None
    assert np.isnan(validate_features(fitted, X, reset=False)[0, 0])


def test_an_array_for_a_model_fitted_on_names_still_warns():
    frame = pd.DataFrame(np.random.RandomState(0).normal(size=(80, 2)), columns=["a", "b"])
    est = MultiTaskEstimator(hidden_layer_sizes=(4,), max_epochs=1, random_state=0)
    est.fit(frame, {"y": frame["a"]})
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        est.predict(frame.to_numpy())


def test_one_row_predictions_equal_those_of_a_batch(fitted):
    X = np.random.RandomState(2).normal(size=(30, 4))
    batch = fitted.predict(X)["y"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = [fitted.predict(X[i : i + 1])["y"][0] for i in range(len(X))]
    np.testing.assert_allclose(rows, batch, rtol=1e-6, atol=1e-7)
