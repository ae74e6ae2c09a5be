"""The training engine: a private skorch ``NeuralNet``.

This module and :mod:`sklearn_mtl._callbacks` are the only ones that import
skorch. The estimator hands it a built
network and a :class:`~sklearn_mtl._data.TensorData`; the engine trains the
network with skorch's loop, callbacks, history, device handling and pickling,
and overrides only the hooks where multi-task training differs:

- ``get_iterator``: whole batches sliced from pre-built tensors, never item by
  item;
- ``train_step_single`` / ``validation_step``: masked per-task losses, combined
  and back-propagated by the weighting strategy;
- ``train_step``: lets the strategy look at the batch after the optimizer step
  (``on_step_end``);
- ``run_single_epoch``: per-task losses accumulated on the device and recorded
  once per epoch (no host sync per batch);
- ``get_all_learnable_params``: adds the strategy's own learnable tensors.

Early stopping and the learning-rate schedule come in through skorch's own
``callbacks=`` (:mod:`sklearn_mtl._callbacks`), the validation split through
``train_split=`` (:class:`~sklearn_mtl._data.RandomSplit`). Data-parallel training
(:mod:`sklearn_mtl.parallel`) plugs in through one object, the
:class:`~sklearn_mtl._plan.DataParallelPlan` of :func:`~sklearn_mtl._plan.current_plan`.
"""

import inspect

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, EpochTimer, PrintLog

from ._data import INFERENCE_BATCH_SIZE, BatchIterator, inference_batches
from ._network import forward_with
from ._plan import _ONE_PROCESS, current_plan
from .weighting import GradientWeighting


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
        Seeds the batch order (the same in every process of a data-parallel
        fit: see :func:`shared_seed`).
    **kwargs
        Passed to ``NeuralNet`` (``optimizer``, ``lr``, ``max_epochs``,
        ``batch_size``, ``train_split``, ``callbacks``, ``device``,
        ``verbose``, ``optimizer__*``).
    """

    # Pickled through skorch's device-mapping path (with module_, optimizer_ and
    # criterion_), so that a net trained on CUDA unpickles on a CPU-only machine.
    # Not the strategy: that path uses the standard pickle, which cannot pickle a
    # strategy class that cloudpickle sends by value (dask, loky); strategies
    # move their tensors to the CPU themselves when pickled.
    cuda_dependent_attributes_ = ["base_weights", "callbacks_", "task_states_"]

    def __init__(self, module, criterion, *, task_names, weighting, base_weights, seed, **kwargs):
        self.task_names = task_names
        self.weighting = weighting
        self.base_weights = base_weights
        self.seed = seed
        super().__init__(module, criterion, **kwargs)

    def get_default_callbacks(self):
        return [("epoch_timer", EpochTimer()), ("print_log", PrintLog())]

    def initialize(self):
        """Reset the strategy and the batch order, then build skorch's parts."""
        self.plan_ = current_plan()
        self.weighting.initialize(self.task_names, self.base_weights, self.device)
        self.generator_ = torch.Generator().manual_seed(self.seed)
        return super().initialize()

    def initialize_module(self):
        super().initialize_module()
        self.module_ = self.plan_.wrap_module(self.module_, self.weighting)
        return self

    def initialize_criterion(self):
        super().initialize_criterion()
        self.criterion_ = self.plan_.wrap_criterion(self.criterion_)
        return self

    def fit(self, X, y=None, **fit_params):
        try:
            return super().fit(X, y, **fit_params)
        finally:
            # A fitted net holds no process group, so that it pickles.
            for name in ("module_", "criterion_"):
                if hasattr(self, name):
                    setattr(self, name, self.plan_.unwrap(getattr(self, name)))
            self.plan_ = _ONE_PROCESS

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
        shard = self.plan_.shard
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
            representation = self.module_.represent(X)
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
        self.plan_.all_reduce(loss_sums, weight_sums, task_weights)
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
                    f"{value} at epoch {len(history)}. Lower lr, or check that task's "
                    "targets (and standardize_targets=True for a regression)."
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

    def best_epochs(self):
        """Task -> its best validation epoch (1-based), or None without early stopping."""
        callback = dict(getattr(self, "callbacks_", [])).get("early_stopping")
        if isinstance(callback, EarlyStopping):
            return dict.fromkeys(self.task_names, callback.best_epoch_)
        return getattr(self, "best_epochs_", None)

    def predict_outputs(self, X, tasks=None):
        """Raw network outputs for validated ``X`` (an array or memory map), task -> CPU tensor.

        One forward pass per batch of ``INFERENCE_BATCH_SIZE`` rows under
        ``torch.inference_mode()``, for all ``tasks`` (default: every task) at
        once; the outputs stay on the device until the last batch, then move
        to the host once per task. After per-task early stopping, tasks that
        share a best epoch share a forward pass with that epoch's parameters.
        """
        tasks = self.task_names if tasks is None else list(tasks)
        self._set_training(False)
        outputs = {}
        with torch.inference_mode():
            for state, names in self.task_states(tasks):
                forward = self.module_ if state is None else forward_with(self.module_, state)
                chunks = [forward(batch) for batch in inference_batches(X, self.device)]
                for name in names:
                    outputs[name] = torch.cat([out[name] for out in chunks]).float().cpu()
        check_finite_outputs(outputs)
        return {name: outputs[name] for name in tasks}

    def task_states(self, tasks=None):
        """``(state, task names)`` pairs: which tasks predict with which network state.

        ``state`` is None for the network's own parameters, else a
        :func:`~sklearn_mtl._network.snapshot` kept by per-task early stopping
        for the tasks whose best epoch it is. ``tasks`` defaults to every task.
        """
        tasks = self.task_names if tasks is None else list(tasks)
        states = getattr(self, "task_states_", {})
        best = getattr(self, "best_epochs_", None) or {}
        groups = {}
        for name in tasks:
            epoch = best.get(name)
            groups.setdefault(epoch if epoch in states else None, []).append(name)
        return [(states.get(epoch), names) for epoch, names in groups.items()]


def check_finite_outputs(outputs):
    """Raise, naming the task and rows, if a network output is NaN or infinite."""
    for name, output in outputs.items():
        finite = torch.isfinite(output).reshape(len(output), -1).all(dim=1)
        if not finite.all():
            rows = torch.nonzero(~finite).flatten()[:10].tolist()
            raise ValueError(
                f"The network's outputs for task '{name}' are NaN or infinite on rows "
                f"{rows} of X: the network overflows float32 on them (its inputs are "
                "clipped, so its weights have grown too large). Refit with a lower lr "
                "or some weight_decay."
            )


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
