"""The contract of a task type, and what classification types share.

A task is fitted on its labels like a scikit-learn transformer (``classes_``,
``mean_``, ``scale_``), then encodes labels, reads network outputs back and
scores, without being told again which task it is.
"""

from abc import ABC, abstractmethod

import numpy as np
from sklearn.metrics import accuracy_score

from ._targets import check_finite, distinct_labels


class TaskType(ABC):
    """Base of the task types: one instance per task and fit.

    To add a task type, subclass this (or :class:`ClassificationTask`) and add
    one line to :data:`~sklearn_mtl._tasks.TASK_TYPES`.

    Parameters
    ----------
    name : str
        The task's name, used in messages.
    loss : str, tuple or None
        One of the type's ``losses`` (a subclass may take parameters with it,
        e.g. ``("tweedie", 1.5)``); None means the first, the default.
    """

    type_name = ""
    is_classifier = False
    #: Name of the default score, as compare_single_task reports it.
    score_name = ""
    #: Loss names this type accepts; the first is the default.
    losses = ()
    #: Whether a task's target is 2-D, one column per label.
    two_dimensional = False
    #: The head's output layer: "linear", "ordinal" (rank-consistent thresholds)
    #: or "quantile" (non-crossing quantiles).
    output_layer = "linear"
    #: How the raw output relates to what ensemble members average (see
    #: :data:`sklearn_mtl._nn.LINKS`): values as they are by default.
    link = "identity"
    #: The increasing levels of a quantile head's outputs; None for one value per row.
    quantiles = None

    def __init__(self, name, loss=None):
        self.name = name
        self.loss_name = self.losses[0] if loss is None else loss

    @classmethod
    def accepts(cls, loss):
        """Whether ``loss``, an entry of the estimator's ``losses``, is one this type takes."""
        return isinstance(loss, str) and loss in cls.losses

    @classmethod
    def loss_forms(cls):
        """The losses this type takes, as a message lists them (a form of each)."""
        return list(cls.losses)

    @abstractmethod
    def fit(self, values, standardize):
        """Learn the encoding from the task's labelled ``values``; return self."""

    @abstractmethod
    def encode(self, values):
        """Labelled ``values`` as float32 numbers for the network; raises on bad labels."""

    @property
    def width(self):
        """Number of columns the task takes in the encoded target matrix."""
        return 1

    @property
    @abstractmethod
    def n_outputs(self):
        """Number of network outputs of the task's head."""

    @abstractmethod
    def loss(self, output, target):
        """Loss of the raw ``output`` against the encoded ``target``, per row.

        Shape ``(batch,)``, or ``(batch, width)`` per label for a task wider
        than one column.
        """

    def mean_loss(self, output, target):
        """:meth:`loss` averaged over every row (and label): a fully labelled batch's loss."""
        return self.loss(output, target).mean()

    @abstractmethod
    def predict(self, output):
        """Predictions in the user's terms (labels, values) from a CPU output tensor."""

    @abstractmethod
    def score(self, y_true, y_pred, sample_weight=None):
        """Default score of the task, as used by ``MultiTaskEstimator.score``."""

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r}, loss={self.loss_name!r})"


class ClassificationTask(TaskType):
    """A task with one label per row out of a set of classes, coded 0, 1, ...

    Classes are the sorted labels seen in fit; :meth:`predict` returns the
    class of the code :meth:`codes` picks, the most probable one.

    Attributes
    ----------
    classes_ : ndarray
        Set by :meth:`fit`: the labels in code order (sorted, or an ordinal
        task's order), or the label names of a multilabel task.
    """

    is_classifier = True
    score_name = "accuracy"
    losses = ("cross_entropy",)

    def fit(self, values, standardize):
        try:
            classes = distinct_labels(values)
        except TypeError as exc:
            raise TypeError(
                f"Task '{self.name}' mixes label types that cannot be sorted ({exc}); use "
                "labels of one type (all str, or all int)."
            ) from None
        check_two_classes(self.name, classes)
        self.classes_ = classes
        return self

    def encode(self, values):
        classes = self.classes_
        if _consecutive_ints(classes) and values.dtype.kind in "iu" and len(values):
            # Labels 0..k-1 (or any run of integers): the code is an offset, and a
            # label outside the run is the only unknown one.
            low, high = classes[0], classes[-1]
            if low <= values.min() and values.max() <= high:
                return (values - low).astype(np.float32)
        try:
            codes = np.searchsorted(classes, values)
        except TypeError:
            codes = np.zeros(len(values), dtype=np.intp)
        codes = np.clip(codes, 0, len(classes) - 1)
        check_known(self.name, classes, values, classes[codes] != values if len(values) else None)
        return codes.astype(np.float32)

    @property
    def n_outputs(self):
        return len(self.classes_)

    @abstractmethod
    def proba(self, output):
        """Class probabilities, shape ``(batch, n_classes)``, from raw outputs."""

    @abstractmethod
    def codes(self, output):
        """Class codes (indices into ``classes_``) predicted from raw outputs."""

    def predict(self, output):
        return self.classes_[self.codes(output).numpy()]

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


def _consecutive_ints(classes):
    """Whether ``classes`` (sorted, distinct) are integers ``low, low + 1, ..., high``."""
    return (
        classes.dtype.kind in "iu"
        and len(classes) > 0
        and int(classes[-1]) - int(classes[0]) == len(classes) - 1
    )
