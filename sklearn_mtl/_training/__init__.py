"""One fit, from settled parameters to a trained network; nothing here reads the estimator.

- ``_settings``: :func:`settle`, the parameters as a frozen :class:`Settings`
  (every ``"auto"`` decided in one place);
- ``_fit``: :func:`train`, the network built and trained (per task group:
  ``_groups`` checks or chooses them, ``_lookahead`` measures affinity);
- ``_engine``: the private skorch ``NeuralNet``; ``_callbacks``: when to stop,
  how the learning rate moves; ``_progress``: the ``verbose=1`` progress line;
- ``_data``: batches; ``_plan``: data-parallel hooks; ``_threads``: torch's
  CPU thread pool bounded while fitting and predicting.
"""

from ._callbacks import MIN_STEPS, PLATEAU_FACTOR, min_epochs_before_stopping
from ._data import (
    INFERENCE_BATCH_SIZE,
    BatchIterator,
    MappedData,
    RandomSplit,
    TensorData,
    check_validation_split,
    host_tensor,
    inference_batches,
    iter_batches,
    make_dataset,
)
from ._engine import DivergenceError, MultiTaskNet
from ._fit import build_network, train, train_bags, train_groups
from ._groups import affinity_frame, choose_groups
from ._lookahead import LookaheadAffinity
from ._plan import DATA_PARALLEL, ONE_PROCESS, DataParallelPlan, current_plan
from ._progress import announce, report_validation_scores
from ._settings import (
    LARGE_FIT_ROWS,
    STRATEGY_PARAMS,
    Settings,
    auto_batch_size,
    resolve_strategy,
    settle,
)
from ._threads import limit_torch_threads, torch_thread_budget

__all__ = [
    "DATA_PARALLEL",
    "INFERENCE_BATCH_SIZE",
    "LARGE_FIT_ROWS",
    "MIN_STEPS",
    "ONE_PROCESS",
    "PLATEAU_FACTOR",
    "STRATEGY_PARAMS",
    "BatchIterator",
    "LookaheadAffinity",
    "DataParallelPlan",
    "DivergenceError",
    "MappedData",
    "MultiTaskNet",
    "RandomSplit",
    "Settings",
    "TensorData",
    "auto_batch_size",
    "affinity_frame",
    "announce",
    "build_network",
    "choose_groups",
    "check_validation_split",
    "current_plan",
    "host_tensor",
    "inference_batches",
    "iter_batches",
    "limit_torch_threads",
    "make_dataset",
    "min_epochs_before_stopping",
    "report_validation_scores",
    "resolve_strategy",
    "settle",
    "torch_thread_budget",
    "train",
    "train_bags",
    "train_groups",
]
