"""Numeric columns' statistics from fit: centre and scale (outliers clipped), missing columns.

Weighted by the rows' sample weights, taken on a fixed random sample of rows
and read a few MB at a time, so that a memory-mapped ``X`` is never loaded whole.
"""

import numpy as np

from ._validation import chunk_rows, is_finite

#: Standardised numeric inputs are clipped to ``[-CLIP, CLIP]`` by the network's
#: input layer, and outliers of fit to that many robust standard deviations
#: before the moments are taken.
CLIP = 5.0

#: Non-negative numeric columns more skewed than this (the third standardised
#: moment) enter a network without numeric embedding also as log1p of their
#: values: measured on the data sets of ``benchmarks/`` (see the per-task
#: references page; with an embedding, which shapes each column itself, and in
#: place of the column rather than beside it, logging lost).
SKEWNESS = 1.0

#: Rows (drawn once, with a fixed seed) whose clipped mean and standard deviation
#: give the numeric columns' centre and scale; all rows when X has fewer.
STATISTICS_ROWS = 10_000

#: At most about this many of them give the quartiles that bound the clipping.
QUANTILE_ROWS = 2_000

#: The inter-quartile range of a normal distribution in standard deviations:
#: the IQR / IQR_PER_STD is the robust standard deviation of the clipping bounds.
IQR_PER_STD = 1.3489795


