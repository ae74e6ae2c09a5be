"""Data-parallel training of one estimator over the processes of a ``torchrun`` job.

Every :meth:`MultiTaskEstimator.fit <sklearn_mtl.MultiTaskEstimator.fit>` in a
:func:`data_parallel` block trains one model over all processes with PyTorch's
``DistributedDataParallel``. For hyper-parameter search on a cluster no code of
this module is needed: scikit-learn's search runs under
``joblib.parallel_backend("dask")`` (see the user guide, "Scaling out").
"""

import contextlib
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ._training import DATA_PARALLEL, DataParallelPlan
from .weighting import LossWeighting

__all__ = ["data_parallel"]


@contextlib.contextmanager
def data_parallel(*, backend=None):
    """Train the estimators fitted in this block data-parallel across processes.

    Every process of the job must enter the block and call ``fit`` with the
    same estimator parameters and the same ``X`` and targets (for data larger
    than memory, a memory-mapped ``X``: each process then reads only the rows
    of its shards). Within ``fit``:

    - ``batch_size`` is the *global* batch size: each batch of the
      single-process batch order (the same on every process, seeded by
      process 0's ``random_state``) is split row by row into ``world_size``
      shards, and each process computes its shard's forward and backward;
    - the network is wrapped in :class:`torch.nn.parallel.DistributedDataParallel`,
      which all-reduces the gradients; each process's per-task losses take the
      full batch's values (one all-reduce of ``2 * n_tasks`` floats per step)
      with the gradient of the process's share of them, so that the weighting
      strategy sees the same losses everywhere and every step applies the
      gradient of the full batch: the fit matches single-process training up to
      floating-point summation order;
    - per-epoch losses are averaged over processes, so that every process
      records the same ``history_`` and early stopping stops all of them at
      the same epoch.

    After the block each process holds an ordinary fitted estimator (no
    reference to the process group), ready to predict or pickle.

    Parameters
    ----------
    backend : {"gloo", "nccl"} or None, default=None
        Used only when no process group is initialised yet: the block then
        initialises the default group from the environment variables that
        ``torchrun`` sets (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ...) and
        destroys it at exit. ``None`` picks ``"nccl"`` when CUDA is available,
        else ``"gloo"``. An existing default group is used as it is.

    Yields
    ------
    plan : object
        With ``rank`` and ``world_size`` attributes, e.g. to save the model
        only on rank 0.

    Raises
    ------
    RuntimeError
        If no process group is initialised and the process was not launched
        by ``torchrun`` (no ``RANK`` / ``WORLD_SIZE`` in the environment).

    See Also
    --------
    torch.nn.parallel.DistributedDataParallel : The wrapper used.
    torch.utils.data.distributed.DistributedSampler : The sharding it mirrors.

    Notes
    -----
    On CUDA each process trains on ``cuda:LOCAL_RANK`` (set as the current
    device, so keep ``device="auto"`` or ``"cuda"``). Supported weighting
    strategies are the loss-level ones; the gradients of their own learnable
    tensors are averaged over processes too. Strategies that take per-task
    gradients bypass ``DistributedDataParallel``'s gradient all-reduce and
    raise an error before training.
    The result equals single-process training in expectation, and to
    rounding when ``dropout=0`` (dropout masks differ between processes).

    Launch the script with ``torchrun`` (or ``accelerate launch``, which calls
    it)::

        # one machine, 4 GPUs (or 4 CPU processes without CUDA)
        torchrun --standalone --nproc_per_node=4 train.py

        # two machines with 8 GPUs each; run on both, node_rank 0 and 1
        torchrun --nnodes=2 --nproc_per_node=8 --node_rank=0 \\
            --rdzv_backend=c10d --rdzv_endpoint=host0:29500 train.py

    Every process runs the same script on the same data, sees its shard of
    each batch, and the gradients are all-reduced before every optimizer
    step, so all processes hold the same parameters throughout and finish
    with the same fitted estimator.

    Examples
    --------
    A ``train.py`` run as ``torchrun --standalone --nproc_per_node=2 train.py``:

    >>> import joblib
    >>> import numpy as np
    >>> from sklearn_mtl import MultiTaskEstimator
    >>> from sklearn_mtl.parallel import data_parallel
    >>> def main():  # doctest: +SKIP
    ...     X = np.load("X.npy", mmap_mode="r")
    ...     Y = {"price": np.load("price.npy"), "grade": np.load("grade.npy")}
    ...     est = MultiTaskEstimator(batch_size=1024, random_state=0)
    ...     with data_parallel() as plan:
    ...         est.fit(X, Y)
    ...     if plan.rank == 0:
    ...         joblib.dump(est, "model.joblib")
    """
    created = False
    if not dist.is_initialized():
        if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
            raise RuntimeError(
                "data_parallel() found no torch.distributed process group and no "
                "RANK / WORLD_SIZE in the environment; launch the script with "
                "`torchrun --nproc_per_node=N script.py` or call "
                "torch.distributed.init_process_group() before the block."
            )
        if backend is None:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        created = True
    completed = False
    try:
        plan = _DataParallelPlan()
        token = DATA_PARALLEL.set(plan)
        try:
            yield plan
        finally:
            DATA_PARALLEL.reset(token)
        completed = True
    finally:
        if created:
            if completed:
                # No process may tear gloo's connections down while another is
                # still in its last collective (seen once: SIGABRT at exit).
                dist.barrier()
            dist.destroy_process_group()


