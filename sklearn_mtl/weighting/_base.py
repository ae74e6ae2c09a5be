"""Base classes of task-weighting strategies."""

import torch
from sklearn.base import BaseEstimator


class BaseWeighting(BaseEstimator):
    """Base class of task-weighting strategies.

    A strategy is a parameter object: hyper-parameters are ``__init__``
    arguments (grid-searchable as ``weighting__<name>``); the per-task losses,
    the network and the epoch arrive as call arguments; running state lives in
    ``_``-suffixed attributes that :meth:`initialize` resets at the start of
    every fit.

    The engine calls, in order:

    1. ``initialize(task_names, base_weights, device)`` once per fit;
    2. ``backward(losses, present=..., network=..., representation=...)`` once
       per training batch, after ``zero_grad`` and before the optimizer step;
    3. ``on_epoch_end(train_losses)`` once per epoch.

    Subclass :class:`LossWeighting` (one backward pass of a weighted sum) or
    :class:`GradientWeighting` (per-task gradients on the shared parameters).
    To add a strategy, write one file with its class and add one line to the
    registry in ``sklearn_mtl/weighting/__init__.py``.
    """

    #: ``"loss"`` or ``"gradient"``: what the strategy looks at.
    level = "loss"

    def initialize(self, task_names, base_weights, device):
        """Reset the running state at the start of a fit.

        Parameters
        ----------
        task_names : list of str
            The tasks, in the order of every per-task tensor.
        base_weights : torch.Tensor of shape (n_tasks,)
            The user's static ``task_weights`` (1.0 where not given).
        device : torch.device
            Where the losses will live.

        Returns
        -------
        self
        """
        self.task_names_ = list(task_names)
        self.base_weights_ = base_weights.to(device)
        self.weights_ = self.base_weights_.clone()
        return self

    def parameters(self):
        """Learnable tensors the network's optimizer updates too (none by default)."""
        return []

    def backward(self, losses, *, present, network, representation=None):
        """Back-propagate the combined loss of one batch.

        Parameters
        ----------
        losses : torch.Tensor of shape (n_tasks,)
            Each task's mean loss over its labelled rows of the batch (0 with no
            gradient for a task without labelled row).
        present : torch.Tensor of bool, shape (n_tasks,)
            Which tasks have at least one labelled row in the batch.
        network : sklearn_mtl._network.MultiTaskNetwork
            The network, for ``shared_parameters()`` and ``task_parameters()``.
        representation : torch.Tensor or None
            The body's output when every task reads the same one (hard
            sharing), for strategies that work on the representation.

        Returns
        -------
        weights : torch.Tensor of shape (n_tasks,)
            The weight each task's loss received in this step (detached).
        """
        raise NotImplementedError

    def on_epoch_end(self, train_losses):
        """Hook for strategies that adapt per epoch (e.g. DWA).

        Parameters
        ----------
        train_losses : torch.Tensor of shape (n_tasks,)
            Each task's mean training loss over the epoch.
        """

    def __getstate__(self):
        # A model trained on CUDA must unpickle on a CPU-only machine.
        state = super().__getstate__()
        return {
            key: value.cpu() if isinstance(value, torch.Tensor) else value
            for key, value in state.items()
        }


class LossWeighting(BaseWeighting):
    """Strategies that combine the task losses into one scalar.

    Cost per step: one backward pass, as for a single task. Subclasses implement
    :meth:`combine`.
    """

    level = "loss"

    def combine(self, losses, present):
        """The scalar to back-propagate and the weights in force.

        Returns
        -------
        total : torch.Tensor, scalar
        weights : torch.Tensor of shape (n_tasks,)
        """
        raise NotImplementedError

    def backward(self, losses, *, present, network, representation=None):
        total, weights = self.combine(losses, present)
        total.backward()
        self.weights_ = weights.detach()
        return self.weights_


class GradientWeighting(BaseWeighting):
    """Strategies that combine the tasks' gradients on the shared parameters.

    Cost per step: one backward pass per task for the shared parameters (their
    per-task gradients, ``n_tasks x n_shared`` floats of memory) and one for the
    task-specific ones. Subclasses implement :meth:`aggregate`; the heads and
    other task-specific parameters receive the gradient of
    ``sum_t base_weight_t * L_t``, which each head reads only for its own task.
    """

    level = "gradient"

    def aggregate(self, grads, losses, present):
        """Combine the per-task gradients.

        Parameters
        ----------
        grads : torch.Tensor of shape (n_tasks, n_shared)
            Row ``t`` is the flattened gradient of ``L_t`` on the shared
            parameters (zeros for an absent task).
        losses : torch.Tensor of shape (n_tasks,)
        present : torch.Tensor of bool, shape (n_tasks,)

        Returns
        -------
        shared_grad : torch.Tensor of shape (n_shared,)
        weights : torch.Tensor of shape (n_tasks,)
            The weight (or equivalent) each task received.
        """
        raise NotImplementedError

    def backward(self, losses, *, present, network, representation=None):
        shared = network.shared_parameters()
        grads = task_gradients(losses, shared)
        shared_grad, weights = self.aggregate(grads, losses, present)
        specific = network.task_parameters()
        if specific:
            torch.autograd.backward((self.base_weights_ * losses).sum(), inputs=specific)
        set_flat_grad(shared, shared_grad)
        self.weights_ = weights.detach()
        return self.weights_


def task_gradients(losses, parameters):
    """Flattened gradient of each task's loss on ``parameters``, ``(n_tasks, n)``.

    One batched backward pass over the identity (``is_grads_batched``); tasks
    whose loss does not reach the parameters get zeros.
    """
    n_tasks = losses.shape[0]
    eye = torch.eye(n_tasks, device=losses.device, dtype=losses.dtype)
    grads = torch.autograd.grad(
        losses,
        parameters,
        grad_outputs=eye,
        is_grads_batched=True,
        retain_graph=True,
        allow_unused=True,
    )
    return torch.cat(
        [
            (g if g is not None else torch.zeros((n_tasks,) + p.shape, device=p.device)).reshape(
                n_tasks, -1
            )
            for g, p in zip(grads, parameters)
        ],
        dim=1,
    )


def set_flat_grad(parameters, flat):
    """Write a flattened gradient into ``parameters``' ``.grad``."""
    offset = 0
    for p in parameters:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n
