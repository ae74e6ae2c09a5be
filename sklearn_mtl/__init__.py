"""sklearn_mtl: multi-task learning for scikit-learn users.

One estimator, :class:`MultiTaskEstimator`, learns several supervised tasks
(binary, multiclass, regression) over the same rows with one PyTorch network
trained through skorch.
"""

from ._estimator import MultiTaskEstimator
from ._onnx import onnx_inputs, to_onnx
from ._targets import TargetDict
from ._task_view import for_task
from .metrics import task_scorer

__version__ = "0.1.0"

__all__ = [
    "MultiTaskEstimator",
    "TargetDict",
    "for_task",
    "onnx_inputs",
    "task_scorer",
    "to_onnx",
    "__version__",
]