def numeric_statistics(X, numeric, sample_weight, log_skewed=False):
    """Centre, scale, missing and logged columns of the numeric columns.

    With ``log_skewed``, the logged columns (:func:`skewed_columns`) enter
    the network a second time, as ``log1p`` of their values, after all the
    numeric columns; else none is logged. The centre and scale of each
    column, then of each logged column, are :func:`_winsorised_moments`; a
    column holding only 0 and 1 keeps its values (centre 0, scale 1).
    Statistics are weighted by ``sample_weight`` (a weight of k counts as k
    copies of the row) on at most ``STATISTICS_ROWS`` rows, read a few MB at a
    time so that a memory map is never loaded whole; the missing columns are
    found over all rows.

    Returns
    -------
    center, scale : ndarray of float32 of shape (len(numeric) + len(logged),)
    missing, logged : ndarray of int
        Positions among the ``numeric`` columns.
    """
    missing = np.flatnonzero(_columns_with_nan(X, numeric))
    rows = statistics_rows(X.shape[0])
    sample = numeric_sample(X, numeric, rows).T  # one row per column, contiguous
    weights = np.asarray(sample_weight, dtype=np.float64)[rows]
    logged = skewed_columns(sample, weights) if log_skewed else np.zeros(0, dtype=np.intp)
    if len(logged):
        sample = np.concatenate([sample, np.log1p(sample[logged])])
    statistics = np.zeros((2, len(sample)))
    step = max(1, (1 << 15) // len(rows))
    for start in range(0, len(sample), step):
        block = sample[start : start + step]
        statistics[:, start : start + step] = _winsorised_moments(block, weights)
    center, std = statistics
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(std > 0, 1 / std, 0.0)
    scale = np.where(np.isfinite(scale), scale, 0.0)
    center = np.where(np.isfinite(center), center, 0.0)
    # 0/1 columns (flags, one-hot columns made upstream) stay as they are:
    # scaled, a rare flag would become a large input.
    binary = ((sample == 0) | (sample == 1) | np.isnan(sample)).all(axis=1)
    center, scale = np.where(binary, 0.0, center), np.where(binary, 1.0, scale)
    return center.astype(np.float32), scale.astype(np.float32), missing, logged


def skewed_columns(values, weights):
    """Rows of ``values`` (columns of X) to add ``log1p`` of: non-negative and right-skewed.

    Those whose values (NaN and rows of weight 0 left out) are all ``>= 0``,
    take more than two distinct values and have a weighted skewness above
    ``SKEWNESS``: counts, amounts and durations, whose long right tail would
    otherwise leave most rows within a fraction of a standard deviation.
    """
    counted = values if weights.min() > 0 else np.where(weights > 0, values, np.nan)
    with np.errstate(invalid="ignore"):
        # One pass over every column; the rest only for the non-negative ones.
        low = np.fmin.reduce(counted, axis=1)
        candidates = np.flatnonzero(low >= 0)
        counted, low = counted[candidates], low[candidates, None]
        high = np.fmax.reduce(counted, axis=1)[:, None]
        two_valued = ((counted == low) | (counted == high) | np.isnan(counted)).all(axis=1)
    candidates = candidates[~two_valued]
    block = values[candidates]
    mean, std = _weighted_moments(block, weights)
    counted_weights = np.where(np.isnan(block), 0.0, weights)
    centred = np.where(np.isnan(block), 0.0, block - mean[:, None])
    third = (counted_weights * centred**3).sum(axis=1) / counted_weights.sum(axis=1)
    return candidates[third > SKEWNESS * std**3]


def statistics_rows(n_samples):
    """The rows the statistics are taken on: at most ``STATISTICS_ROWS``, a fixed draw."""
    if n_samples <= STATISTICS_ROWS:
        return np.arange(n_samples)
    return np.sort(np.random.default_rng(0).choice(n_samples, STATISTICS_ROWS, replace=False))


def numeric_sample(X, numeric, rows):
    """The ``numeric`` columns of X at ``rows``, ``(len(rows), len(numeric))`` float32.

    Read a few MB at a time, so that a memory map is never loaded whole. A
    numeric embedding learns its bins from the rows of :func:`statistics_rows`.
    Column-major, so that each column's values are contiguous (its transpose
    is a C-contiguous view, not a copy).
    """
    sample = np.empty((len(rows), len(numeric)), dtype=np.float32, order="F")
    every_column = len(numeric) == X.shape[1]
    step = max(1, chunk_rows(X) // 4)
    for start in range(0, len(rows), step):
        chunk = np.asarray(X[rows[start : start + step]])
        sample[start : start + step] = chunk if every_column else chunk[:, numeric]
    return sample


def _columns_with_nan(X, numeric):
    """Which of the ``numeric`` columns of X hold a NaN, reading X a few MB at a time."""
    found = np.zeros(len(numeric), dtype=bool)
    every_column = len(numeric) == X.shape[1]
    step = chunk_rows(X)
    for start in range(0, X.shape[0], step):
        chunk = X[start : start + step]
        chunk = chunk if every_column else chunk[:, numeric]
        # Most chunks hold no NaN: a finite sum (NaN sticks) says so in one
        # read, several times faster than the per-column pass.
        if not is_finite(chunk):
            found |= np.isnan(chunk).any(axis=0)
    return found


def _winsorised_moments(values, weights):
    """Per row of ``values`` (a column of X): mean and standard deviation, outliers clipped.

    Values beyond ``CLIP`` robust standard deviations of the median (the
    inter-quartile range / 1.349, or the standard deviation where the
    quartiles coincide) are clipped before the moments are taken, so that an
    outlier in fit cannot squash the other values. Weighted like
    :func:`_weighted_quartiles`; a row without any value gets 0 and 0.
    """
    # The quartiles bounding the clipping need less precision than the
    # moments: fewer rows (evenly spread over the random sample).
    every = max(1, values.shape[1] // QUANTILE_ROWS)
    q1, median, q3 = _weighted_quartiles(values[:, ::every], weights[::every])
    spread = (q3 - q1) / IQR_PER_STD
    tied = ~(q3 > q1)
    if tied.any():
        spread[tied] = _weighted_moments(values[tied], weights)[1]
    with np.errstate(invalid="ignore"):
        low, high = median - CLIP * spread, median + CLIP * spread
        return _weighted_moments(np.clip(values, low[:, None], high[:, None]), weights)


def _weighted_moments(values, weights):
    """Per row of ``values``: weighted mean and standard deviation, NaN and zero weights left out.

    A row without any value gets 0 and 0.
    """
    if values.shape[1] and weights.min() == weights.max() > 0 and not np.isnan(values).any():
        # Equal weights and every value present: the plain moments, much faster.
        return values.mean(axis=1, dtype=np.float64), values.std(axis=1, dtype=np.float64)
    counted = (weights > 0) & ~np.isnan(values)
    counted_weights = np.where(counted, weights, 0.0)
    total = counted_weights.sum(axis=1)
    present = np.where(counted, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (counted_weights * present).sum(axis=1) / total
        variance = (counted_weights * (present - mean[:, None]) ** 2).sum(axis=1) / total
    empty = total <= 0
    return np.where(empty, 0.0, mean), np.where(empty, 0.0, np.sqrt(np.maximum(variance, 0.0)))


def _weighted_quartiles(values, weights):
    """Per row of ``values`` (a column of X): its weighted quartiles.

    Those of the inverted CDF, so that a weight of k gives what k copies of a
    value give. NaN values and zero weights are left out; a row without any
    value gets NaN.
    """
    n_columns, n = values.shape
    if not values.size:
        return [np.full(n_columns, np.nan)] * 3
    if weights.min() == weights.max() > 0 and not np.isnan(values).any():
        # Equal weights: the same quartiles (the ceil(q n)-th smallest value) by
        # partial sorting, much faster.
        kth = [int(np.ceil(q * n)) - 1 for q in (0.25, 0.5, 0.75)]
        return np.partition(values, kth, axis=1)[:, kth].T.astype(np.float64)
    counted = (weights > 0) & ~np.isnan(values)
    order = np.argsort(np.where(counted, values, np.inf), axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    cumulative = np.cumsum(np.take_along_axis(np.where(counted, weights, 0.0), order, 1), axis=1)
    total = cumulative[:, -1]
    rows = np.arange(n_columns)
    return [
        np.where(
            total > 0,
            ordered[rows, np.minimum((cumulative < q * total[:, None]).sum(axis=1), n - 1)],
            np.nan,
        )
        for q in (0.25, 0.5, 0.75)
    ]
