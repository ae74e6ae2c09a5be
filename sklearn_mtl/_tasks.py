"""Task types: what a task's head outputs, its loss, its predictions and its score.

A task type is a small stateless object. The estimator resolves each task's type
once per fit (declared in ``tasks=`` or inferred from the target) and from then on
asks the type for everything that differs between classification and regression.
"""

from abc import ABC, abstractmethod

import numpy as np
import torch
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.multiclass import type_of_target

#: Numeric targets inferred as multiclass with more classes than this trigger a
#: warning: they are more often quantities than categories.
MANY_CLASSES = 20


class TaskType(ABC):
    """Base of the task types: a subclass sets the class attributes and the methods.

    To add a task type, subclass this (or a classification base that adds
    ``proba``) and add one line to :data:`TASK_TYPES`.

    Parameters
    ----------
    loss : str or None
        One of the type's ``losses``; None means the first (the default).
    """

    name = ""
    is_classifier = False
    #: Loss names this type accepts; the first is the default.
    losses = ()

    def __init__(self, loss=None):
        self.loss_name = self.losses[0] if loss is None else loss

    @abstractmethod
    def n_outputs(self, n_classes):
        """Number of network outputs for a task with ``n_classes`` classes."""

    @abstractmethod
    def loss(self, output, target):
        """Per-row loss of the raw network ``output`` against the encoded ``target``."""

    @abstractmethod
    def decode(self, output):
        """Encoded predictions (class codes, or standardised values) from outputs."""

    @abstractmethod
    def score(self, y_true, y_pred, sample_weight=None):
        """Default score of the task, as used by ``MultiTaskEstimator.score``."""

    def __repr__(self):
        return f"{type(self).__name__}(loss={self.loss_name!r})"


class _ClassificationTask(TaskType):
    is_classifier = True
    score_name = "accuracy"
    losses = ("cross_entropy",)

    def score(self, y_true, y_pred, sample_weight=None):
        return accuracy_score(y_true, y_pred, sample_weight=sample_weight)


class BinaryTask(_ClassificationTask):
    """Two classes; one logit per row and the binary cross-entropy loss."""

    name = "binary"

    def n_outputs(self, n_classes):
        return 1

    def loss(self, output, target):
        return torch.nn.functional.binary_cross_entropy_with_logits(
            output[:, 0], target, reduction="none"
        )

    def decode(self, output):
        return (output[:, 0] > 0).long()

    def proba(self, output):
        p = torch.sigmoid(output[:, 0])
        return torch.stack([1 - p, p], dim=1)


class MulticlassTask(_ClassificationTask):
    """Three or more classes; one logit per class and the cross-entropy loss."""

    name = "multiclass"

    def n_outputs(self, n_classes):
        return n_classes

    def loss(self, output, target):
        return torch.nn.functional.cross_entropy(output, target.long(), reduction="none")

    def decode(self, output):
        return output.argmax(dim=1)

    def proba(self, output):
        return torch.softmax(output, dim=1)


class RegressionTask(TaskType):
    """A real-valued target; one output and a regression loss.

    Losses, on the (by default standardised) target: ``"squared_error"``
    (default), ``"absolute_error"`` (robust to outliers; predicts a median) and
    ``"huber"`` (squared below 1 standard deviation, absolute above).
    """

    name = "regression"
    score_name = "r2"
    losses = ("squared_error", "absolute_error", "huber")

    def n_outputs(self, n_classes):
        return 1

    def loss(self, output, target):
        residual = output[:, 0] - target
        if self.loss_name == "absolute_error":
            return residual.abs()
        if self.loss_name == "huber":
            return torch.nn.functional.huber_loss(output[:, 0], target, reduction="none", delta=1.0)
        return residual**2

    def decode(self, output):
        return output[:, 0]

    def score(self, y_true, y_pred, sample_weight=None):
        return r2_score(y_true, y_pred, sample_weight=sample_weight)


TASK_TYPES = {
    "binary": BinaryTask,
    "multiclass": MulticlassTask,
    "regression": RegressionTask,
}


def make_tasks(task_types, losses=None):
    """The task type object of each task, with its loss.

    Parameters
    ----------
    task_types : dict of str -> str
        Task name -> task type name, in task order.
    losses : dict of str -> str or None
        The estimator's ``losses``: task name -> loss name; tasks not named
        take their type's default loss.

    Returns
    -------
    tasks : dict of str -> task type object
    """
    names = list(task_types)
    losses = dict(losses or {})
    unknown = [key for key in losses if key not in names]
    if unknown:
        raise ValueError(f"losses has keys {unknown} that are not tasks; tasks are {names}.")
    tasks = {}
    for name, type_name in task_types.items():
        task_type, loss = TASK_TYPES[type_name], losses.get(name)
        if loss is not None and loss not in task_type.losses:
            raise ValueError(
                f"losses gives task '{name}' the loss {loss!r}, which a {type_name} task "
                f"does not take; choose one of {list(task_type.losses)}."
            )
        tasks[name] = task_type(loss)
    return tasks


def class_probabilities(outputs, task_types):
    """Class probabilities (float64) of each classification task, task -> array.

    ``outputs`` are the network's raw outputs, task -> tensor; ``task_types``
    task -> type name, as the estimator's ``tasks_``.
    """
    proba = {}
    for name, type_name in task_types.items():
        task = TASK_TYPES[type_name]()
        if task.is_classifier:
            # In float64, so that rows sum to 1 as tightly as sklearn metrics check.
            proba[name] = task.proba(outputs[name].double()).numpy()
    return proba


def infer_task_type(y):
    """Name of the task type of the labelled values ``y`` (no missing entries).

    Follows :func:`sklearn.utils.multiclass.type_of_target`: ``"binary"`` and
    ``"multiclass"`` keep their names, ``"continuous"`` becomes ``"regression"``.
    Returns the raw ``type_of_target`` answer for anything else, which the caller
    turns into an error.
    """
    target_type = type_of_target(y)
    return "regression" if target_type == "continuous" else target_type


def is_many_class_number(y, task_type):
    """Whether a numeric target inferred as multiclass looks like a quantity."""
    return (
        task_type == "multiclass"
        and np.asarray(y).dtype.kind in "iuf"
        and len(np.unique(y)) > MANY_CLASSES
    )
