"""Raw ``X`` to one float32 matrix: which columns are categorical, and their slots.

A numeric column keeps its values (missing as NaN; the network's input layer
scales them with :class:`FeatureLayout`'s statistics). A categorical column
becomes slot numbers stored exactly as floats: ``1..k`` for categories seen at
least ``min_frequency`` times in fit, one slot shared by rarer and unseen
categories, one for a missing value; ``0`` for a value of a kind fit never saw.
"""

import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils.validation import validate_data

from ._columns import category_strings, numeric_values
from ._statistics import numeric_statistics
from ._target_statistics import RARE_ROWS_SHARE, TargetStatistics, rare_rows_share
from ._validation import FEW_ROWS, check_column_order, has_columns_of_fit, validate_features

#: Slot numbers are stored in float32, exact up to this many slots.
MAX_SLOTS = 2**24

_UNKNOWN, _MISSING = -1, -2


@dataclass(frozen=True)
class FeatureLayout:
    """What the network's input layer needs to know about the encoded columns.

    Attributes
    ----------
    n_features : int
        Columns of the encoded matrix: those of ``X``, then any target statistics.
    numeric : ndarray of int
        Positions of the numeric columns.
    center, scale : ndarray of float32
        Per numeric column: ``(x - center) * scale`` is the standardised
        value (the mean and 1 / standard deviation of fit, outliers clipped
        first: see :func:`~sklearn_mtl._features._statistics.numeric_statistics`; 0 for
        a constant column;
        centre 0 and scale 1 for a column of 0s and 1s).
    missing : ndarray of int
        Positions, among the numeric columns, of those with missing values in
        fit: each gets a 0/1 missing-indicator input.
    logged : ndarray of int
        Positions, among the numeric columns, of the non-negative, skewed
        ones that enter a second time as ``log1p`` of their values (negative
        values as 0; only without a numeric embedding); ``center`` and
        ``scale`` end with theirs.
    categorical : ndarray of int
        Positions of the categorical columns.
    n_slots : tuple of int
        Per categorical column, its number of slots (codes ``1..n``).
    """

    n_features: int
    numeric: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    missing: np.ndarray
    categorical: np.ndarray
    n_slots: tuple
    logged: np.ndarray


def is_categorical_dtype(dtype):
    """Whether ``categorical_features="from_dtype"`` makes a column of ``dtype`` categorical."""
    return isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype)) or dtype == np.dtype(object)


def _is_numeric_dtype(dtype):
    return pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    )


def categorical_mask(categorical_features, X):
    """Boolean mask of the categorical columns of ``X``, checked against ``X``.

    ``categorical_features`` is ``"from_dtype"`` (a DataFrame's ``category``,
    ``object`` and ``string`` columns; none for an array), None (none), or an
    array-like of column names, of column indices or a boolean mask. Returns
    None when no column can be categorical.
    """
    frame = isinstance(X, pd.DataFrame)
    if frame:
        _check_column_dtypes(X, categorical_features)
    if categorical_features is None or (isinstance(categorical_features, str) and not frame):
        return None
    if isinstance(categorical_features, str):  # "from_dtype", the only string allowed
        return np.array([is_categorical_dtype(dtype) for dtype in X.dtypes], dtype=bool)
    if not frame and np.ndim(X) != 2:
        return None  # validate_data says what is wrong with X
    n_features = np.shape(X)[1]
    spec = np.asarray(categorical_features)
    if spec.size == 0:
        return np.zeros(n_features, dtype=bool)
    if spec.ndim != 1:
        raise ValueError(
            "categorical_features must be 'from_dtype', None or a 1-D array-like of column "
            f"names, indices or booleans; got an array of shape {spec.shape}."
        )
    if spec.dtype.kind == "b":
        if len(spec) != n_features:
            raise ValueError(
                f"categorical_features is a boolean mask of length {len(spec)}, but X has "
                f"{n_features} columns; give one boolean per column."
            )
        return spec.copy()
    if spec.dtype.kind in "iu":
        if spec.min() < 0 or spec.max() >= n_features:
            raise ValueError(
                f"categorical_features holds column indices {sorted(spec.tolist())}, but X has "
                f"{n_features} columns (indices 0 to {n_features - 1})."
            )
        mask = np.zeros(n_features, dtype=bool)
        mask[spec] = True
        return mask
    if spec.dtype.kind in "UO" and all(isinstance(name, str) for name in spec):
        if not frame:
            raise ValueError(
                "categorical_features names columns, but X has no column names; pass a pandas "
                "DataFrame, or give column indices or a boolean mask."
            )
        columns = [str(c) for c in X.columns]
        unknown = [str(name) for name in spec if name not in columns]
        if unknown:
            raise ValueError(
                f"categorical_features names columns that X does not have: {unknown}; X's "
                f"columns are {columns}."
            )
        return np.isin(columns, spec)
    raise ValueError(
        "categorical_features must be 'from_dtype', None, or an array-like of column names "
        f"(str), column indices (int) or booleans; got {categorical_features!r}."
    )


