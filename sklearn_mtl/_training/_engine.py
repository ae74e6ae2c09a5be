"""The training engine: a private skorch ``NeuralNet``, the package's one skorch subclass.

It overrides only the hooks where multi-task training differs: the rows
prepared once per fit (``partial_fit``), whole-batch iteration
(``get_iterator``), masked per-task losses combined by the weighting strategy
(``train_step_single``, ``validation_step``; on a fully labelled batch the
static strategy's sum is added term by term, ``_summed_step``), per-task
losses recorded once per epoch (``run_single_epoch``), and the strategy's
learnable tensors (``get_all_learnable_params``).
"""

import inspect

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PrintLog

from .._nn import MultiTaskLoss
from ..weighting import BaseWeighting, GradientWeighting, StaticWeighting
from ._data import BatchIterator, inference_batch_size, prepared_data
from ._plan import ONE_PROCESS, current_plan
from ._progress import ProgressLine


class DivergenceError(ValueError):
    """A task's training loss became NaN or infinite."""


class MultiTaskNet(NeuralNet):
    """skorch ``NeuralNet`` training a :class:`~sklearn_mtl._nn.MultiTaskNetwork`.

    Private: built and fitted by ``MultiTaskEstimator.fit`` and stored as
    ``net_``. ``module`` is a built network, ``criterion`` a
    :class:`~sklearn_mtl._nn.MultiTaskLoss`.

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
        # Without the table, PrintLog would still format it every epoch.
        table = [("print_log", PrintLog())] if self.verbose else []
        return [("epoch_timer", EpochTimer()), *table]

    def initialize(self):
        """Reset the strategy and the batch order, then build skorch's parts."""
        self.plan_ = current_plan()
        self.weighting.initialize(self.task_names, self.base_weights, self.device)
        self.generator_ = torch.Generator().manual_seed(self.seed)
        self.step_end_hook_ = _overrides(self.weighting, BaseWeighting, "on_step_end")
        self.inference_rows_ = None
        super().initialize()
        # Gradient strategies on a shared body read its representation.
        gradients = isinstance(self.weighting, GradientWeighting)
        self.represent_first_ = gradients and self.module_.body_is_shared
        # The default strategy adds the task losses itself (see _summed_step);
        # a data-parallel fit's loss is wrapped and takes the general step.
        self.summed_step_ = type(self.weighting) is StaticWeighting and isinstance(
            self.criterion_, MultiTaskLoss
        )
        return self

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
            super().fit(X, y, **fit_params)
            self.inference_rows(X.X.shape[1])
            return self
        except BaseException:
            # skorch ends its callbacks only when training runs its course (or
            # on Ctrl-C); an error must still end the progress line.
            for _, callback in getattr(self, "callbacks_", []):
                if isinstance(callback, ProgressLine):
                    callback.close()
            raise
        finally:
            # A fitted net holds no process group, so that it pickles.
            for name in ("module_", "criterion_"):
                if hasattr(self, name):
                    setattr(self, name, self.plan_.unwrap(getattr(self, name)))
            self.plan_ = ONE_PROCESS

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        # Here, not in fit: the network is built and on its device.
        if not self.initialized_:
            self.initialize()
        with prepared_data(X, self.plan_.unwrap(self.module_)) as data:
            return super().partial_fit(data, y, classes, **fit_params)

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
        size = self.inference_rows(dataset.X.shape[1])
        return BatchIterator(dataset, size, False, None, shard, self.device)

    def inference_rows(self, n_features):
        """Rows per forward pass at inference (:func:`inference_batch_size`), once per fit."""
        if getattr(self, "inference_rows_", None) is None:
            network = self.plan_.unwrap(self.module_)
            self.inference_rows_ = inference_batch_size(network, n_features, self.device)
        return self.inference_rows_

    def train_step(self, batch, **fit_params):
        # Without skorch's closure and step accumulator (AdamW never re-evaluates
        # the loss) and its loop over named optimizers: the net has one.
        self.optimizer_.zero_grad()
        step = self.train_step_single(batch, **fit_params)
        self.optimizer_.step()
        if self.step_end_hook_:
            X, y, w = batch
            self.weighting.on_step_end(lambda: self.criterion_(self.module_(X), y, w)[0].detach())
        return step

    def train_step_single(self, batch, **fit_params):
        X, y, w = batch
        if w is None and self.summed_step_:
            return self._summed_step(X, y)
        if self.represent_first_:
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
        return {
            "y_pred": outputs,
            "task_losses": losses.detach(),
            "weight_sums": weight_sums,
            "weights": weights,
        }

    def _summed_step(self, X, y):
        """The static strategy's step on a batch whose entries are all labelled, of weight 1.

        The general step's loss and gradients, with the weighted sum of the
        task losses added term by term: a stack and a sum in the backward pass
        cost about 3 % of a small network's step.
        """
        outputs = self.module_(X)
        losses = self.criterion_.task_means(outputs, y)
        self.weighting.weighted_sum(losses).backward()
        return {
            "y_pred": outputs,
            "task_losses": torch.stack(losses).detach(),
            "weight_sums": self.criterion_.counts(y),
            "weights": self.weighting.weights_,
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
        device = self.base_weights.device
        # Each step's tensors are kept and summed once per epoch: no work per step.
        steps = {"task_losses": [], "weight_sums": [], "weights": []}
        # Once per epoch rather than per batch: it walks every submodule.
        self._set_training(training)
        begin, end = self._batch_hooks("on_batch_begin"), self._batch_hooks("on_batch_end")
        for batch in iterator:
            for hook in begin:
                hook(self, batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            for key, kept in steps.items():
                kept.append(step.get(key))
            for hook in end:
                hook(self, batch=batch, training=training, **step)
        batch_count = len(steps["task_losses"])
        weight_sums = torch.stack(steps["weight_sums"]).to(device)
        loss_sums = (torch.stack(steps["task_losses"]).to(device) * weight_sums).sum(dim=0)
        weight_sums = weight_sums.sum(dim=0)
        task_weights = torch.zeros_like(weight_sums)
        if training:
            task_weights = torch.stack(steps["weights"]).to(device).sum(dim=0)
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

    def _batch_hooks(self, name):
        """What ``notify(name, ...)`` calls, less the callbacks' empty hooks: it runs per batch."""
        callbacks = [cb for _, cb in self.callbacks_ if _overrides(cb, Callback, name)]
        return [getattr(self, name), *(getattr(cb, name) for cb in callbacks)]

    def best_epochs(self):
        """Task -> its best validation epoch (1-based), or None without early stopping."""
        callback = dict(getattr(self, "callbacks_", [])).get("early_stopping")
        return None if callback is None else callback.task_best_epochs(self.task_names)


def _overrides(instance, base, name):
    """Whether ``instance``'s class defines method ``name`` other than ``base``'s."""
    return getattr(type(instance), name) is not getattr(base, name)


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
