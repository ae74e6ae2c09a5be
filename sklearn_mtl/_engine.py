"""The training engine: a private skorch ``NeuralNet`` and a fast batch iterator.

This is the only module that imports skorch. The estimator hands it encoded
tensors; the engine trains the network with skorch's loop, callbacks, history,
device handling and pickling, and overrides only the hooks where multi-task
training differs:

- ``get_iterator``: whole batches sliced from pre-built tensors, never item by
  item;
- ``train_step_single`` / ``validation_step``: masked per-task losses, combined
  and back-propagated by the weighting strategy;
- ``train_step``: lets the strategy look at the batch after the optimizer step
  (``on_step_end``);
- ``run_single_epoch``: per-task losses accumulated on the device and recorded
  once per epoch (no host sync per batch);
- ``get_all_learnable_params``: adds the strategy's own learnable tensors.

Data-parallel training (:mod:`sklearn_mtl.parallel`) plugs in through one
hook, :data:`DATA_PARALLEL`; without it every code path is single-process.
"""

import contextvars
import inspect

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, EpochTimer, PrintLog

from .weighting import GradientWeighting

#: Rows per forward pass at prediction and validation time.
INFERENCE_BATCH_SIZE = 8192

#: Training data moves to a CUDA device once per fit when it takes at most this
#: share of the device's free memory; otherwise it stays on the host and each
#: batch is copied through pinned memory.
DEVICE_MEMORY_FRACTION = 0.5

#: Data-parallel hook: ``None`` (one process) or the plan that
#: :func:`sklearn_mtl.parallel.data_parallel` installs for the fits it encloses.
#: The engine asks the plan to agree on the seed (``broadcast_seed``), to wrap
#: the module and the criterion for training (``wrap_module``,
#: ``wrap_criterion``, undone by ``unwrap`` after fit), to keep this process's
#: share of every batch (``shard``) and to average the epoch's loss
#: accumulators over processes (``all_reduce``).
DATA_PARALLEL = contextvars.ContextVar("sklearn_mtl_data_parallel", default=None)


class TensorData(torch.utils.data.Dataset):
    """Features, encoded targets and row weights as tensors on one device.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_features)
    y : torch.Tensor of shape (n_samples, n_tasks)
        Encoded targets, 0 where missing.
    w : torch.Tensor of shape (n_samples, n_tasks)
        Row weight per task, 0 where the label is missing.
    """

    def __init__(self, X, y, w):
        self.X, self.y, self.w = X, y, w

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, index):
        return self.X[index], self.y[index], self.w[index]

    @property
    def tensors(self):
        return self.X, self.y, self.w

    def subset(self, index):
        """The rows ``index`` (a 1-D integer tensor) as a new ``TensorData``."""
        index = index.to(self.X.device)
        return TensorData(*(t.index_select(0, index) for t in self.tensors))


def make_dataset(X, y, w, device):
    """NumPy arrays as a :class:`TensorData` on ``device`` when they fit there.

    On the CPU the tensors share the arrays' memory. On CUDA they are copied to
    the device once, unless they would take more than
    ``DEVICE_MEMORY_FRACTION`` of its free memory: they then stay on the host
    and :class:`BatchIterator` moves one batch at a time.
    """
    tensors = [torch.as_tensor(np.ascontiguousarray(a)) for a in (X, y, w)]
    device = torch.device(device)
    if device.type == "cuda":
        nbytes = sum(t.numel() * t.element_size() for t in tensors)
        free, _ = torch.cuda.mem_get_info(device)
        if nbytes > DEVICE_MEMORY_FRACTION * free:
            return TensorData(*tensors)
    return TensorData(*(t.to(device) for t in tensors))


