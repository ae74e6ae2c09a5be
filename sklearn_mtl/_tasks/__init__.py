"""Task types: what a task's head outputs, its loss, its predictions and its score.

A task type is a small object, one per task and fit, resolved from ``tasks=``
(or inferred from the target) and ``losses=``. From then on the estimator asks
it for everything that differs between kinds of task. A new task type is one
subclass of :class:`TaskType` and one line in :data:`TASK_TYPES`.
"""

from ._base import ClassificationTask, TaskEncoding, TaskType
from ._classification import BinaryTask, MulticlassTask
from ._multilabel import MultilabelTask, zero_one
from ._ordinal import OrdinalTask
from ._registry import (
    MANY_CLASSES,
    TASK_TYPES,
    class_probabilities,
    has_classification_task,
    infer_task_type,
    is_many_class_number,
    make_tasks,
)
from ._regression import CountTask, RegressionTask

__all__ = [
    "MANY_CLASSES",
    "TASK_TYPES",
    "BinaryTask",
    "ClassificationTask",
    "CountTask",
    "MulticlassTask",
    "MultilabelTask",
    "OrdinalTask",
    "RegressionTask",
    "TaskEncoding",
    "TaskType",
    "class_probabilities",
    "has_classification_task",
    "infer_task_type",
    "is_many_class_number",
    "make_tasks",
    "zero_one",
]