class _DataParallelPlan(DataParallelPlan):
    """Data-parallel training over the processes of the default process group."""

    def __init__(self):
        self.rank = dist.get_rank()
        self.world_size = dist.get_world_size()
        self.cuda = dist.get_backend() == "nccl"
        self.hooks_ = []
        if self.cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        # Where collective tensors must live for the backend.
        self.device = torch.device("cuda", torch.cuda.current_device()) if self.cuda else "cpu"

    def broadcast_seed(self, seed):
        value = torch.tensor([seed], dtype=torch.int64, device=self.device)
        dist.broadcast(value, src=0)
        return int(value.item())

    def shard(self, index):
        return index[self.rank :: self.world_size]

    def wrap_module(self, module, weighting):
        if not isinstance(weighting, LossWeighting):
            raise ValueError(
                f"Data-parallel training supports loss-level weighting strategies; "
                f"{type(weighting).__name__} combines per-task gradients, which "
                "DistributedDataParallel does not all-reduce. Train it in one process, "
                "or pick a loss-level strategy."
            )
        device = next(module.parameters()).device
        if self.cuda and device.type != "cuda":
            raise ValueError(
                "The 'nccl' backend cannot train a network on the CPU; keep "
                "device='auto' (or 'cuda') with nccl, or use the 'gloo' backend."
            )
        device_ids = [device.index] if device.type == "cuda" else None
        # The strategy's own learnable tensors (e.g. log-variances) are outside
        # the module: average their gradients as soon as backward produces them.
        self.hooks_ = [
            tensor.register_post_accumulate_grad_hook(self._average_gradient)
            for tensor in weighting.parameters()
        ]
        return DistributedDataParallel(module, device_ids=device_ids)

    def _average_gradient(self, tensor):
        dist.all_reduce(tensor.grad)
        tensor.grad /= self.world_size

    def wrap_criterion(self, criterion):
        return _ShardedLoss(criterion, self.world_size)

    def unwrap(self, obj):
        if isinstance(obj, DistributedDataParallel):
            for hook in self.hooks_:
                hook.remove()
            self.hooks_ = []
            return obj.module
        if isinstance(obj, _ShardedLoss):
            return obj.criterion
        return obj

    def all_reduce(self, *tensors):
        for tensor in tensors:
            dist.all_reduce(tensor)
            tensor /= self.world_size


class _ShardedLoss:
    """Per-task losses of the full batch, with the gradient of this shard's share.

    A shard's loss of task ``t`` is ``S_r / g_r`` (its weighted loss sum over
    its labelled weight). One all-reduce gives the batch's ``S`` and ``G``;
    the returned loss has the value ``S / G`` of the full batch, so every
    process's strategy sees the same losses, and the gradient of
    ``world_size * S_r / G``, which ``DistributedDataParallel`` averages into
    the gradient of ``S / G``. Exact for any strategy that is a function of
    the losses. Also returns ``G``, so that the engine's epoch accounting and
    ``present`` flags are the full batch's.
    """

    def __init__(self, criterion, world_size):
        self.criterion = criterion
        self.world_size = world_size

    def __call__(self, outputs, y, w):
        losses, local = self.criterion(outputs, y, w)
        sums = torch.stack([losses.detach() * local, local])
        dist.all_reduce(sums)
        loss_sums, total = sums
        denominators = torch.where(total > 0, total, torch.ones_like(total))
        shard = self.world_size * local * losses / denominators
        return shard + (loss_sums / denominators - shard).detach(), total
