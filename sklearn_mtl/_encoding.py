"""The task types of a fit, and the encoding of their labels as numbers.

Each task's type is declared (``tasks=``) or inferred from its labels; its
:class:`TaskEncoding`, learned in fit, maps labels to what the network trains
on (class codes, or standardised values) and back (:meth:`TaskEncoding.decode`).
:func:`encode_for_fit` does all of it for one fit; :func:`labelled_rows` checks
the labels of new targets against the encoding before they are scored.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils.validation import _check_sample_weight

from ._data import FLOAT32_MAX
from ._targets import check_finite, labelled_values
from ._tasks import TASK_TYPES, infer_task_type, is_many_class_number

#: Regression targets up to this magnitude are standardised; beyond it the
#: network's predictions, unstandardised, could overflow float64.
LARGEST_STANDARDIZED = 1e300

#: ``pandas.api.types.infer_dtype`` answers for date and time labels.
DATE_TYPES = {"datetime64", "datetime", "date", "timedelta64", "timedelta", "time", "period"}


def resolve_task_types(targets, declared):
    """Task name -> task type name, from ``tasks=`` or inferred from the labels.

    A task absent from ``declared``, or declared None, has its type inferred.
    """
    if declared is not None:
        unknown = [key for key in declared if key not in targets.names]
        if unknown:
            raise ValueError(
                f"tasks= names {unknown}, which are not in the targets; the targets "
                f"have tasks {targets.names}. Rename the keys or add those targets."
            )
        for name, task_type in declared.items():
            if task_type is not None and (
                not isinstance(task_type, str) or task_type not in TASK_TYPES
            ):
                raise ValueError(
                    f"tasks= gives task '{name}' the type {task_type!r}; known task types "
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
        if declared is not None and declared.get(name) is not None:
            task_types[name] = declared[name]
            continue
        task_types[name] = _infer_type(name, labelled_values(targets.columns[i], missing, name))
    return task_types


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
            f"quantity, declare tasks={{'{name}': 'regression'}}.",
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

    def decode(self, encoded):
        """Labels (or values in the target's units) from class codes (or standardised values)."""
        if self.classes is not None:
            return self.classes[encoded]
        return encoded.astype(np.float64) * self.scale + self.mean


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
    check_finite(name, values, "regression targets")
    largest = float(np.abs(values).max())
    if not standardize:
        if largest > FLOAT32_MAX:
            raise ValueError(
                f"Task '{name}' has regression targets up to {largest:.3g}, too large for "
                "dtype('float32'), which the network trains in; keep "
                "standardize_targets=True or rescale the target."
            )
        return TaskEncoding()
    if largest > LARGEST_STANDARDIZED:
        raise ValueError(
            f"Task '{name}' has regression targets up to {largest:.3g}, too close to "
            f"float64's limit to be standardised and predicted without overflow (at most "
            f"{LARGEST_STANDARDIZED:.0e}); rescale the target, e.g. divide it by 1e100."
        )
    # Divided by a power of two, the exact mean and deviation of targets whose
    # squares overflow (near 1e200) are within reach.
    factor = 2.0 ** (np.frexp(largest)[1] - 1) if largest > 0 else 1.0
    scaled = values / factor
    scale = float(scaled.std()) * factor
    return TaskEncoding(mean=float(scaled.mean()) * factor, scale=scale if scale > 0 else 1.0)


def encode_column(name, encoding, values):
    """Encode labelled ``values`` as float32 class codes or standardised values."""
    if encoding.classes is None:
        values = np.asarray(values, dtype=np.float64)
        check_finite(name, values, "regression targets")
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
        values = labelled_values(targets.columns[i], missing, name)
        y[~missing, j] = encode_column(name, encodings[name], values)
        mask[:, j] = ~missing
    return y, mask


@dataclass
class EncodedTargets:
    """The targets of a fit as the network trains on them.

    Attributes
    ----------
    names : list of str
        Task names, in the targets' order (the columns of ``y``).
    task_types : dict of str -> str
        Task name -> task type name, declared or inferred.
    encodings : dict of str -> TaskEncoding
        How each task's labels became numbers.
    y : ndarray of shape (n_samples, n_tasks), float32
        Encoded targets, 0 where a label is missing.
    mask : ndarray of shape (n_samples, n_tasks), bool
        Which entries are labelled.
    """

    names: list
    task_types: dict
    encodings: dict
    y: np.ndarray
    mask: np.ndarray


def encode_for_fit(targets, declared, standardize):
    """Resolve the task types, learn each task's encoding and encode ``targets``.

    ``declared`` is the estimator's ``tasks``; ``standardize`` its
    ``standardize_targets``. Warns about rows without any label.
    """
    names = targets.names
    task_types = resolve_task_types(targets, declared)
    encodings = {
        name: fit_encoding(
            name,
            task_types[name],
            labelled_values(targets.columns[i], targets.missing(i), name),
            standardize,
        )
        for i, name in enumerate(names)
    }
    y, mask = encode_targets(targets, names, encodings)
    unlabelled = ~mask.any(axis=1)
    if unlabelled.any():
        warnings.warn(
            f"{int(unlabelled.sum())} rows have every label missing and do not "
            "contribute to training; drop them from X and the targets.",
            UserWarning,
            stacklevel=3,
        )
    return EncodedTargets(names, task_types, encodings, y, mask)


@dataclass
class LabelledRows:
    """The rows of one task that can be scored.

    Attributes
    ----------
    mask : ndarray of bool of shape (n_samples,)
        The rows labelled for the task.
    y_true : ndarray
        Their labels, checked against the classes seen in fit.
    sample_weight : ndarray or None
        Their sample weights.
    """

    mask: np.ndarray
    y_true: np.ndarray
    sample_weight: np.ndarray = None


def labelled_rows(targets, name, encoding, sample_weight=None):
    """The labelled rows of task ``name`` in ``targets``, to score it on.

    Raises a ``ValueError`` when the task has no labelled row, or (for a
    classification task, whose fitted ``encoding`` has classes) a label that
    was never seen in fit.
    """
    i = targets.names.index(name)
    missing = targets.missing(i)
    if missing.all():
        raise ValueError(
            f"Task '{name}' has no labelled row in these targets, so it cannot be "
            "scored; score it on rows that have its label."
        )
    y_true = labelled_values(targets.columns[i], missing, name)
    if encoding.classes is not None:
        encode_column(name, encoding, y_true)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, missing)[~missing]
    return LabelledRows(~missing, y_true, sample_weight)