def _check_column_dtypes(X, categorical_features):
    """A clear error for a DataFrame column that is neither numeric nor categorical."""
    declared = categorical_features is not None and not isinstance(categorical_features, str)
    for name, dtype in X.dtypes.items():
        if not (_is_numeric_dtype(dtype) or is_categorical_dtype(dtype) or declared):
            raise ValueError(
                f"Column {name!r} of X has dtype {dtype}, which is neither numeric nor "
                "categorical; convert it to numbers (e.g. a timestamp to seconds) or to "
                "strings, or list it in categorical_features."
            )


class FeatureEncoder:
    """The encoding of ``X`` learned in fit (see the module's docstring).

    Parameters
    ----------
    categorical_features : "from_dtype", None or array-like
        Which columns are categorical (see :func:`categorical_mask`).
    min_frequency : int or float
        Categories seen fewer times than this in fit (a fraction of the rows
        when a float below 1) share the rare-category slot.
    target_encoding : {"auto", "all"} or None, default=None
        Which categorical columns also get each task's target statistics
        (:class:`TargetStatistics`), as numeric columns after those of ``X``:
        those whose rows are mostly in rare categories
        (:func:`~sklearn_mtl._features._target_statistics.rare_rows_share`),
        every one, or none.

    Attributes
    ----------
    is_categorical_ : ndarray of bool
        Set by :meth:`validate` with ``reset=True``.
    layout_ : FeatureLayout
        Set by :meth:`fit_transform`.
    """

    def __init__(self, categorical_features="from_dtype", min_frequency=1, target_encoding=None):
        self.categorical_features = categorical_features
        self.min_frequency = min_frequency
        self.target_encoding = target_encoding

    @property
    def has_categorical(self):
        return bool(self.is_categorical_.any())

    @property
    def categorical_mask(self):
        """``is_categorical_``, or None when no column is categorical (HGB's convention)."""
        return self.is_categorical_ if self.has_categorical else None

    def validate(self, estimator, X, *, reset):
        """``X`` checked as ``validate_data`` does; ``reset=True`` in fit.

        Returns a float32 array or memory map when no column is categorical
        (NaN allowed, infinity not), else a DataFrame (an array is wrapped in one,
        its columns then named by position). Sets or checks ``n_features_in_``
        and ``feature_names_in_`` of ``estimator``.
        """
        frame_at_predict = isinstance(X, pd.DataFrame) and not reset
        # The names of fit in their order leave the order check and validate_data
        # nothing to find.
        known = frame_at_predict and has_columns_of_fit(estimator, X)
        if frame_at_predict and not known:
            check_column_order(estimator, X)
        if reset:
            self.is_categorical_ = categorical_mask(self.categorical_features, X)
        if self.is_categorical_ is None or not self.has_categorical:
            X = validate_features(estimator, X, reset=reset)
            if reset:
                self.is_categorical_ = np.zeros(X.shape[1], dtype=bool)
            return X
        if not known:
            validate_data(estimator, X, skip_check_array=True, reset=reset)
        if not isinstance(X, pd.DataFrame):
            values = np.asarray(X, dtype=object)
            if values.ndim != 2:
                raise ValueError(
                    f"Expected a 2-D X of shape (n_samples, n_features), got shape {values.shape}."
                )
            X = pd.DataFrame(values)
        if len(X) == 0:
            raise ValueError("X has 0 rows; at least one is required.")
        return X

    def fit_transform(self, X, sample_weight, targets=None, random_state=0, embedding=None):
        """Learn the encoding from validated ``X``; return the encoded training matrix.

        ``sample_weight`` is None or ``(n_samples, n_tasks)``; the numeric
        statistics weigh each row by its mean weight over the tasks.
        ``targets`` (the fit's :class:`EncodedTargets`) and ``random_state``
        (an int) give the target statistics and their folds. Without a
        numeric ``embedding`` skewed columns get a log input (``layout_.logged``).
        """
        positions = np.arange(X.shape[1])
        numeric, categorical = positions[~self.is_categorical_], positions[self.is_categorical_]
        self._lookups = [self._fit_column(X.iloc[:, j]) for j in categorical]
        self._statistics = None
        encoded = X
        if self.has_categorical:
            encoded, strings = self._encode(X)
            columns = self._statistics_columns(strings)
            if columns and targets is not None:
                self._statistics = TargetStatistics(columns, random_state)
                statistics = self._statistics.fit_transform(strings, targets)
                numeric = np.concatenate(
                    [numeric, np.arange(X.shape[1], X.shape[1] + statistics.shape[1])]
                )
                encoded = np.hstack([encoded, statistics])
        n_features = encoded.shape[1]
        if sample_weight is None:
            row_weights = np.ones(X.shape[0])
        else:
            row_weights = np.asarray(sample_weight, dtype=np.float64).mean(axis=1)
        center, scale, missing, logged = numeric_statistics(
            encoded, numeric, row_weights, log_skewed=embedding is None
        )
        self.layout_ = FeatureLayout(
            n_features=n_features,
            numeric=numeric,
            center=center,
            scale=scale,
            missing=missing,
            categorical=categorical,
            n_slots=tuple(lookup.n_slots for lookup in self._lookups),
            logged=logged,
        )
        return encoded

    def _fit_column(self, column):
        """The :class:`CategoryLookup` of one categorical column.

        ``OrdinalEncoder`` decides which categories are rare (``min_frequency``);
        its codes + 2 (missing -2, unknown -1, then each category's code, rare
        ones sharing one) index a table of slot numbers.
        """
        values = category_strings(column)
        min_frequency = self.min_frequency
        if isinstance(min_frequency, numbers.Integral) and min_frequency <= 1:
            min_frequency = None
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=_UNKNOWN,
            encoded_missing_value=_MISSING,
            min_frequency=min_frequency,
        ).fit(values)
        seen = np.array([c for c in encoder.categories_[0] if not pd.isna(c)], dtype=object)
        codes = encoder.transform(seen.reshape(-1, 1)).ravel() if len(seen) else seen
        distinct = np.unique(codes).astype(int)
        table = np.zeros(int(distinct.max(initial=0)) + 3, dtype=np.int64)
        table[distinct + 2] = np.arange(1, len(distinct) + 1)
        n_slots = len(distinct)
        infrequent = encoder.infrequent_categories_[0] if min_frequency is not None else None
        if infrequent is not None and len(infrequent):
            table[_UNKNOWN + 2] = table[int(encoder.transform([[infrequent[0]]])[0, 0]) + 2]
        if pd.isna(values).any():
            n_slots += 1
            table[_MISSING + 2] = n_slots
        if n_slots >= MAX_SLOTS:
            raise ValueError(
                f"Column {column.name!r} has {n_slots} categories; at most {MAX_SLOTS - 1} "
                "are supported. Raise min_frequency to group the rare ones."
            )
        seen_slots = table[codes.astype(np.int64) + 2] if len(seen) else np.zeros(0, np.int64)
        return CategoryLookup(
            pd.Index(seen),
            seen_slots,
            int(table[_UNKNOWN + 2]),
            int(table[_MISSING + 2]),
            n_slots,
            dict(zip(seen.tolist(), seen_slots.tolist())),
        )

    def _statistics_columns(self, strings):
        """The categorical columns (positions among them) that get target statistics.

        ``strings`` are each categorical column's category texts in fit.
        """
        if self.target_encoding is None:
            return []
        return [
            i
            for i, values in enumerate(strings)
            if self.target_encoding == "all" or rare_rows_share(values) >= RARE_ROWS_SHARE
        ]

    def _encode(self, X):
        """The columns of ``X`` encoded, and each categorical column's category strings."""
        encoded = np.empty(X.shape, dtype=np.float32)
        lookups, strings = iter(self._lookups), []
        for j, (_, column) in enumerate(X.items()):
            if self.is_categorical_[j]:
                strings.append(category_strings(column).ravel())
                encoded[:, j] = next(lookups).slots_of(strings[-1])
            else:
                encoded[:, j] = numeric_values(column)
        return encoded, strings

    def encode(self, X):
        """The encoded float32 matrix of a validated DataFrame (all of it)."""
        encoded, strings = self._encode(X)
        if self._statistics is None:
            return encoded
        return np.hstack([encoded, self._statistics.transform(strings)])

    def statistic_lookups(self):
        """The target statistics' input columns, in order: a list of ``StatisticLookup``."""
        return [] if self._statistics is None else self._statistics.lookups_

    def category_slots(self):
        """Per categorical column, in column order, the slot of each category of fit.

        Returns a list of ``(categories, slots, unknown, missing)``: the
        category strings seen in fit (as :func:`category_strings` writes
        them), each one's slot (rare ones share one), the slot of a category
        not among them, and the slot of a missing value. The ONNX export maps
        strings to slots with these tables.
        """
        return [
            (lookup.categories.to_numpy(dtype=object), lookup.slots, lookup.unknown, lookup.missing)
            for lookup in self._lookups
        ]

    def transform(self, X):
        """Validated ``X`` as the network reads it: an array, a map or :class:`EncodedRows`."""
        return EncodedRows(X, self) if self.has_categorical else X