def iter_batches(tensors, batch_size, device, order=None, shard=None):
    """Yield tuples of row slices of ``tensors``, on ``device``.

    Rows come in ``order`` (a permutation on the tensors' device), else in
    their stored order, ``batch_size`` at a time; ``shard`` (with ``order``)
    maps each batch's row indices to this process's share of them. Tensors already on
    ``device`` are sliced (a view) or gathered there; host tensors bound for
    a CUDA device are gathered into pinned memory and copied asynchronously,
    so the host never waits for the device.
    """
    device = torch.device(device)
    n = tensors[0].shape[0]
    transfer = device.type == "cuda" and tensors[0].device.type == "cpu"
    for start in range(0, n, batch_size):
        if order is None:
            batch = [t[start : start + batch_size] for t in tensors]
            if transfer:
                batch = [_pinned_copy(b) for b in batch]
        else:
            index = order[start : start + batch_size]
            if shard is not None:
                index = shard(index)
            if transfer:
                batch = [_pinned_copy(t, index) for t in tensors]
            else:
                batch = [t.index_select(0, index) for t in tensors]
        if transfer:
            batch = [b.to(device, non_blocking=True) for b in batch]
        yield tuple(batch)


def _pinned_copy(tensor, index=None):
    """Rows of a host tensor (all, or ``index``) in page-locked memory."""
    rows = tensor.shape[0] if index is None else index.shape[0]
    out = torch.empty((rows, *tensor.shape[1:]), dtype=tensor.dtype, pin_memory=True)
    if index is None:
        return out.copy_(tensor)
    return torch.index_select(tensor, 0, index, out=out)


