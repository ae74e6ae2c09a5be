"""The task types of a fit, and the encoding of their labels as numbers.

Each task's type is declared (``tasks=``) or inferred from its labels; its
type object (:mod:`sklearn_mtl._tasks`) learns in fit how the labels map to
what the network trains on (class codes, standardised values, 0/1 label
columns) and reads predictions back. :func:`encode_for_fit` does all of it for
one fit; :func:`encode_targets` lays the targets out as one matrix in which
each task owns a slice of columns (one column, or one per label of a
multilabel task); :func:`labelled_rows` checks the labels of new targets
before they are scored.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils.validation import _check_sample_weight

from ._targets import check_finite, labelled_values
from ._tasks import (
    TASK_TYPES,
    infer_task_type,
    is_many_class_number,
    make_tasks,
    zero_one,
)

#: ``pandas.api.types.infer_dtype`` answers for date and time labels.
DATE_TYPES = {"datetime64", "datetime", "date", "timedelta64", "timedelta", "time", "period"}


def resolve_task_types(targets, declared):
    """Task name -> task type name, from ``tasks=`` or inferred from the labels.

    A declared entry is a type name, or a list of labels from lowest to highest
    (an ordinal task with that order); a task absent from ``declared``, or
    declared None, has its type inferred. A 2-D target is a multilabel task; a
    pandas Series of an ordered Categorical dtype is an ordinal task.
    """
    declared = _check_declared(targets, declared)
    task_types = {}
    for i, name in enumerate(targets.names):
        column, missing = targets.columns[i], targets.missing(i)
        if missing.all():
            raise ValueError(
                f"Task '{name}' has no labelled row: every label is missing. Drop "
                "the task or label some rows."
            )
        if name in declared:
            task_types[name] = declared[name]
            _check_dimensions(name, column, declared[name])
        elif column.ndim == 2:
            task_types[name] = _infer_multilabel(name, column, missing)
        elif _is_ordered_categorical(column):
            task_types[name] = "ordinal"
        else:
            task_types[name] = _infer_type(name, labelled_values(column, missing, name))
    return task_types


def _check_declared(targets, declared):
    """``tasks=`` as task -> type name; raises for unknown tasks and types."""
    if declared is None:
        return {}
    unknown = [key for key in declared if key not in targets.names]
    if unknown:
        raise ValueError(
            f"tasks= names {unknown}, which are not in the targets; the targets "
            f"have tasks {targets.names}. Rename the keys or add those targets."
        )
    types = {}
    for name, task_type in declared.items():
        if task_type is None:
            continue
        if _is_order(task_type) and len(task_type) >= 2:
            types[name] = "ordinal"
        elif isinstance(task_type, str) and task_type in TASK_TYPES:
            types[name] = task_type
        else:
            raise ValueError(
                f"tasks= gives task '{name}' the type {task_type!r}; known task types "
                f"are {sorted(TASK_TYPES)}, or a list of two or more labels from lowest "
                "to highest for an ordinal task (e.g. ['low', 'mid', 'high'])."
            )
    return types


def _is_order(spec):
    return isinstance(spec, (list, tuple, np.ndarray, pd.Index))


def _is_ordered_categorical(column):
    dtype = getattr(column, "dtype", None)
    return isinstance(dtype, pd.CategoricalDtype) and bool(dtype.ordered)


def ordinal_orders(targets, declared, task_types):
    """Ordinal task -> its classes from lowest to highest, where known.

    Declared as a list in ``tasks=``, else the categories of an ordered pandas
    Categorical; other ordinal tasks order their sorted labels.
    """
    orders = {}
    for i, name in enumerate(targets.names):
        if task_types[name] != "ordinal":
            continue
        spec = (declared or {}).get(name)
        if _is_order(spec):
            orders[name] = list(spec)
        elif _is_ordered_categorical(targets.columns[i]):
            orders[name] = list(targets.columns[i].dtype.categories)
    return orders


def _check_dimensions(name, column, task_type):
    two_dimensional = TASK_TYPES[task_type].two_dimensional
    if column.ndim == 2 and not two_dimensional:
        raise ValueError(
            f"Task '{name}' has a target of shape {column.shape} but is declared "
            f"'{task_type}', which takes one label per row. For a one-hot encoded "
            "class, pass the labels instead (e.g. onehot.argmax(axis=1)); for several "
            f"yes/no labels, declare tasks={{'{name}': 'multilabel'}}."
        )
    if column.ndim == 1 and two_dimensional:
        raise ValueError(
            f"Task '{name}' is declared '{task_type}' but its target is 1-D; a "
            f"{task_type} task takes a 2-D 0/1 matrix (n_samples, n_labels), given "
            "in a dict or TargetDict."
        )


def _infer_multilabel(name, column, missing):
    """``"multilabel"`` for a 2-D 0/1 target; raises for any other 2-D target."""
    try:
        values = zero_one(name, labelled_values(column, missing, name))
    except ValueError:
        raise ValueError(
            f"Task '{name}' has a target of shape {column.shape} that is not a 0/1 "
            "matrix; a 2-D target is a multilabel task (one 0/1 column per label). "
            "For several outputs, give each one its own task name."
        ) from None
    complete = values[~np.isnan(values).any(axis=1)]
    if values.shape[1] > 1 and len(complete) and (complete.sum(axis=1) == 1).all():
        warnings.warn(
            f"Task '{name}' looks one-hot encoded (one 1 per row) and is inferred as "
            "'multilabel'. If its classes exclude each other, pass the labels "
            "instead (e.g. onehot.argmax(axis=1)) for a multiclass task.",
            UserWarning,
            stacklevel=5,
        )
    return "multilabel"


def _infer_type(name, values):
    """The type of task ``name`` inferred from its labelled ``values``.

    Raises for labels whose type cannot be inferred (dates among them); warns
    when numbers, or numbers written as text, were inferred as classes but
    look like a quantity.
    """
    if pd.api.types.infer_dtype(values) in DATE_TYPES:
        raise ValueError(
            f"Cannot infer the type of task '{name}' from date or time labels (e.g. "
            f"{values[0]!r}). For a regression, turn them into numbers, e.g. "
            "(y - y.min()) / pd.Timedelta(days=1); if each date is a class, declare "
            f"tasks={{'{name}': 'multiclass'}}."
        )
    if values.dtype.kind == "f":
        check_finite(name, values, "labels")
    with np.errstate(invalid="ignore"):  # type_of_target casts floats beyond int64 to int
        task_type = infer_task_type(values)
    if task_type not in TASK_TYPES:
        raise ValueError(
            f"Cannot infer the type of task '{name}' from its labels "
            f"(type_of_target says {task_type!r}); declare it, e.g. "
            f"tasks={{'{name}': 'regression'}}."
        )
    if is_many_class_number(values, task_type):
        warnings.warn(
            f"Task '{name}' has numeric labels with {len(np.unique(values))} "
            "distinct values and was inferred as 'multiclass'. If it is a "
            f"quantity, declare tasks={{'{name}': 'regression'}} (or 'count').",
            UserWarning,
            stacklevel=5,
        )
    elif _quantity_as_text(values):
        warnings.warn(
            f"Task '{name}' has labels that are numbers written as text (e.g. "
            f"{values[:3].tolist()}) and was inferred as {task_type!r} with "
            f"{len(np.unique(values))} classes. A 2-D array that mixes numbers and "
            "strings (np.column_stack, np.array of rows) holds every value as text: "
            "pass a DataFrame or a dict of 1-D arrays so that each task keeps its type, "
            f"or declare tasks={{'{name}': {task_type!r}}} if these are classes.",
            UserWarning,
            stacklevel=5,
        )
    return task_type


def _quantity_as_text(values):
    """Whether text labels all read as numbers that would be inferred as a quantity."""
    if values.dtype.kind not in "US":
        return False
    try:
        numbers = values.astype(np.float64)
    except ValueError:
        return False
    if not np.isfinite(numbers).all():
        return False
    return infer_task_type(numbers) == "regression" or is_many_class_number(numbers, "multiclass")


def column_slices(tasks, encodings):
    """Task -> its slice of columns in the encoded target matrix, in task order."""
    slices, start = {}, 0
    for name, task in tasks.items():
        width = task.width(encodings[name])
        slices[name] = slice(start, start + width)
        start += width
    return slices


def encode_targets(targets, tasks, encodings):
    """Dense ``(n_samples, n_columns)`` float32 targets and a labelled-entry mask.

    ``tasks`` (task -> type object, in the fitted order) and their
    ``encodings`` set the layout (:func:`column_slices`); a task absent from
    ``targets`` keeps an all-False mask. Missing entries hold 0 in the targets
    and ``False`` in the mask, so that a masked loss never sees a NaN.
    """
    slices = column_slices(tasks, encodings)
    n, n_columns = targets.n_samples, sum(s.stop - s.start for s in slices.values())
    y = np.zeros((n, n_columns), dtype=np.float32)
    mask = np.zeros((n, n_columns), dtype=bool)
    for i, name in enumerate(targets.names):
        missing = targets.missing(i)
        cells = ~missing.reshape(n, -1)
        rows = cells.any(axis=1)
        values = labelled_values(targets.columns[i], missing, name)
        encoded = tasks[name].encode(name, encodings[name], values)
        y[rows, slices[name]] = encoded.reshape(int(rows.sum()), -1)
        mask[:, slices[name]] = cells
    return y, mask


@dataclass
class EncodedTargets:
    """The targets of a fit as the network trains on them.

    Attributes
    ----------
    names : list of str
        Task names, in the targets' order.
    task_types : dict of str -> str
        Task name -> task type name, declared or inferred.
    tasks : dict of str -> TaskType
        Task name -> its type object, with its loss.
    encodings : dict of str -> TaskEncoding
        How each task's labels became numbers.
    slices : dict of str -> slice
        Each task's columns in ``y`` and ``mask``.
    y : ndarray of shape (n_samples, n_columns), float32
        Encoded targets, 0 where a label is missing.
    mask : ndarray of shape (n_samples, n_columns), bool
        Which entries are labelled.
    """

    names: list
    task_types: dict
    tasks: dict
    encodings: dict
    slices: dict
    y: np.ndarray
    mask: np.ndarray


def encode_for_fit(targets, declared, losses, standardize):
    """Resolve the task types, learn each task's encoding and encode ``targets``.

    ``declared``, ``losses`` and ``standardize`` are the estimator's
    ``tasks``, ``losses`` and ``standardize_targets``. Warns about rows
    without any label.
    """
    names = targets.names
    task_types = resolve_task_types(targets, declared)
    tasks = make_tasks(task_types, losses, ordinal_orders(targets, declared, task_types))
    encodings = {}
    for i, name in enumerate(names):
        column = targets.columns[i]
        values = labelled_values(column, targets.missing(i), name)
        encodings[name] = tasks[name].fit_encoding(name, values, standardize)
        if isinstance(column, pd.DataFrame):
            encodings[name].classes = np.asarray(column.columns)
    y, mask = encode_targets(targets, tasks, encodings)
    slices = column_slices(tasks, encodings)
    unlabelled = ~mask.any(axis=1)
    if unlabelled.any():
        warnings.warn(
            f"{int(unlabelled.sum())} rows have every label missing and do not "
            "contribute to training; drop them from X and the targets.",
            UserWarning,
            stacklevel=3,
        )
    return EncodedTargets(names, task_types, tasks, encodings, slices, y, mask)


@dataclass
class LabelledRows:
    """The rows of one task that can be scored.

    Attributes
    ----------
    mask : ndarray of bool of shape (n_samples,)
        The rows labelled for the task (at least one label of a multilabel task).
    y_true : ndarray
        Their labels, checked against the task's encoding; for a multilabel
        task a float 0/1 matrix with NaN where a label is missing.
    sample_weight : ndarray or None
        Their sample weights.
    """

    mask: np.ndarray
    y_true: np.ndarray
    sample_weight: np.ndarray = None


def labelled_rows(targets, name, task, encoding, sample_weight=None):
    """The labelled rows of task ``name`` in ``targets``, to score it on.

    ``task`` and ``encoding`` are the task's fitted type object and encoding.
    Raises a ``ValueError`` when the task has no labelled row, or a label the
    fitted task cannot take (a class never seen in fit, a negative count...).
    """
    i = targets.names.index(name)
    unlabelled = targets.unlabelled(i)
    if unlabelled.all():
        raise ValueError(
            f"Task '{name}' has no labelled row in these targets, so it cannot be "
            "scored; score it on rows that have its label."
        )
    y_true = labelled_values(targets.columns[i], targets.missing(i), name)
    task.encode(name, encoding, y_true)
    if task.two_dimensional:
        y_true = zero_one(name, y_true)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, unlabelled)[~unlabelled]
    return LabelledRows(~unlabelled, y_true, sample_weight)