class CategoryLookup(NamedTuple):
    """A categorical column's slots, learned in fit and read with one hash lookup per value.

    Attributes
    ----------
    categories : pandas.Index
        The category strings seen in fit.
    slots : ndarray of int
        Each one's slot (rare ones share one).
    unknown, missing : int
        The slot of a category not among them, and of a missing value (0:
        read as zeros).
    n_slots : int
        The column's number of slots (codes ``1..n_slots``).
    slot_of : dict
        ``categories`` -> ``slots``, for a few values at a time.
    """

    categories: pd.Index
    slots: np.ndarray
    unknown: int
    missing: int
    n_slots: int
    slot_of: dict

    def slots_of(self, values):
        """The slot of each of ``values`` (category strings, NaN where missing)."""
        if len(values) <= FEW_ROWS:
            return np.array(
                [
                    self.slot_of.get(v, self.unknown) if isinstance(v, str) else self.missing
                    for v in values
                ],
                dtype=np.int64,
            )
        positions = self.categories.get_indexer(values)
        known = positions >= 0
        slots = np.full(len(values), self.unknown, dtype=np.int64)
        slots[known] = self.slots[positions[known]]
        slots[pd.isna(values)] = self.missing
        return slots


class EncodedRows:
    """A validated DataFrame whose rows are encoded when they are read.

    Prediction reads it one batch of rows at a time (``rows[start:stop]``), so
    that only a batch of it is ever encoded at once; ``np.asarray(rows)``
    encodes it whole.
    """

    def __init__(self, frame, encoder):
        self.frame = frame
        self.encoder = encoder

    @property
    def shape(self):
        return (len(self.frame), self.encoder.layout_.n_features)

    def __len__(self):
        return len(self.frame)

    def __getitem__(self, rows):
        # Prediction asks for chunks of whole batches, the first often past the end.
        whole = isinstance(rows, slice) and rows.indices(len(self)) == (0, len(self), 1)
        return self.encoder.encode(self.frame if whole else self.frame.iloc[rows])

    def __array__(self, dtype=None, copy=None):
        encoded = self.encoder.encode(self.frame)
        return encoded if dtype is None else encoded.astype(dtype, copy=False)