class BatchIterator:
    """Iterate a :class:`TensorData` by whole batches.

    Each epoch draws one permutation (from ``generator`` when shuffling) and
    gathers the rows of each batch from the tensors at once, so every row is
    visited once per epoch and there is no per-item ``__getitem__`` or collate.

    Parameters
    ----------
    data : TensorData
    batch_size : int
    shuffle : bool
    generator : torch.Generator or None
        CPU generator for the permutation; seeded by the engine.
    shard : callable or None
        Data-parallel training: maps a batch's row indices to this process's
        share of them.
    device : str or torch.device or None
        Where batches are delivered; None means where ``data`` lives.
    """

    def __init__(self, data, batch_size, shuffle, generator=None, shard=None, device=None):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.shard = shard
        self.device = device

    def __len__(self):
        return -(-len(self.data) // self.batch_size)

    def __iter__(self):
        data = self.data
        device = data.X.device if self.device is None else self.device
        order = None
        if self.shuffle:
            order = torch.randperm(len(data), generator=self.generator)
        elif self.shard is not None:
            order = torch.arange(len(data))
        if order is not None:
            order = order.to(data.X.device)
        return iter_batches(data.tensors, self.batch_size, device, order, self.shard)


class RandomSplit:
    """Hold out a random fraction of rows for validation (``train_split``).

    Rows are split as a whole, so a row keeps all its labels, missing or not,
    on one side.

    Parameters
    ----------
    fraction : float
        Share of rows held out.
    seed : int
        Seed of the split.
    """

    def __init__(self, fraction, seed):
        self.fraction = fraction
        self.seed = seed

    def __call__(self, dataset, y=None, **fit_params):
        n = len(dataset)
        n_valid = max(1, int(round(self.fraction * n)))
        if n_valid >= n:
            raise ValueError(
                f"validation_fraction={self.fraction} leaves no training row out of "
                f"{n}; lower it or switch early_stopping off."
            )
        order = torch.from_numpy(np.random.RandomState(self.seed).permutation(n))
        valid, train = order[:n_valid].sort().values, order[n_valid:].sort().values
        return dataset.subset(train), dataset.subset(valid)


class DivergenceError(ValueError):
    """A task's training loss became NaN or infinite."""


class MultiTaskNet(NeuralNet):
    """skorch ``NeuralNet`` training a :class:`~sklearn_mtl._network.MultiTaskNetwork`.

    Private: built and fitted by ``MultiTaskEstimator.fit`` and stored as
    ``net_``. ``module`` is a built network, ``criterion`` a
    :class:`~sklearn_mtl._network.MultiTaskLoss`.

    Parameters
    ----------
    module, criterion : torch.nn.Module
    task_names : list of str
    weighting : BaseWeighting
        The resolved strategy (``weighting_``), initialised by this net.
    base_weights : torch.Tensor of shape (n_tasks,)
        The static task weights.
    seed : int
        Seeds the batch order.
    early_stopping : bool
    validation_fraction : float
    n_iter_no_change : int
    tol : float
    **kwargs
        Passed to ``NeuralNet`` (``optimizer``, ``lr``, ``max_epochs``,
        ``batch_size``, ``device``, ``verbose``, ``optimizer__*``).
    """

    # Pickled through skorch's device-mapping path (with module_, optimizer_ and
    # criterion_), so that a net trained on CUDA unpickles on a CPU-only machine.
    # Not the strategy: that path uses the standard pickle, which cannot pickle a
    # strategy class that cloudpickle sends by value (dask, loky); strategies
    # move their tensors to the CPU themselves when pickled.
    cuda_dependent_attributes_ = ["base_weights", "callbacks_"]

    def __init__(
        self,
        module,
        criterion,
        *,
        task_names,
        weighting,
        base_weights,
        seed,
        early_stopping,
        validation_fraction,
        n_iter_no_change,
        tol,
        **kwargs,
    ):
        plan = DATA_PARALLEL.get()
        if plan is not None:
            # Every process must draw the same batches and validation split.
            seed = plan.broadcast_seed(seed)
        self.task_names = task_names
        self.weighting = weighting
        self.base_weights = base_weights
        self.seed = seed
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        train_split = RandomSplit(validation_fraction, seed) if early_stopping else None
        super().__init__(module, criterion, train_split=train_split, **kwargs)

    def get_default_callbacks(self):
        callbacks = [("epoch_timer", EpochTimer())]
        if self.early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=self.n_iter_no_change,
                        threshold=self.tol,
                        threshold_mode="abs",
                        load_best=True,
                        sink=print if self.verbose else _silent,
                    ),
                )
            )
        callbacks.append(("print_log", PrintLog()))
        return callbacks

    def initialize_module(self):
        super().initialize_module()
        self.weighting.initialize(self.task_names, self.base_weights, self.device)
        self.generator_ = torch.Generator().manual_seed(self.seed)
        plan = DATA_PARALLEL.get()
        if plan is not None:
            self.module_ = plan.wrap_module(self.module_, self.weighting)
        return self

    def initialize_criterion(self):
        super().initialize_criterion()
        plan = DATA_PARALLEL.get()
        if plan is not None:
            self.criterion_ = plan.wrap_criterion(self.criterion_)
        return self

    def fit(self, X, y=None, **fit_params):
        try:
            return super().fit(X, y, **fit_params)
        finally:
            plan = DATA_PARALLEL.get()
            if plan is not None:
                # A fitted net holds no process group, so that it pickles.
                for name in ("module_", "criterion_"):
                    if hasattr(self, name):
                        setattr(self, name, plan.unwrap(getattr(self, name)))

    def get_all_learnable_params(self):
        yield from super().get_all_learnable_params()
        for i, parameter in enumerate(self.weighting.parameters()):
            yield f"weighting.{i}", parameter

    def initialize_optimizer(self, triggered_directly=None):
        named_parameters = self.get_all_learnable_params()
        args, kwargs = self.get_params_for_optimizer("optimizer", named_parameters)
        self.optimizer_ = make_fast_optimizer(self.optimizer, args, kwargs)
        return self

    def get_iterator(self, dataset, training=False):
        plan = DATA_PARALLEL.get()
        shard = None if plan is None else plan.shard
        if training:
            return BatchIterator(
                dataset, self.batch_size, True, self.generator_, shard, self.device
            )
        size = max(self.batch_size, INFERENCE_BATCH_SIZE)
        return BatchIterator(dataset, size, False, None, shard, self.device)

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        X, y, w = batch
        self.weighting.on_step_end(lambda: self.criterion_(self.module_(X), y, w)[0].detach())
        return step

    def train_step_single(self, batch, **fit_params):
        X, y, w = batch
        if isinstance(self.weighting, GradientWeighting) and self.module_.body_is_shared:
            representation = self.module_.body(X)
            outputs = self.module_.forward_heads(representation)
        else:
            representation = None
            outputs = self.module_(X)
        losses, weight_sums = self.criterion_(outputs, y, w)
        weights = self.weighting.backward(
            losses,
            present=weight_sums > 0,
            network=self.module_,
            representation=representation,
        )
        losses = losses.detach()
        return {
            "loss": (weights * losses).sum(),
            "y_pred": outputs,
            "task_losses": losses,
            "weight_sums": weight_sums,
            "weights": weights,
        }

    def validation_step(self, batch, **fit_params):
        X, y, w = batch
        with torch.inference_mode():
            outputs = self.module_(X)
            losses, weight_sums = self.criterion_(outputs, y, w)
        return {
            "loss": (self.base_weights * losses).sum(),
            "y_pred": outputs,
            "task_losses": losses,
            "weight_sums": weight_sums,
        }

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        n_tasks = len(self.task_names)
        device = self.base_weights.device
        loss_sums = torch.zeros(n_tasks, device=device)
        weight_sums = torch.zeros(n_tasks, device=device)
        task_weights = torch.zeros(n_tasks, device=device)
        batch_count = 0
        # Once per epoch rather than per batch: it walks every submodule.
        self._set_training(training)
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            loss_sums += step["task_losses"] * step["weight_sums"]
            weight_sums += step["weight_sums"]
            if training:
                task_weights += step["weights"]
            self.notify("on_batch_end", batch=batch, training=training, **step)
            batch_count += 1
        plan = DATA_PARALLEL.get()
        if plan is not None:
            plan.all_reduce(loss_sums, weight_sums, task_weights)
        # One host transfer per epoch: the per-task means over labelled rows.
        counted = torch.where(weight_sums > 0, weight_sums, torch.ones_like(weight_sums))
        task_losses = (loss_sums / counted).cpu()
        labelled = (weight_sums > 0).cpu()
        history = self.history
        history.record(prefix + "_batch_count", batch_count)
        for j, name in enumerate(self.task_names):
            value = float(task_losses[j]) if labelled[j] else float("nan")
            if labelled[j] and not np.isfinite(value):
                raise DivergenceError(
                    f"Training diverged: the {prefix} loss of task '{name}' became "
                    f"{value} at epoch {len(history)}. Lower lr, scale the features "
                    "(e.g. StandardScaler), or check that task's targets."
                )
            history.record(f"{prefix}_loss_{name}", value)
        if training:
            weights = (task_weights / max(batch_count, 1)).cpu()
            for j, name in enumerate(self.task_names):
                history.record(f"weight_{name}", float(weights[j]))
            history.record("train_loss", float((weights * task_losses).nansum()))
            self.weighting.on_epoch_end(task_losses.to(device))
        else:
            base = self.base_weights.cpu()
            history.record("valid_loss", float((base * task_losses)[labelled].sum()))

    def predict_outputs(self, X):
        """Raw network outputs for NumPy ``X``, task -> CPU tensor.

        One forward pass per batch of ``INFERENCE_BATCH_SIZE`` rows under
        ``torch.inference_mode()``, for all tasks at once; the outputs stay on
        the device until the last batch, then move to the host once per task.
        """
        self._set_training(False)
        X = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32))
        with torch.inference_mode():
            outputs = [
                self.module_(batch)
                for (batch,) in iter_batches((X,), INFERENCE_BATCH_SIZE, self.device)
            ]
            return {
                name: torch.cat([out[name] for out in outputs]).float().cpu()
                for name in self.task_names
            }


def make_fast_optimizer(optimizer, args, kwargs):
    """``optimizer(*args, **kwargs)`` with its fused, else foreach, implementation.

    Adam's fused kernel updates every parameter in one call on CPU and CUDA
    (torch >= 2.4 on CPU); where torch cannot fuse, the foreach implementation
    still batches the update over parameters. An explicit ``fused`` or
    ``foreach`` in ``kwargs`` is left alone.
    """
    accepted = inspect.signature(optimizer).parameters
    if "fused" in kwargs or "foreach" in kwargs:
        return optimizer(*args, **kwargs)
    if "fused" in accepted:
        try:
            return optimizer(*args, fused=True, **kwargs)
        except (RuntimeError, ValueError):
            pass  # this device or torch version has no fused kernel
    if "foreach" in accepted:
        return optimizer(*args, foreach=True, **kwargs)
    return optimizer(*args, **kwargs)


def _silent(*args, **kwargs):
    pass
