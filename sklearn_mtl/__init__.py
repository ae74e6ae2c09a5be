"""sklearn_mtl: multi-task learning for scikit-learn users.

One estimator, :class:`MultiTaskEstimator`, learns several supervised tasks
(binary, multiclass, regression) over the same rows with one PyTorch network
trained through skorch.
"""

from ._estimator import MultiTaskEstimator
from ._onnx import onnx_inputs, to_onnx
from ._task_view import for_task
from ._tasks import TargetDict
from ._version import __version__
from .metrics import task_scorer

__all__ = [
    "MultiTaskEstimator",
    "TargetDict",
    "for_task",
    "onnx_inputs",
    "task_scorer",
    "to_onnx",
    "__version__",
]
