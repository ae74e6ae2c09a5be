"""Base classes of task-weighting strategies."""

import numbers

import numpy as np
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
    3. ``on_step_end(recompute_losses)`` after each optimizer step (a no-op
       unless the strategy needs the losses after the step, as FAMO does);
    4. ``on_epoch_end(train_losses)`` once per epoch.

    Subclass :class:`LossWeighting` (one backward pass of a weighted sum) or
    :class:`GradientWeighting` (per-task gradients on the shared parameters).
    To add a strategy, write one file with its class and add one line to the
    registry in ``sklearn_mtl/weighting/__init__.py``; the contract tests in
    ``tests/weighting/test_contract.py`` then cover it.

    Conventions shared by every strategy:

    - weights are reported so that the uniform point gives every task weight
      1.0, as ``static`` does by default (strategies that work on the simplex
      multiply their weights by the number of tasks);
    - a task with no labelled row in a batch (``present`` False) has loss 0
      and no gradient; strategies leave it out of their computation and must
      never produce a NaN because of it;
    - tensors of the running state live on the losses' device; pickling moves
      them to the CPU so that a model trained on CUDA loads anywhere.
    """

    #: ``"loss"`` or ``"gradient"``: what the strategy looks at.
    level = "loss"

    #: Whether the weights are drawn at random at every step (only their
    #: expectation is then symmetric in the tasks).
    stochastic = False

    #: Whether a weight can be negative (a coefficient of a task's gradient
    #: in a combination that still descends every task, as in IMTL).
    negative_weights = False

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
        self.base_weights_ = torch.as_tensor(base_weights, dtype=torch.float32).to(device)
        self.weights_ = self.base_weights_.clone()
        return self

    def _check_param(self, name, *, low=None, high=None, low_open=False, options=None):
        """Raise a ValueError naming the fix when a hyper-parameter is out of range."""
        value = getattr(self, name)
        where = f"{type(self).__name__}: {name}={value!r}"
        if options is not None:
            if value not in options:
                raise ValueError(f"{where} is not one of {list(options)}; set weighting__{name}.")
            return
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
            raise TypeError(f"{where} must be a real number; set weighting__{name}.")
        if low is not None and (value < low or (low_open and value == low)):
            bound = ">" if low_open else ">="
            raise ValueError(f"{where} must be {bound} {low}; set weighting__{name}.")
        if high is not None and value > high:
            raise ValueError(f"{where} must be <= {high}; set weighting__{name}.")

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

    def on_step_end(self, recompute_losses):
        """Hook run after each optimizer step (nothing by default).

        Parameters
        ----------
        recompute_losses : callable
            ``recompute_losses()`` returns the per-task losses of the batch
            just trained on, under the updated parameters (one forward pass
            without gradient; call it only when needed).
        """

    def on_epoch_end(self, train_losses):
        """Hook for strategies that adapt per epoch (e.g. DWA).

        Parameters
        ----------
        train_losses : torch.Tensor of shape (n_tasks,)
            Each task's mean training loss over the epoch (0 for a task with
            no labelled row in the epoch).
        """

    def __getstate__(self):
        # A model trained on CUDA must unpickle on a CPU-only machine.
        return _to_cpu(super().__getstate__())


def _to_cpu(value):
    """``value`` with every tensor in it (through dicts, lists, tuples) on the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().requires_grad_(value.requires_grad)
    if isinstance(value, dict):
        return {key: _to_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(item) for item in value)
    return value


