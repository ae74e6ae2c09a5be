"""The registry of task types, and making each task's type object for a fit."""

import numpy as np
from sklearn.utils.multiclass import type_of_target

from ._classification import BinaryTask, MulticlassTask
from ._multilabel import MultilabelTask
from ._ordinal import OrdinalTask
from ._regression import CountTask, RegressionTask

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


def make_tasks(task_types, losses=None, orders=None):
    """The task type object of each task, with its loss.

    Parameters
    ----------
    task_types : dict of str -> str
        Task name -> task type name, in task order.
    losses : dict of str -> str or None
        The estimator's ``losses``: task name -> loss; tasks not named take
        their type's default loss.
    orders : dict of str -> list, default=None
        Ordinal task -> its classes from lowest to highest (declared, or the
        categories of an ordered pandas Categorical).

    Returns
    -------
    tasks : dict of str -> TaskType
    """
    names = list(task_types)
    losses = dict(losses or {})
    unknown = [key for key in losses if key not in names]
    if unknown:
        raise ValueError(f"losses has keys {unknown} that are not tasks; tasks are {names}.")
    tasks = {}
    for name, type_name in task_types.items():
        task_type, loss = TASK_TYPES[type_name], losses.get(name)
        if loss is not None and not task_type.accepts(loss):
            forms = list(task_type.losses)
            if task_type is CountTask:
                forms.append(("tweedie", 1.5))
            raise ValueError(
                f"losses gives task '{name}' the loss {loss!r}, which a {type_name} task "
                f"does not take; choose one of {forms}."
            )
        order = (orders or {}).get(name)
        tasks[name] = task_type(loss) if order is None else task_type(loss, order=order)
    return tasks


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
