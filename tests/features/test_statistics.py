"""Numeric columns' centre and scale: outliers clipped, tied quartiles, weights as copies, logs."""

import numpy as np
import pytest

from sklearn_mtl._features._statistics import CLIP, IQR_PER_STD, numeric_statistics


def statistics(X, sample_weight=None, log_skewed=False):
    weights = np.ones(len(X)) if sample_weight is None else sample_weight
    return numeric_statistics(X, np.arange(X.shape[1]), weights, log_skewed)


def clipped_moments(column, spread):
    """The definition: clip at CLIP spreads of the median, then mean and 1 / std."""
    median = np.quantile(column, 0.5, method="inverted_cdf")
    clipped = np.clip(column, median - CLIP * spread, median + CLIP * spread)
    return clipped.mean(), 1 / clipped.std()


def test_an_outlier_is_clipped_at_robust_spreads_of_the_median():
    rng = np.random.RandomState(0)
    column = rng.normal(3.0, 2.0, 1001)
    column[0] = 1e6
    center, scale, missing, _ = statistics(column[:, None])
    q1, q3 = np.quantile(column, [0.25, 0.75], method="inverted_cdf")
    expected = clipped_moments(column, (q3 - q1) / IQR_PER_STD)
    np.testing.assert_allclose([center[0], scale[0]], expected, rtol=1e-5)
    assert abs(center[0] - 3.0) < 0.2 and abs(1 / scale[0] - 2.0) < 0.2
    assert len(missing) == 0


def test_tied_quartiles_fall_back_to_the_standard_deviation():
    # 90 % zeros: the quartiles coincide, so the spread is the column's std.
    rng = np.random.RandomState(1)
    sparse = np.where(rng.rand(2000) < 0.9, 0.0, rng.exponential(10.0, 2000))
    sparse[0], sparse[1] = 1e4, -1.0  # a negative value: not logged
    varied = rng.normal(size=2000)
    center, scale, *_ = statistics(np.column_stack([sparse, varied]).astype(np.float32))
    expected = clipped_moments(sparse.astype(np.float32).astype(np.float64), sparse.std())
    np.testing.assert_allclose([center[0], scale[0]], expected, rtol=1e-4)
    assert np.isfinite(scale).all() and (scale > 0).all()


def test_a_weight_counts_as_copies_and_missing_values_are_left_out():
    rng = np.random.RandomState(2)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    X[::10, 2] = np.nan
    weights = rng.randint(0, 4, 300).astype(float)
    copies = np.repeat(X, weights.astype(int), axis=0)
    weighted, repeated = statistics(X, weights), statistics(copies)
    np.testing.assert_allclose(weighted[0], repeated[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(weighted[1], repeated[1], rtol=1e-5)
    assert list(weighted[2]) == [2]


def test_zero_one_columns_keep_their_values():
    rng = np.random.RandomState(3)
    X = np.column_stack([rng.rand(500) < 0.05, rng.normal(5, 3, 500)]).astype(np.float32)
    center, scale, *_ = statistics(X)
    assert (center[0], scale[0]) == (0.0, 1.0)
    assert abs(center[1] - 5) < 0.5


def test_equal_weights_give_what_the_weighted_path_gives():
    # Equal weights without NaN take a shortcut; a zero-weight row sends the
    # same rows down the general, weighted path.
    rng = np.random.RandomState(4)
    X = np.column_stack([rng.lognormal(size=400), rng.normal(size=400)]).astype(np.float32)
    X[0, 0] = 1e5
    with_junk = np.vstack([X, [[-1e9, 1e9]]]).astype(np.float32)
    shortcut = statistics(X, np.full(400, 3.0))
    general = statistics(with_junk, np.r_[np.full(400, 3.0), 0.0])
    np.testing.assert_allclose(shortcut[0], general[0], rtol=1e-6)
    np.testing.assert_allclose(shortcut[1], general[1], rtol=1e-6)


def test_skewed_non_negative_columns_get_a_log_scaled_as_logs():
    rng = np.random.RandomState(5)
    counts = rng.poisson(rng.exponential(20.0, 1000)).astype(float)  # skewed, >= 0
    symmetric = rng.uniform(0, 10, 1000)
    signed = counts - 1  # the same tail, one value below 0
    flag = np.where(rng.rand(1000) < 0.05, 7.0, 0.0)  # two values: no tail to compress
    X = np.column_stack([counts, symmetric, signed, flag]).astype(np.float32)
    center, scale, _, logged = statistics(X, log_skewed=True)
    assert list(logged) == [0]
    assert list(statistics(X)[3]) == []  # for a network with a numeric embedding
    # Every column keeps its own statistics; the log's come after them.
    raw = statistics(X)
    np.testing.assert_array_equal(center[:4], raw[0])
    np.testing.assert_array_equal(scale[:4], raw[1])
    logs = np.log1p(X[:, 0].astype(np.float64))
    expected = statistics(logs[:, None].astype(np.float32))
    assert len(center) == len(scale) == 5
    np.testing.assert_allclose([center[4], scale[4]], [expected[0][0], expected[1][0]], rtol=1e-5)
    # A negative value in a row of weight 0 is not there, as for the other statistics.
    one_negative = X[:, [0]].copy()
    one_negative[0] = -5.0
    assert list(statistics(one_negative, log_skewed=True)[3]) == []
    assert list(statistics(one_negative, np.r_[0.0, np.ones(999)], log_skewed=True)[3]) == [0]


@pytest.mark.parametrize("layout", ["array", "some columns", "memory map"])
def test_columns_with_a_nan_are_found_in_any_chunk(layout, tmp_path):
    # Large enough for torch's sum and several chunks; a finite sum shows a
    # chunk without NaN, a sum that overflows must not hide one.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200_000, 6)).astype(np.float32)
    X[150_000, 4] = np.nan
    X[:2, 2] = 3e38  # finite values whose sum overflows
    X[-1, 0] = np.nan
    numeric = np.arange(6) if layout != "some columns" else np.array([0, 2, 3])
    if layout == "memory map":
        np.save(tmp_path / "X.npy", X)
        X = np.load(tmp_path / "X.npy", mmap_mode="r")
    missing = numeric_statistics(X, numeric, np.ones(len(X)))[2]
    expected = np.flatnonzero(np.isnan(np.asarray(X)[:, numeric]).any(axis=0))
    np.testing.assert_array_equal(missing, expected)
    assert len(expected)
