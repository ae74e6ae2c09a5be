"""Reading, checking and encoding multi-task targets.

The estimator accepts targets in several containers (a dict of 1-D arrays, a
:class:`TargetDict`, a pandas DataFrame, a 2-D or 1-D array). This module turns
any of them into :class:`Targets`: ordered task names, one 1-D column per task,
a mask of labelled entries, and enough about the container to give predictions
back in the same kind.
"""

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils import _safe_indexing

from ._tasks import TASK_TYPES, infer_task_type, is_many_class_number


class TargetDict(dict):
    """A dict of per-task 1-D targets that scikit-learn can slice by rows.

    A plain ``dict`` is a mapping to scikit-learn: splitters and ``_safe_indexing``
    would count its keys as samples. ``TargetDict`` reports a ``shape`` of
    ``(n_samples, n_tasks)`` and slices every task's array by row with ``iloc``
    or ``take``, so it passes through ``train_test_split``, ``cross_validate``
    and ``GridSearchCV`` like a DataFrame with one column per task.

    Parameters
    ----------
    *args, **kwargs
        As for ``dict``: task name -> 1-D array-like of labels, all of one length.
        Lists are turned into NumPy arrays; arrays and pandas Series are kept.

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
                super().__setitem__(key, np.asarray(value))

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
        """The tasks as columns of a ``(n_samples, n_tasks)`` array.

        One common dtype when the tasks share one, else ``object``, as
        ``DataFrame.to_numpy()`` does; this lets ``cross_val_predict`` stack
        per-fold predictions.
        """
        if copy is False:
            raise ValueError("A TargetDict cannot become an array without a copy.")
        n_samples, _ = self.shape
        columns = [np.asarray(value) for value in self.values()]
        dtypes = {column.dtype for column in columns}
        common = dtype or (dtypes.pop() if len(dtypes) == 1 else object)
        array = np.empty((n_samples, len(columns)), dtype=common)
        for j, column in enumerate(columns):
            array[:, j] = column
        return array

    def take(self, indices, axis=0):
        """Rows ``indices`` of every task, as a new ``TargetDict``."""
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
    columns : list of ndarray or Series
        One 1-D column per task, as given (not copied).
    kind : {"dict", "targetdict", "frame", "array2d", "array1d"}
        The container, so that predictions come back in the same kind.
    labels : list
        The container's own keys or column labels (DataFrame columns may be ints).
    """

    names: list
    columns: list
    kind: str
    labels: list

    @property
    def n_samples(self):
        return len(self.columns[0])

    def missing(self, i):
        """Boolean mask of the rows whose label for task ``i`` is missing."""
        column = self.columns[i]
        if np.ma.isMaskedArray(column):
            return np.ma.getmaskarray(column) | np.asarray(pd.isna(column.data))
        return np.asarray(pd.isna(column), dtype=bool)


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
        kind, items = "targetdict", list(Y.items())
    elif isinstance(Y, dict):
        kind, items = "dict", list(Y.items())
    elif isinstance(Y, pd.DataFrame):
        kind, items = "frame", [(col, Y[col]) for col in Y.columns]
        if Y.columns.has_duplicates:
            raise ValueError(
                "The target DataFrame has duplicate column names "
                f"{list(Y.columns[Y.columns.duplicated()])}; each task needs its own "
                "column name."
            )
    elif isinstance(Y, pd.Series):
        kind, items = "array1d", [("task_0" if Y.name is None else Y.name, Y)]
    elif isinstance(Y, (np.ndarray, list, tuple)) or hasattr(Y, "__array__"):
        array = Y if np.ma.isMaskedArray(Y) else np.asarray(Y)
        if array.ndim == 1:
            kind, items = "array1d", [("task_0", array)]
        elif array.ndim == 2:
            kind = "array2d"
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
    for label, column in items:
        name = str(label)
        if not hasattr(column, "shape"):
            column = np.asarray(column)
        if column.ndim != 1:
            raise ValueError(
                f"Task '{name}' has a target of shape {column.shape}; each task takes "
                "a 1-D array with one label per row. For a one-hot encoded class, pass "
                "the labels instead (e.g. onehot.argmax(axis=1)); for several outputs, "
                "give each one its own task name."
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
    return Targets(names, columns, kind, [label for label, _ in items])


def check_scorable(name, missing):
    """Raise unless task ``name`` has a labelled row to be scored on."""
    if missing.all():
        raise ValueError(
            f"Task '{name}' has no labelled row in these targets, so it cannot be "
            "scored; score it on rows that have its label."
        )


def labelled_values(column, missing):
    """The labelled entries of ``column`` as a plain NumPy array."""
    if np.ma.isMaskedArray(column):
        column = column.data
    if isinstance(column, pd.Series):
        values = column[~missing]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(values.cat.categories.dtype)
        numpy_dtype = getattr(values.dtype, "numpy_dtype", None)
        values = values.to_numpy(dtype=numpy_dtype)
    else:
        values = np.asarray(column)[~missing]
    if values.dtype == object and len(values):
        # Object columns hold numbers when a 2-D array mixes types, or None marks
        # a missing label; let NumPy find the common type.
        values = np.array(values.tolist())
    return values


def resolve_task_types(targets, declared):
    """Task name -> task type name, from ``tasks=`` or inferred from the labels."""
    if declared is not None:
        unknown = sorted(set(declared) - set(targets.names))
        if unknown:
            raise ValueError(
                f"tasks= names {unknown}, which are not in the targets; the targets "
                f"have tasks {targets.names}. Rename the keys or add those targets."
            )
        for name, kind in declared.items():
            if kind not in TASK_TYPES:
                raise ValueError(
                    f"tasks= gives task '{name}' the type {kind!r}; known task types "
                    f"are {sorted(TASK_TYPES)}."
                )
    task_types = {}
    for i, name in enumerate(targets.names):
        missing = targets.missing(i)
        if missing.all():
            raise ValueError(
                f"Task '{name}' has no labelled row: every label is missing. Drop "
                "the task or label some rows."
            )
        if declared is not None and name in declared:
            task_types[name] = declared[name]
            continue
        values = labelled_values(targets.columns[i], missing)
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            raise ValueError(
                f"Task '{name}' has infinite labels; replace them with finite values "
                "or NaN (missing)."
            )
        kind = infer_task_type(values)
        if kind not in TASK_TYPES:
            raise ValueError(
                f"Cannot infer the type of task '{name}' from its labels "
                f"(type_of_target says {kind!r}); declare it, e.g. "
                f"tasks={{'{name}': 'regression'}}."
            )
        if is_many_class_number(values, kind):
            warnings.warn(
                f"Task '{name}' has numeric labels with {len(np.unique(values))} "
                "distinct values and was inferred as 'multiclass'. If it is a "
                f"quantity, declare tasks={{'{name}': 'regression'}}.",
                UserWarning,
                stacklevel=3,
            )
        task_types[name] = kind
    return task_types


@dataclass
class TaskEncoding:
    """How one task's labels map to the numbers the network trains on.

    Attributes
    ----------
    classes : ndarray or None
        Sorted labels of a classification task (the class codes index them).
    mean, scale : float
        Standardisation of a regression task (0 and 1 when switched off).
    """

    classes: np.ndarray = None
    mean: float = 0.0
    scale: float = 1.0


def fit_encoding(name, task_type, values, standardize):
    """Learn a task's :class:`TaskEncoding` from its labelled ``values``."""
    if TASK_TYPES[task_type].is_classifier:
        try:
            classes = np.unique(values)
        except TypeError as exc:
            raise TypeError(
                f"Task '{name}' mixes label types that cannot be sorted ({exc}); use "
                "labels of one type (all str, or all int)."
            ) from None
        if task_type == "binary" and len(classes) > 2:
            raise ValueError(
                f"Task '{name}' is declared 'binary' but has {len(classes)} classes "
                f"{classes[:10].tolist()}; declare it 'multiclass'."
            )
        if len(classes) < 2:
            raise ValueError(
                f"Task '{name}' has one class {classes.tolist()} among its labelled "
                "rows; a classification task needs at least two. Drop the task or "
                "add rows of another class."
            )
        return TaskEncoding(classes=classes)
    if values.dtype.kind not in "biuf":
        raise ValueError(
            f"Task '{name}' is a regression task but its labels are not numeric "
            f"(dtype {values.dtype}, e.g. {values[:3].tolist()}); convert them to "
            "numbers, or declare the task 'binary' or 'multiclass'."
        )
    values = values.astype(np.float64)
    if not np.isfinite(values).all():
        raise ValueError(
            f"Task '{name}' has infinite regression targets; replace them with "
            "finite values or NaN (missing)."
        )
    if not standardize:
        return TaskEncoding()
    scale = float(values.std())
    return TaskEncoding(mean=float(values.mean()), scale=scale if scale > 0 else 1.0)


def encode_column(name, encoding, values):
    """Encode labelled ``values`` as float32 class codes or standardised values."""
    if encoding.classes is None:
        values = np.asarray(values, dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError(
                f"Task '{name}' has infinite regression targets; replace them with "
                "finite values or NaN (missing)."
            )
        return ((values - encoding.mean) / encoding.scale).astype(np.float32)
    classes = encoding.classes
    try:
        codes = np.searchsorted(classes, values)
    except TypeError:
        codes = np.zeros(len(values), dtype=np.intp)
    codes = np.clip(codes, 0, len(classes) - 1)
    unseen = classes[codes] != values if len(values) else np.zeros(0, bool)
    if np.any(unseen):
        raise ValueError(
            f"Task '{name}' has labels {sorted(set(np.asarray(values)[unseen].tolist()))[:10]} "
            f"that were not seen in fit; known classes are {classes.tolist()}."
        )
    return codes.astype(np.float32)


def encode_targets(targets, names, encodings):
    """Dense ``(n_samples, n_tasks)`` float32 targets and a labelled-entry mask.

    Missing entries hold 0 in the targets and ``False`` in the mask, so that a
    masked loss never sees a NaN.
    """
    n = targets.n_samples
    y = np.zeros((n, len(names)), dtype=np.float32)
    mask = np.zeros((n, len(names)), dtype=bool)
    index = {name: i for i, name in enumerate(targets.names)}
    for j, name in enumerate(names):
        i = index[name]
        missing = targets.missing(i)
        values = labelled_values(targets.columns[i], missing)
        y[~missing, j] = encode_column(name, encodings[name], values)
        mask[:, j] = ~missing
    return y, mask


def wrap_like(kind, labels, names, predictions, index=None):
    """Predictions (task name -> 1-D array) in the container kind seen in fit."""
    if kind == "dict":
        return {label: predictions[name] for label, name in zip(labels, names)}
    if kind == "targetdict":
        return TargetDict({label: predictions[name] for label, name in zip(labels, names)})
    if kind == "frame":
        return pd.DataFrame(
            {label: predictions[name] for label, name in zip(labels, names)},
            index=index,
        )
    columns = [predictions[name] for name in names]
    if kind == "array1d":
        return columns[0]
    dtypes = {column.dtype for column in columns}
    dtype = dtypes.pop() if len(dtypes) == 1 else object
    return np.column_stack([column.astype(dtype) for column in columns])


def class_row_weights(class_weight, names, encodings, y, mask):
    """Per-row, per-task class weights, shape ``(n_samples, n_tasks)``.

    ``class_weight`` is ``None``, ``"balanced"`` (every classification task) or
    a dict task -> ``"balanced"`` or dict label -> weight. ``"balanced"`` gives
    class ``c`` the weight ``n / (n_classes * n_c)`` counted over the task's
    labelled rows only, as :func:`sklearn.utils.class_weight.compute_class_weight`
    does over all rows; a dict weighs the labels it names, others 1.0. Entries
    of unlabelled rows and of regression tasks are 1.0.
    """
    weights = np.ones(y.shape, dtype=np.float32)
    if class_weight is None:
        return weights
    classifiers = [name for name in names if encodings[name].classes is not None]
    if isinstance(class_weight, str):
        specs = dict.fromkeys(classifiers, class_weight)
    else:
        specs = dict(class_weight)
        for task in specs:
            if task not in names:
                raise ValueError(
                    f"class_weight has a key {task!r} that is not a task; tasks are {names}."
                )
            if task not in classifiers:
                raise ValueError(
                    f"class_weight has a key {task!r}, a regression task; class weights "
                    f"apply to classification tasks only: {classifiers}."
                )
    for task, spec in specs.items():
        j = names.index(task)
        classes = encodings[task].classes
        codes = y[mask[:, j], j].astype(np.intp)
        if isinstance(spec, str) and spec == "balanced":
            counts = np.bincount(codes, minlength=len(classes)).astype(np.float64)
            # A class absent from the labelled rows weighs nothing, so any weight works.
            per_class = len(codes) / (len(classes) * np.maximum(counts, 1))
        elif isinstance(spec, dict):
            per_class = np.ones(len(classes))
            for label, weight in spec.items():
                found = np.flatnonzero(classes == label) if _comparable(classes, label) else []
                if len(found) == 0:
                    raise ValueError(
                        f"class_weight[{task!r}] has a label {label!r} that is not a class "
                        f"of task {task!r}; its classes are {classes.tolist()}."
                    )
                if (
                    isinstance(weight, bool)
                    or not isinstance(weight, numbers.Real)
                    or not np.isfinite(weight)
                    or weight < 0
                ):
                    raise ValueError(
                        f"class_weight[{task!r}][{label!r}] is {weight!r}; class weights "
                        "must be finite non-negative numbers."
                    )
                per_class[found[0]] = float(weight)
        else:
            raise ValueError(
                f"class_weight[{task!r}] is {spec!r}; use 'balanced' or a dict label -> weight."
            )
        weights[mask[:, j], j] = per_class[codes]
    return weights


def _comparable(classes, label):
    """Whether ``label`` can equal an element of ``classes`` (str vs number)."""
    if classes.dtype.kind in "OUS":
        return True
    return isinstance(label, numbers.Number | np.bool_)
