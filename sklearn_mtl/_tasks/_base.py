"""The contract of a task type, and what classification types share.

A task type is a small object made once per fit for each task, holding the
task's loss (and the loss's parameters). It answers everything that differs
between kinds of task: how labels become the numbers the network trains on
(:meth:`TaskType.fit_encoding`, :meth:`TaskType.encode`), how many outputs the
head has and how they are read (:meth:`TaskType.n_outputs`,
:meth:`TaskType.predict`), the per-row loss and the default score.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score

from .._targets import check_finite


@dataclass
class TaskEncoding:
    """How one task's labels map to the numbers the network trains on.

    Attributes
    ----------
    classes : ndarray or None
        Labels of a classification task in code order (sorted, or an ordinal
        task's order), or the label names of a multilabel task.
    mean, scale : float
        Standardisation of a regression task (0 and 1 when switched off); a
        count task divides by ``scale`` (its mean count) and never centres.
    """

    classes: np.ndarray = None
    mean: float = 0.0
    scale: float = 1.0


class TaskType(ABC):
    """Base of the task types: a subclass sets the class attributes and the methods.

    To add a task type, subclass this (or :class:`ClassificationTask`) and add
    one line to :data:`~sklearn_mtl._tasks.TASK_TYPES`.

    Parameters
    ----------
    loss : str, tuple or None
        One of the type's ``losses`` (a subclass may take parameters with it,
        e.g. ``("tweedie", 1.5)``); None means the first, the default.
    """

    name = ""
    is_classifier = False
    #: Name of the default score, as compare_single_task reports it.
    score_name = ""
    #: Loss names this type accepts; the first is the default.
    losses = ()
    #: Whether a task's target is 2-D, one column per label.
    two_dimensional = False
    #: The head's output layer: "linear", or "ordinal" (rank-consistent thresholds).
    output_layer = "linear"
    #: How the raw output relates to what ensemble members average (see
    #: :data:`sklearn_mtl._ensemble.LINKS`): values as they are by default.
    link = "identity"

    def __init__(self, loss=None):
        self.loss_name = self.losses[0] if loss is None else loss

    @classmethod
    def accepts(cls, loss):
        """Whether ``loss``, an entry of the estimator's ``losses``, is one this type takes."""
        return isinstance(loss, str) and loss in cls.losses

    @abstractmethod
    def fit_encoding(self, name, values, standardize):
        """A :class:`TaskEncoding` learned from task ``name``'s labelled ``values``."""

    @abstractmethod
    def encode(self, name, encoding, values):
        """Labelled ``values`` as float32 numbers for the network; raises on bad labels."""

    def width(self, encoding):
        """Number of columns the task takes in the encoded target matrix."""
        return 1

    @abstractmethod
    def n_outputs(self, encoding):
        """Number of network outputs of the task's head."""

    @abstractmethod
    def loss(self, output, target):
        """Loss of the raw ``output`` against the encoded ``target``, per row.

        Shape ``(batch,)``, or ``(batch, width)`` per label for a task wider
        than one column.
        """

    @abstractmethod
    def predict(self, output, encoding):
        """Predictions in the user's terms (labels, values) from a CPU output tensor."""

    @abstractmethod
    def score(self, y_true, y_pred, sample_weight=None):
        """Default score of the task, as used by ``MultiTaskEstimator.score``."""

    def __repr__(self):
        return f"{type(self).__name__}(loss={self.loss_name!r})"


class ClassificationTask(TaskType):
    """A task with one label per row out of a set of classes, coded 0, 1, ...

    Classes are the sorted labels seen in fit; :meth:`predict` returns the
    class of the code :meth:`codes` picks, the most probable one.
    """

    is_classifier = True
    score_name = "accuracy"
    losses = ("cross_entropy",)

    def fit_encoding(self, name, values, standardize):
        try:
            classes = np.unique(values)
        except TypeError as exc:
            raise TypeError(
                f"Task '{name}' mixes label types that cannot be sorted ({exc}); use "
                "labels of one type (all str, or all int)."
            ) from None
        check_two_classes(name, classes)
        return TaskEncoding(classes=classes)

    def encode(self, name, encoding, values):
        classes = encoding.classes
        try:
            codes = np.searchsorted(classes, values)
        except TypeError:
            codes = np.zeros(len(values), dtype=np.intp)
        codes = np.clip(codes, 0, len(classes) - 1)
        check_known(name, classes, values, classes[codes] != values if len(values) else None)
        return codes.astype(np.float32)

    def n_outputs(self, encoding):
        return len(encoding.classes)

    @abstractmethod
    def proba(self, output):
        """Class probabilities, shape ``(batch, n_classes)``, from raw outputs."""

    @abstractmethod
    def codes(self, output):
        """Class codes (indices into ``classes``) predicted from raw outputs."""

    def predict(self, output, encoding):
        return encoding.classes[self.codes(output).numpy()]

    def score(self, y_true, y_pred, sample_weight=None):
        return accuracy_score(y_true, y_pred, sample_weight=sample_weight)


def check_two_classes(name, classes):
    """Raise unless a classification task has at least two ``classes``."""
    if len(classes) < 2:
        raise ValueError(
            f"Task '{name}' has one class {np.asarray(classes).tolist()} among its labelled "
            "rows; a classification task needs at least two. Drop the task or "
            "add rows of another class."
        )


def check_known(name, classes, values, unseen):
    """Raise when some ``values`` (where ``unseen`` is True) are not among ``classes``."""
    if unseen is not None and np.any(unseen):
        classes = np.asarray(classes)
        known = classes[:10].tolist() + (["..."] if len(classes) > 10 else [])
        hint = ""
        if classes.dtype.kind == "f" or len(classes) > 10 and classes.dtype.kind in "iu":
            # A quantity inferred as classes: its new values are all "unseen labels".
            hint = (
                f" If '{name}' is a quantity rather than a set of classes, declare "
                f"tasks={{'{name}': 'regression'}} (or 'count') and fit again."
            )
        raise ValueError(
            f"Task '{name}' has labels {sorted(set(np.asarray(values)[unseen].tolist()))[:10]} "
            f"that were not seen in fit; its {len(classes)} known classes are {known}.{hint}"
        )


def numeric_values(name, values, kind):
    """Labelled ``values`` as finite float64; ``kind`` names the task type in messages."""
    if values.dtype.kind not in "biuf":
        raise ValueError(
            f"Task '{name}' is a {kind} task but its labels are not numeric "
            f"(dtype {values.dtype}, e.g. {values[:3].tolist()}); convert them to "
            "numbers, or declare the task 'binary' or 'multiclass'."
        )
    values = values.astype(np.float64)
    check_finite(name, values, f"{kind} targets")
    return values