class LossWeighting(BaseWeighting):
    """Strategies that combine the task losses into one scalar.

    Cost per step: one backward pass, as for a single task. Subclasses implement
    :meth:`combine`.
    """

    level = "loss"

    def combine(self, losses, present):
        """The scalar to back-propagate and the weights in force.

        Parameters
        ----------
        losses : torch.Tensor of shape (n_tasks,)
        present : torch.Tensor of bool, shape (n_tasks,)

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

    Every such strategy here reduces to weights: the shared parameters receive
    ``sum_t weight_t * g_t`` where ``g_t`` is the gradient of task ``t``'s loss
    on them, and the weights are computed from the Gram matrix
    ``G G^T`` of those gradients (and the losses). Subclasses implement
    :meth:`weigh`, which returns coefficients computed on the raw gradients;
    the user's ``task_weights`` then multiply them (a task with weight 0 is
    left out). Coefficients are scaled so that the uniform point gives 1 per
    task, as ``static`` does. A task absent from the batch, or whose gradient
    is zero, is left out and gets weight 0 in that step. The heads and other
    task-specific parameters receive the gradient of
    ``sum_t task_weight_t * L_t``, in which each head reads only its own task.

    Cost per step: one batched backward pass that yields the per-task
    gradients of the shared parameters (``n_tasks x n_shared`` floats of
    memory; :func:`task_gradients`), an ``n_tasks x n_tasks`` Gram matrix moved
    to the CPU (one device synchronisation), a small solve there, and one
    backward pass for the task-specific parameters.

    When :attr:`on_representation` is True and the body shares one
    representation ``Z`` (hard sharing), the per-task gradients are taken with
    respect to ``Z`` instead (``n_tasks x batch x width``), which is cheaper;
    the combined gradient is then back-propagated from ``Z`` into the shared
    parameters (MGDA-UB).
    """

    level = "gradient"

    #: Work on the gradients of the shared representation when there is one.
    on_representation = False

    def initialize(self, task_names, base_weights, device):
        super().initialize(task_names, base_weights, device)
        self.base_weights_cpu_ = self.base_weights_.double().cpu().numpy()
        return self

    def weigh(self, gram, losses, active):
        """The weight of each task's gradient.

        Parameters
        ----------
        gram : numpy.ndarray of shape (n_active, n_active), float64
            ``g_i . g_j`` for the active tasks: present in the batch, with a
            non-zero gradient and a positive task weight.
        losses : numpy.ndarray of shape (n_active,)
            Their losses.
        active : numpy.ndarray of int, shape (n_active,)
            Their indices among all tasks.

        Returns
        -------
        weights : array-like of shape (n_active,)
            The coefficient of each active task's gradient in the shared
            update (inactive tasks get 0).
        """
        raise NotImplementedError

    def backward(self, losses, *, present, network, representation=None):
        shared = network.shared_parameters()
        use_representation = self.on_representation and representation is not None
        targets = [representation] if use_representation else shared
        grads = task_gradients(losses, targets)
        gram = grads @ grads.T
        # One device synchronisation per step: the solve is tiny and runs on the CPU.
        n_tasks = losses.shape[0]
        stats = torch.cat([gram.flatten(), losses.detach(), present.to(gram.dtype)])
        stats = stats.double().cpu().numpy()
        gram_cpu = stats[: n_tasks * n_tasks].reshape(n_tasks, n_tasks)
        losses_cpu, present_cpu = stats[-2 * n_tasks : -n_tasks], stats[-n_tasks:] > 0
        base = self.base_weights_cpu_
        active = (present_cpu & (gram_cpu.diagonal() > 0) & (base > 0)).nonzero()[0]
        weights = np.zeros(n_tasks)
        if active.size:
            coefficients = self.weigh(gram_cpu[np.ix_(active, active)], losses_cpu[active], active)
            weights[active] = base[active] * np.asarray(coefficients, dtype=np.float64)
        weights = torch.as_tensor(weights, dtype=grads.dtype).to(grads.device)
        specific = network.task_parameters()
        if specific:
            torch.autograd.backward(
                (self.base_weights_ * losses).sum(), inputs=specific, retain_graph=True
            )
        combined = weights @ grads
        if use_representation:
            torch.autograd.backward(
                representation, grad_tensors=combined.view_as(representation), inputs=shared
            )
        else:
            set_flat_grad(shared, combined)
        self.weights_ = weights
        return weights


def task_gradients(losses, parameters):
    """Flattened gradient of each task's loss on ``parameters``, ``(n_tasks, n)``.

    One batched backward pass over the identity (``is_grads_batched``, which
    vectorises the backward pass with ``vmap``); if a layer does not support
    that, one backward pass per task instead. Tasks whose loss does not reach
    the parameters get zeros. The graph is kept for later backward passes.

    Parameters
    ----------
    losses : torch.Tensor of shape (n_tasks,)
    parameters : list of torch.Tensor

    Returns
    -------
    grads : torch.Tensor of shape (n_tasks, n)

    Examples
    --------
    >>> import torch
    >>> w = torch.tensor([1.0, 2.0], requires_grad=True)
    >>> losses = torch.stack([(w ** 2).sum(), 3 * w[0]])
    >>> task_gradients(losses, [w])
    tensor([[2., 4.],
            [3., 0.]])
    """
    n_tasks = losses.shape[0]
    eye = torch.eye(n_tasks, device=losses.device, dtype=losses.dtype)
    try:
        grads = torch.autograd.grad(
            losses,
            parameters,
            grad_outputs=eye,
            is_grads_batched=True,
            retain_graph=True,
            allow_unused=True,
        )
    except RuntimeError:
        rows = [
            torch.autograd.grad(losses[t], parameters, retain_graph=True, allow_unused=True)
            for t in range(n_tasks)
        ]
        grads = [
            None
            if all(r[i] is None for r in rows)
            else torch.stack([r[i] if r[i] is not None else torch.zeros_like(p) for r in rows])
            for i, p in enumerate(parameters)
        ]
    return torch.cat(
        [
            (g if g is not None else p.new_zeros((n_tasks,) + p.shape)).reshape(n_tasks, -1)
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
