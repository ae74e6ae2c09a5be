"""Target containers in, predictions out in the same kind.

Any supported container (a dict of 1-D arrays, a :class:`TargetDict`, a pandas
DataFrame, a 2-D or 1-D array) is read into :class:`Targets`: ordered task
names, one column per task and which entries are missing.
"""

import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils import _safe_indexing


class TargetDict(dict):
    """A dict of per-task targets that scikit-learn can slice by rows.

    A plain ``dict`` is a mapping to scikit-learn: splitters and ``_safe_indexing``
    would count its keys as samples. ``TargetDict`` reports a ``shape`` of
    ``(n_samples, n_tasks)`` and slices every task's array by row with ``iloc``
    or ``take``, so it passes through ``train_test_split``, ``cross_validate``
    and ``GridSearchCV`` like a DataFrame with one column per task.

    Parameters
    ----------
    *args, **kwargs
        As for ``dict``: task name -> array-like of labels, all of one length:
        1-D, or for a multilabel task a 2-D ``(n_samples, n_labels)`` 0/1
        array or DataFrame. Lists are turned into NumPy arrays; arrays, pandas
        Series and DataFrames are kept.

    See Also
    --------
    MultiTaskEstimator : Fits a network over such targets.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn_mtl import TargetDict
    >>> Y = TargetDict(price=np.arange(6.0), grade=np.array(list("aabbcc")))
    >>> Y.shape
    (6, 2)
    >>> Y_train, Y_test = train_test_split(Y, test_size=2, shuffle=False)
    >>> Y_test["grade"]
    array(['c', 'c'], dtype='<U1')
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, value in self.items():
            if not hasattr(value, "shape"):
                super().__setitem__(key, _as_array(value))

    @property
    def shape(self):
        """``(n_samples, n_tasks)``; raises if the tasks differ in length."""
        lengths = {key: len(value) for key, value in self.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"TargetDict tasks have different numbers of rows: {lengths}; "
                "every task needs one label (or a missing value) per row of X."
            )
        n_samples = next(iter(lengths.values())) if lengths else 0
        return (n_samples, len(self))

    def __array__(self, dtype=None, copy=None):
        """The tasks as columns of a ``(n_samples, n_columns)`` array.

        One column per task, and one per label of a multilabel (2-D) task. One
        common dtype when the tasks share one, else ``object``, as
        ``DataFrame.to_numpy()`` does; this lets ``cross_val_predict`` stack
        per-fold predictions.
        """
        if copy is False:
            raise ValueError("A TargetDict cannot become an array without a copy.")
        n_samples, _ = self.shape
        columns = [np.asarray(value).reshape(n_samples, -1) for value in self.values()]
        dtypes = {column.dtype for column in columns}
        common = dtype or (dtypes.pop() if len(dtypes) == 1 else object)
        array = np.empty((n_samples, sum(c.shape[1] for c in columns)), dtype=common)
        start = 0
        for column in columns:
            array[:, start : start + column.shape[1]] = column
            start += column.shape[1]
        return array

    def take(self, indices, axis=0):
        """Rows ``indices`` of every task, as a new ``TargetDict``.

        Parameters
        ----------
        indices : array-like of int
            The rows to take.
        axis : {0}, default=0
            Rows; a TargetDict has no other axis to take along.

        Returns
        -------
        targets : TargetDict
        """
        if axis != 0:
            raise ValueError("TargetDict can only be indexed by rows (axis=0).")
        return TargetDict({key: _safe_indexing(value, indices) for key, value in self.items()})

    @property
    def iloc(self):
        """Row indexer, as ``DataFrame.iloc``: ``Y.iloc[rows]``."""
        return _RowIndexer(self)

    def __repr__(self):
        return f"TargetDict({dict.__repr__(self)})"

    def __reduce__(self):
        return (type(self), (dict(self),))


class _RowIndexer:
    def __init__(self, targets):
        self._targets = targets

    def __getitem__(self, rows):
        if isinstance(rows, numbers.Integral):
            rows = [rows]
        return self._targets.take(rows)


@dataclass
class Targets:
    """Targets read from a user's container.

    Attributes
    ----------
    names : list of str
        Task names, in the container's order.
    columns : list of ndarray, Series or DataFrame
        One column per task, as given (not copied): 1-D, or 2-D for a
        multilabel task (given in a dict or TargetDict).
    container : {"dict", "targetdict", "frame", "array2d", "array1d"}
        The kind of container, so that predictions come back in the same kind.
    keys : list
        The container's own keys or column labels (DataFrame columns may be
        ints), one per task.
    """

    names: list
    columns: list
    container: str
    keys: list

    @property
    def n_samples(self):
        return len(self.columns[0])

    def missing(self, i):
        """Boolean mask of task ``i``'s missing labels, of the column's shape.

        Per row for a 1-D column, per cell (row and label) for a 2-D one.
        """
        column = self.columns[i]
        if np.ma.isMaskedArray(column):
            return np.ma.getmaskarray(column) | np.asarray(pd.isna(column.data))
        return np.asarray(pd.isna(column), dtype=bool)

    def unlabelled(self, i):
        """Boolean mask of the rows without any label for task ``i``."""
        missing = self.missing(i)
        return missing.all(axis=1) if missing.ndim == 2 else missing


def read_targets(Y):
    """Read any supported target container into :class:`Targets`.

    Raises
    ------
    TypeError
        For an unsupported container.
    ValueError
        For an empty container, tasks of unequal length or a non-1-D task.
    """
    if Y is None:
        raise ValueError(
            "MultiTaskEstimator requires y to be passed, but the target y is None; "
            "pass one target per task, e.g. {'price': y_price, 'grade': y_grade}."
        )
    if isinstance(Y, TargetDict):
        container, items = "targetdict", list(Y.items())
    elif isinstance(Y, dict):
        container, items = "dict", list(Y.items())
    elif isinstance(Y, pd.DataFrame):
        container, items = "frame", [(col, Y[col]) for col in Y.columns]
        if Y.columns.has_duplicates:
            raise ValueError(
                "The target DataFrame has duplicate column names "
                f"{list(Y.columns[Y.columns.duplicated()])}; each task needs its own "
                "column name."
            )
    elif isinstance(Y, pd.Series):
        container, items = "array1d", [("task_0" if Y.name is None else Y.name, Y)]
    elif isinstance(Y, (np.ndarray, list, tuple)) or hasattr(Y, "__array__"):
        array = Y if np.ma.isMaskedArray(Y) else _as_array(Y)
        if array.ndim == 1:
            container, items = "array1d", [("task_0", array)]
        elif array.ndim == 2:
            container = "array2d"
            items = [(f"task_{j}", array[:, j]) for j in range(array.shape[1])]
        else:
            raise ValueError(
                f"A target array must be 1-D (one task) or 2-D (one column per task); "
                f"got {array.ndim} dimensions with shape {array.shape}."
            )
    else:
        raise TypeError(
            f"Targets of type {type(Y).__name__} are not supported; pass a dict of "
            "1-D arrays, a sklearn_mtl.TargetDict, a pandas DataFrame with one column "
            "per task, a 2-D array (one column per task) or a 1-D array (one task)."
        )
    if not items:
        raise ValueError(
            "The targets are empty: no task was given. Pass at least one task, "
            "e.g. {'price': y_price}."
        )
    names, columns = [], []
    for key, column in items:
        name = str(key)
        if not hasattr(column, "shape"):
            column = _as_array(column)
        if column.ndim not in (1, 2):
            raise ValueError(
                f"Task '{name}' has a target of shape {column.shape}; each task takes "
                "a 1-D array with one label per row, or a 2-D 0/1 matrix (one column "
                "per label) for a multilabel task. For several outputs, give each one "
                "its own task name."
            )
        names.append(name)
        columns.append(column)
    if len(set(names)) != len(names):
        raise ValueError(f"Task names {names} are not unique once turned into str.")
    lengths = {name: len(col) for name, col in zip(names, columns)}
    if len(set(lengths.values())) > 1:
        raise ValueError(
            f"Tasks have different numbers of rows: {lengths}; every task needs one "
            "label (or a missing value) per row of X."
        )
    if next(iter(lengths.values())) == 0:
        raise ValueError("The targets have no rows; pass at least one labelled row.")
    return Targets(names, columns, container, [key for key, _ in items])


def _as_array(Y):
    """``Y`` as an array; a list mixing strings and numbers keeps each label's type.

    ``np.asarray`` would turn every entry of such a list (of rows, say
    ``[[1.5, "yes"], ...]``) into a string: an object array keeps the numbers
    numbers, column by column.
    """
    array = np.asarray(Y)
    if isinstance(Y, list | tuple) and array.dtype.kind in "US":
        objects = np.array(Y, dtype=object)
        if objects.shape == array.shape and not all(isinstance(v, str) for v in objects.flat):
            return objects
    return array


def check_n_samples(n_samples, targets):
    """Raise unless ``targets`` have one row per row of X (``n_samples``)."""
    if targets.n_samples != n_samples:
        raise ValueError(
            f"X has {n_samples} rows but the targets have {targets.n_samples}; "
            "every task needs one label (or a missing value) per row of X."
        )


def check_fitted_tasks(names, fitted, where="The targets have"):
    """Raise unless every task in ``names`` is one of the ``fitted`` tasks.

    ``where`` starts the message: ``"<where> tasks [...] that were not fitted"``.
    """
    unknown = [name for name in names if name not in fitted]
    if unknown:
        raise ValueError(
            f"{where} tasks {unknown} that were not fitted; fitted tasks are {list(fitted)}."
        )


def check_finite(name, values, what):
    """Raise unless the float ``values`` of task ``name`` (its ``what``) are finite."""
    if not np.isfinite(values).all():
        raise ValueError(
            f"Task '{name}' has infinite {what}; replace them with finite values or NaN (missing)."
        )


def distinct_labels(values):
    """The sorted distinct entries of the 1-D ``values``, as ``np.unique`` gives them.

    Integer labels spanning a range not much wider than their number are
    counted (``np.bincount``) rather than sorted or hashed: several times
    faster on the class codes most classification targets are.
    """
    if values.dtype.kind in "iu" and len(values):
        low, high = int(values.min()), int(values.max())
        if high - low <= 4 * len(values) + 1024 and -(2**62) < low and high < 2**62:
            present = np.bincount(values.astype(np.intp) - low)
            return (np.flatnonzero(present) + low).astype(values.dtype)
    return np.unique(values)


def labelled_values(column, missing, name=None):
    """The labelled entries of ``column`` (task ``name``'s) as a plain NumPy array.

    Raises a ``ValueError`` for labels that mix strings with other types. For
    a 2-D column (``missing`` per cell): the rows with at least one label, as
    an array of their cells with NaN where a cell is missing.
    """
    if missing.ndim == 2:
        rows = ~missing.all(axis=1)
        if isinstance(column, pd.DataFrame):
            column = column.to_numpy(dtype=object)
        values = np.asarray(np.ma.getdata(column))[rows]
        values = values.astype(np.float64 if values.dtype.kind in "biuf" else object)
        values[missing[rows]] = np.nan
        return values
    if np.ma.isMaskedArray(column):
        column = column.data
    if isinstance(column, pd.api.extensions.ExtensionArray):
        # As in a Series (pd.array(..., dtype="Int64")): NumPy would read NA as NaN.
        column = pd.Series(column, copy=False)
    if isinstance(column, pd.Series):
        values = column[~missing]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(values.cat.categories.dtype)
        numpy_dtype = getattr(values.dtype, "numpy_dtype", None)
        values = values.to_numpy(dtype=numpy_dtype)
    else:
        values = np.asarray(column)[~missing]
    if values.dtype == object and len(values):
        check_label_types(name, values)
        # Object columns hold numbers when a 2-D array mixes types, or None marks
        # a missing label; let NumPy find the common type.
        values = np.array(values.tolist())
    return values


def check_label_types(name, values):
    """Raise if the labels ``values`` (an object array) mix strings with other types.

    NumPy would turn them all into strings, merging ``1`` and ``"1"``;
    scikit-learn refuses such labels too ("Unknown label type").
    """
    is_text = np.fromiter((isinstance(v, str | bytes) for v in values), bool, len(values))
    if is_text.any() and not is_text.all():
        others = {type(v).__name__ for v in values[~is_text]}
        example = [values[~is_text][0], values[is_text][0]]
        where = "The targets have" if name is None else f"Task '{name}' has"
        raise ValueError(
            f"{where} labels of mixed input types (strings and {', '.join(sorted(others))}), e.g. "
            f"{example}; turned into one type, 1 and '1' would become one class. Use labels "
            "of one type: all strings (e.g. y.astype(str)) or all numbers."
        )


def wrap_like(container, keys, names, predictions, index=None):
    """Predictions (task name -> array) in the kind of ``container`` seen in fit.

    ``keys`` are the container's own keys or column labels, one per task of
    ``names``. A multilabel task's 2-D predictions can only come from a dict
    or TargetDict container (the only ones that hold 2-D targets), and stay 2-D.
    """
    if container == "dict":
        return {key: predictions[name] for key, name in zip(keys, names)}
    if container == "targetdict":
        return TargetDict({key: predictions[name] for key, name in zip(keys, names)})
    if container == "frame":
        # The arrays are the predictions' own: the frame may hold them, not copies.
        return pd.DataFrame(
            {key: predictions[name] for key, name in zip(keys, names)}, index=index, copy=False
        )
    columns = [predictions[name] for name in names]
    if container == "array1d":
        return columns[0]
    dtypes = {column.dtype for column in columns}
    dtype = dtypes.pop() if len(dtypes) == 1 else object
    return np.column_stack([column.astype(dtype) for column in columns])
