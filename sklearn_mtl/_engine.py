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

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, EpochTimer, PrintLog

#: Rows per forward pass at prediction and validation time.
INFERENCE_BATCH_SIZE = 8192

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

    def subset(self, index):
        """The rows ``index`` (a 1-D integer tensor) as a new ``TensorData``."""
        index = index.to(self.X.device)
        return TensorData(self.X[index], self.y[index], self.w[index])


def make_dataset(X, y, w, device):
    """Move NumPy arrays to ``device`` once, as a :class:`TensorData`."""
    return TensorData(*(torch.as_tensor(np.ascontiguousarray(a)).to(device) for a in (X, y, w)))


class BatchIterator:
    """Iterate a :class:`TensorData` by whole batches.

    Each epoch draws one permutation (from ``generator`` when shuffling) and
    slices the tensors by it, so every row is visited once per epoch and there
    is no per-item ``__getitem__`` or collate.

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
    """

    def __init__(self, data, batch_size, shuffle, generator=None, shard=None):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.shard = shard

    def __len__(self):
        return -(-len(self.data) // self.batch_size)

    def __iter__(self):
        data, size = self.data, self.batch_size
        n = len(data)
        if not self.shuffle and self.shard is None:
            for start in range(0, n, size):
                yield (
                    data.X[start : start + size],
                    data.y[start : start + size],
                    data.w[start : start + size],
                )
            return
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
        else:
            order = torch.arange(n)
        order = order.to(data.X.device)
        for start in range(0, n, size):
            index = order[start : start + size]
            if self.shard is not None:
                index = self.shard(index)
            yield data.X[index], data.y[index], data.w[index]


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

    def get_iterator(self, dataset, training=False):
        plan = DATA_PARALLEL.get()
        shard = None if plan is None else plan.shard
        if training:
            return BatchIterator(dataset, self.batch_size, True, self.generator_, shard)
        size = max(self.batch_size, INFERENCE_BATCH_SIZE)
        return BatchIterator(dataset, size, False, None, shard)

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        X, y, w = batch
        self.weighting.on_step_end(lambda: self.criterion_(self.module_(X), y, w)[0].detach())
        return step

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        X, y, w = batch
        if self.weighting.level == "gradient" and self.module_.body_is_shared:
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
        self._set_training(False)
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
        ``torch.inference_mode()``, for all tasks at once.
        """
        self.module_.eval()
        device = self.device
        chunks = {name: [] for name in self.task_names}
        X = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32))
        with torch.inference_mode():
            for start in range(0, X.shape[0], INFERENCE_BATCH_SIZE):
                outputs = self.module_(X[start : start + INFERENCE_BATCH_SIZE].to(device))
                for name in self.task_names:
                    chunks[name].append(outputs[name].float().cpu())
        return {name: torch.cat(parts) for name, parts in chunks.items()}


def _silent(*args, **kwargs):
    pass
