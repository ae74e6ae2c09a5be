"""The targets' side: containers read, task types resolved and fitted, rows weighted, folds.

- ``_targets``: :class:`TargetDict` and reading any target container into
  :class:`Targets`; predictions back in the same kind (:func:`wrap_like`);
- ``_resolve``: the registry :data:`TASK_TYPES` and :func:`resolve_tasks`,
  declared or inferred types with their losses;
- ``_base``, ``_classification``, ``_ordinal``, ``_multilabel``,
  ``_regression``: the task types, fitted on their labels like transformers;
- ``_encoding``: the targets as one float32 matrix; the rows a task is scored on;
- ``_weights``: sample and class weights per row and task; ``_folds``: CV folds.
"""

from ._base import ClassificationTask, TaskType
from ._classification import BinaryTask, MulticlassTask
from ._encoding import (
    EncodedTargets,
    column_slices,
    encode_targets,
    fit_targets,
    labelled_rows,
    scored_rows,
)
from ._folds import task_folds
from ._multilabel import MultilabelTask, zero_one
from ._ordinal import OrdinalTask
from ._regression import CountTask, RegressionTask, level_weights
from ._resolve import (
    MANY_CLASSES,
    TASK_TYPES,
    class_probabilities,
    has_classification_task,
    infer_task_type,
    is_many_class_number,
    resolve_tasks,
)
from ._targets import (
    TargetDict,
    Targets,
    check_fitted_tasks,
    check_n_samples,
    distinct_labels,
    labelled_values,
    read_targets,
    wrap_like,
)
from ._weights import class_row_weights, row_weights, task_sample_weights

__all__ = [
    "MANY_CLASSES",
    "TASK_TYPES",
    "BinaryTask",
    "ClassificationTask",
    "CountTask",
    "EncodedTargets",
    "MulticlassTask",
    "MultilabelTask",
    "OrdinalTask",
    "RegressionTask",
    "TargetDict",
    "Targets",
    "TaskType",
    "check_fitted_tasks",
    "check_n_samples",
    "class_probabilities",
    "class_row_weights",
    "column_slices",
    "distinct_labels",
    "encode_targets",
    "fit_targets",
    "has_classification_task",
    "infer_task_type",
    "is_many_class_number",
    "labelled_rows",
    "labelled_values",
    "level_weights",
    "read_targets",
    "resolve_tasks",
    "row_weights",
    "scored_rows",
    "task_folds",
    "task_sample_weights",
    "wrap_like",
    "zero_one",
]
