"""Which type each task is: declared in ``tasks=`` or inferred, with its loss; the registry.

:func:`resolve_tasks` is the one place a fit, ``cross_val_predict`` and the
package's fold splitter turn targets and the ``tasks`` / ``losses`` parameters
into (unfitted) task objects.
"""

import warnings

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import type_of_target

from ._classification import BinaryTask, MulticlassTask
from ._multilabel import MultilabelTask, zero_one
from ._ordinal import OrdinalTask
from ._regression import CountTask, RegressionTask
from ._targets import check_finite, distinct_labels, labelled_values

#: Registry: name accepted by ``tasks=`` -> class.
TASK_TYPES = {
    "binary": BinaryTask,
    "multiclass": MulticlassTask,
    "regression": RegressionTask,
    "multilabel": MultilabelTask,
    "count": CountTask,
    "ordinal": OrdinalTask,
}

#: Numeric targets inferred as multiclass with more classes than this trigger a
#: warning: they are more often quantities than categories.
MANY_CLASSES = 20

#: ``pandas.api.types.infer_dtype`` answers for date and time labels.
DATE_TYPES = {"datetime64", "datetime", "date", "timedelta64", "timedelta", "time", "period"}


def resolve_tasks(targets, declared=None, losses=None):
    """Task name -> its unfitted task object, in the targets' order.

    Parameters
    ----------
    targets : Targets
        Read by :func:`~sklearn_mtl._tasks.read_targets`.
    declared : dict or None
        The estimator's ``tasks``: task -> a type name, or a list of labels
        from lowest to highest (an ordinal task in that order). A task absent
        or declared None has its type inferred: a 2-D target is multilabel, a
        pandas Series of an ordered Categorical dtype ordinal, else as
        ``type_of_target`` says.
    losses : dict or None
        The estimator's ``losses``: task -> loss; tasks not named take their
        type's default.

    Returns
    -------
    tasks : dict of str -> TaskType
    """
    types = _task_type_names(targets, declared)
    losses = dict(losses or {})
    unknown = [key for key in losses if key not in types]
    if unknown:
        raise ValueError(f"losses has keys {unknown} that are not tasks; tasks are {list(types)}.")
    tasks = {}
    for i, (name, type_name) in enumerate(types.items()):
        task_type, loss = TASK_TYPES[type_name], losses.get(name)
        if loss is not None and not task_type.accepts(loss):
            note = ""
            if isinstance(loss, tuple) and loss[:1] == ("quantile",):
                note = " Quantile levels are increasing numbers strictly between 0 and 1."
            raise ValueError(
                f"losses gives task '{name}' the loss {loss!r}, which a {type_name} task "
                f"does not take; choose one of {task_type.loss_forms()}.{note}"
            )
        column, options = targets.columns[i], {}
        if type_name == "ordinal":
            options["order"] = _ordinal_order(column, (declared or {}).get(name))
        elif type_name == "multilabel" and isinstance(column, pd.DataFrame):
            options["labels"] = np.asarray(column.columns)
        tasks[name] = task_type(name, loss, **options)
    return tasks


def _task_type_names(targets, declared):
    """Task name -> task type name, declared or inferred."""
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


def _ordinal_order(column, spec):
    """An ordinal task's classes from lowest to highest, where known, else None.

    Declared as a list in ``tasks=``, else the categories of an ordered pandas
    Categorical; other ordinal tasks order their sorted labels.
    """
    if _is_order(spec):
        return list(spec)
    if _is_ordered_categorical(column):
        return list(column.dtype.categories)
    return None


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


def class_probabilities(outputs, tasks):
    """Probabilities (float64) of each classification task, task -> array.

    ``outputs`` are the network's raw outputs, task -> tensor; ``tasks`` task
    -> :class:`~sklearn_mtl._tasks.TaskType`. A multilabel task's array holds
    each label's probability of being 1.
    """
    proba = {}
    for name, task in tasks.items():
        if task.is_classifier:
            # In float64, so that rows sum to 1 as tightly as sklearn metrics check.
            proba[name] = task.proba(outputs[name].double()).numpy()
    return proba


def has_classification_task(estimator):
    """``available_if`` check of ``predict_proba``: unfitted, or fitted with a classifier task."""
    fitted_types = getattr(estimator, "tasks_", {}).values()
    if fitted_types and not any(TASK_TYPES[t].is_classifier for t in fitted_types):
        raise AttributeError(
            f"predict_proba needs a classification task; this model's tasks "
            f"{estimator.tasks_} are all regressions or counts."
        )
    return True


def infer_task_type(y):
    """Name of the task type of the labelled 1-D values ``y`` (no missing entries).

    Follows :func:`sklearn.utils.multiclass.type_of_target`: ``"binary"`` and
    ``"multiclass"`` keep their names, ``"continuous"`` becomes ``"regression"``.
    Returns the raw ``type_of_target`` answer for anything else, which the caller
    turns into an error. Finite numeric labels take its rules without its
    input checks and with one count of their distinct values.
    """
    kind = y.dtype.kind
    if y.ndim == 1 and len(y) and (kind in "iu" or kind == "f" and np.isfinite(y).all()):
        with np.errstate(invalid="ignore"):  # as type_of_target: floats beyond int64
            if kind == "f" and (y != y.astype(int)).any():
                return "regression"
        return "binary" if len(distinct_labels(y)) <= 2 else "multiclass"
    target_type = type_of_target(y)
    return "regression" if target_type == "continuous" else target_type


def is_many_class_number(y, task_type):
    """Whether a numeric target inferred as multiclass looks like a quantity."""
    return (
        task_type == "multiclass"
        and np.asarray(y).dtype.kind in "iuf"
        and len(distinct_labels(np.asarray(y))) > MANY_CLASSES
    )
