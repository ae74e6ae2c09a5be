"""Targets as the network trains on them: one float32 matrix, each task a slice of columns.

A task takes one column, or one per label of a multilabel task; missing
entries hold 0 and are ``False`` in the labelled-entry mask.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import _check_sample_weight

from ._multilabel import zero_one
from ._resolve import resolve_tasks
from ._targets import labelled_values
from ._weights import task_sample_weights


def column_slices(tasks):
    """Task -> its slice of columns in the encoded target matrix, in task order."""
    slices, start = {}, 0
    for name, task in tasks.items():
        slices[name] = slice(start, start + task.width)
        start += task.width
    return slices


def encode_targets(targets, tasks):
    """Dense ``(n_samples, n_columns)`` float32 targets and a labelled-entry mask.

    ``tasks`` (task -> fitted task object, in the fitted order) set the layout
    (:func:`column_slices`); a task absent from ``targets`` keeps an
    all-False mask.
    """
    slices = column_slices(tasks)
    n, n_columns = targets.n_samples, sum(s.stop - s.start for s in slices.values())
    y = np.zeros((n, n_columns), dtype=np.float32)
    mask = np.zeros((n, n_columns), dtype=bool)
    for i, name in enumerate(targets.names):
        missing = targets.missing(i)
        cells = ~missing.reshape(n, -1)
        rows = cells.any(axis=1)
        encoded = tasks[name].encode(labelled_values(targets.columns[i], missing, name))
        # A slice, not a mask, where every row is labelled: several times faster.
        y[slice(None) if rows.all() else rows, slices[name]] = encoded.reshape(len(encoded), -1)
        mask[:, slices[name]] = cells
    return y, mask


@dataclass
class EncodedTargets:
    """The targets of a fit as the network trains on them.

    Attributes
    ----------
    tasks : dict of str -> TaskType
        Task name -> its fitted task object, in the targets' order.
    slices : dict of str -> slice
        Each task's columns in ``y`` and ``mask``.
    y : ndarray of shape (n_samples, n_columns), float32
        Encoded targets, 0 where a label is missing.
    mask : ndarray of shape (n_samples, n_columns), bool
        Which entries are labelled.
    """

    tasks: dict
    slices: dict
    y: np.ndarray
    mask: np.ndarray

    @property
    def names(self):
        return list(self.tasks)


def fit_targets(targets, declared, losses, standardize):
    """Resolve the task types, fit each task on its labels and encode ``targets``.

    ``declared``, ``losses`` and ``standardize`` are the estimator's
    ``tasks``, ``losses`` and ``standardize_targets``. Warns about rows
    without any label.
    """
    tasks = resolve_tasks(targets, declared, losses)
    for i, (name, task) in enumerate(tasks.items()):
        task.fit(labelled_values(targets.columns[i], targets.missing(i), name), standardize)
    y, mask = encode_targets(targets, tasks)
    unlabelled = ~mask.any(axis=1)
    if unlabelled.any():
        warnings.warn(
            f"{int(unlabelled.sum())} rows have every label missing and do not "
            "contribute to training; drop them from X and the targets.",
            UserWarning,
            stacklevel=3,
        )
    return EncodedTargets(tasks, column_slices(tasks), y, mask)


@dataclass
class LabelledRows:
    """The rows of one task that can be scored.

    Attributes
    ----------
    mask : ndarray of bool of shape (n_samples,)
        The rows labelled for the task (at least one label of a multilabel task).
    y_true : ndarray
        Their labels, checked against the fitted task; for a multilabel task a
        float 0/1 matrix with NaN where a label is missing.
    sample_weight : ndarray or None
        Their sample weights.
    """

    mask: np.ndarray
    y_true: np.ndarray
    sample_weight: np.ndarray = None


def labelled_rows(targets, task, sample_weight=None):
    """The labelled rows of the fitted ``task`` in ``targets``, to score it on.

    Raises a ``ValueError`` when the task has no labelled row, or a label the
    fitted task cannot take (a class never seen in fit, a negative count...).
    """
    name = task.name
    i = targets.names.index(name)
    unlabelled = targets.unlabelled(i)
    if unlabelled.all():
        raise ValueError(
            f"Task '{name}' has no labelled row in these targets, so it cannot be "
            "scored; score it on rows that have its label."
        )
    y_true = labelled_values(targets.columns[i], targets.missing(i), name)
    task.encode(y_true)
    if task.two_dimensional:
        y_true = zero_one(name, y_true)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, unlabelled)[~unlabelled]
    return LabelledRows(~unlabelled, y_true, sample_weight)


def scored_rows(targets, X, sample_weight, fitted, names=None):
    """``(task, LabelledRows)`` of each task of ``targets`` (or of ``names``) to score.

    ``fitted`` maps the task names (checked by the caller) to fitted task
    objects; ``sample_weight`` takes every form ``fit`` takes, per task of
    ``targets``; ``X`` gives the number of rows.
    """
    weights = task_sample_weights(sample_weight, X, targets.names)
    pairs = []
    for j, name in enumerate(targets.names):
        if names is None or name in names:
            column = None if weights is None else weights[:, j]
            pairs.append((fitted[name], labelled_rows(targets, fitted[name], column)))
    return pairs
