"""What the training engine asks of the processes it trains in.

:class:`DataParallelPlan` is one process; :func:`sklearn_mtl.parallel.data_parallel`
installs a subclass in :data:`DATA_PARALLEL` for the fits it encloses, and the
engine asks :func:`current_plan` for it.
"""

import contextvars


class DataParallelPlan:
    """What the engine asks of the processes it trains in; this base is one process.

    :func:`sklearn_mtl.parallel.data_parallel` installs a subclass in
    :data:`DATA_PARALLEL` for the fits it encloses. The engine asks the plan to
    agree on the seed (``broadcast_seed``), to wrap the module and the criterion
    for training (``wrap_module``, ``wrap_criterion``, undone by ``unwrap``
    after fit), for this process's share of every batch (``shard``, None for
    all of it) and to average the epoch's loss accumulators over processes
    (``all_reduce``).
    """

    rank = 0
    world_size = 1
    #: Maps a batch's row indices to this process's share; None keeps them all.
    shard = None

    def broadcast_seed(self, seed):
        """The seed every process uses: process 0's."""
        return seed

    def wrap_module(self, module, weighting):
        """The network as trained (``weighting``'s learnable tensors included)."""
        return module

    def wrap_criterion(self, criterion):
        """The loss as trained: per-task losses and weight sums of the whole batch."""
        return criterion

    def unwrap(self, obj):
        """A module or criterion as it was before ``wrap_*``, for the fitted net."""
        return obj

    def all_reduce(self, *tensors):
        """Average ``tensors`` in place over the processes."""


#: Where :func:`sklearn_mtl.parallel.data_parallel` installs its plan for the
#: fits it encloses.
DATA_PARALLEL = contextvars.ContextVar("sklearn_mtl_data_parallel")

ONE_PROCESS = DataParallelPlan()


def current_plan():
    """The :class:`DataParallelPlan` of the fits in this context (one process by default)."""
    return DATA_PARALLEL.get(ONE_PROCESS)


def shared_seed(seed):
    """``seed``, or in data-parallel training process 0's, so that all draw alike."""
    return current_plan().broadcast_seed(seed)
