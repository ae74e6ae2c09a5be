"""Multilabel tasks: several yes/no labels per row, given as one 0/1 matrix."""

import numpy as np
import torch

from ._base import TaskType


class MultilabelTask(TaskType):
    """``n_labels`` independent 0/1 labels; one logit and one binary cross-entropy each.

    The target is a 2-D ``(n_samples, n_labels)`` 0/1 (or boolean) matrix; a
    missing cell (NaN, None, pandas NA) masks that label of that row only.
    The task's loss is the mean binary cross-entropy over its labelled cells.
    :meth:`predict` returns the int 0/1 matrix (a label is 1 where its
    probability exceeds 0.5), ``proba`` the probability of each label, and the
    default score is the mean over labels of each label's accuracy on its
    labelled rows (``1 - hamming_loss`` when no cell is missing).

    Parameters
    ----------
    name : str
    loss : str or None
        ``"binary_cross_entropy"``, the only loss.
    labels : array-like or None
        The label names (a DataFrame target's columns); None numbers them.

    Attributes
    ----------
    classes_ : ndarray
        Set by :meth:`fit`: the label names, one per column.
    """

    type_name = "multilabel"
    link = "logit"
    is_classifier = True
    two_dimensional = True
    score_name = "per-label accuracy"
    losses = ("binary_cross_entropy",)

    def __init__(self, name, loss=None, labels=None):
        super().__init__(name, loss)
        self.labels = labels

    def fit(self, values, standardize):
        name = self.name
        values = zero_one(name, values)
        labelled = ~np.isnan(values)
        empty = np.flatnonzero(~labelled.any(axis=0))
        if len(empty):
            raise ValueError(
                f"Task '{name}' has labels (columns) {empty.tolist()} without a labelled "
                "row; drop those columns or label some rows."
            )
        labels = np.arange(values.shape[1]) if self.labels is None else self.labels
        self.classes_ = np.asarray(labels)
        return self

    def encode(self, values):
        if values.shape[1] != len(self.classes_):
            raise ValueError(
                f"Task '{self.name}' has {values.shape[1]} labels (columns) here but "
                f"{len(self.classes_)} in fit; pass the same label columns."
            )
        return np.nan_to_num(zero_one(self.name, values), nan=0.0).astype(np.float32)

    @property
    def width(self):
        return len(self.classes_)

    @property
    def n_outputs(self):
        return len(self.classes_)

    def loss(self, output, target):
        return torch.nn.functional.binary_cross_entropy_with_logits(
            output, target, reduction="none"
        )

    def proba(self, output):
        return torch.sigmoid(output)

    def predict(self, output):
        return (output > 0).numpy().astype(np.int64)

    def score(self, y_true, y_pred, sample_weight=None):
        labelled = ~np.isnan(y_true)
        weight = np.ones(len(y_true)) if sample_weight is None else np.asarray(sample_weight)
        per_label = []
        for j in range(y_true.shape[1]):
            rows = labelled[:, j]
            if weight[rows].sum() > 0:
                correct = y_true[rows, j] == y_pred[rows, j]
                per_label.append(np.average(correct, weights=weight[rows]))
        return float(np.mean(per_label))


def zero_one(name, values):
    """The labelled rows of a multilabel target as float64, NaN where a cell is missing.

    Raises unless every labelled cell is 0 or 1 (``False``/``True`` count).
    """
    try:
        values = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if values is None or not np.isin(values[~np.isnan(values)], (0, 1)).all():
        raise ValueError(
            f"Task '{name}' is a multilabel task, whose target is a 0/1 matrix (one "
            "column per label, NaN where a label is missing), but it holds other "
            "values; encode each label as 0/1, or give each output its own task."
        )
    return values
