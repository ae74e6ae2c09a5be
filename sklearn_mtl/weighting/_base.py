"""Base classes of task-weighting strategies."""

from abc import ABC, abstractmethod

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import InvalidParameterError


class BaseWeighting(BaseEstimator, ABC):
    """Base class of task-weighting strategies.

    A strategy is a parameter object: hyper-parameters are ``__init__``
    arguments (grid-searchable as ``weighting__<name>``) with declarative
    ``_parameter_constraints``, checked once by :meth:`initialize`; the
    per-task losses, the network and the epoch arrive as call arguments;
    running state lives in ``_``-suffixed attributes that :meth:`initialize`
    resets at the start of every fit.

    The engine calls, in order:

    1. ``initialize(task_names, base_weights, device)`` once per fit;
    2. ``backward(losses, present=..., network=..., representation=...)`` once
       per training batch, after ``zero_grad`` and before the optimizer step;
    3. ``on_step_end(recompute_losses)`` after each optimizer step (a no-op
       unless the strategy needs the losses after the step, as FAMO does);
    4. ``on_epoch_end(train_losses)`` once per epoch.

    Subclass :class:`LossWeighting` (one backward pass of a weighted sum) or
    :class:`GradientWeighting` (per-task gradients on the shared parameters);
    which of the two a strategy is, is its class. To add a strategy, write one
    file with its class and add one line to the registry in
    ``sklearn_mtl/weighting/__init__.py``; the contract and property tests in
    ``tests/weighting/`` then cover it.

    Conventions shared by every strategy:

    - weights are reported so that the uniform point gives every task weight
      1.0, as ``static`` does by default (strategies that work on the simplex
      multiply their weights by the number of tasks);
    - a task with no labelled row in a batch (``present`` False) has loss 0
      and no gradient; strategies leave it out of their computation and must
      never produce a NaN because of it; so is a task whose weight in
      ``task_weights`` is 0;
    - tensors of the running state live on the losses' device; pickling moves
      them to the CPU so that a model trained on CUDA loads anywhere.
    """

    _parameter_constraints: dict = {}

    #: Whether the weights are drawn at random at every step (only their
    #: expectation is then symmetric in the tasks).
    stochastic = False

    #: Whether a weight can be negative (a coefficient of a task's gradient
    #: in a combination that still descends every task, as in IMTL).
    negative_weights = False

    def initialize(self, task_names, base_weights, device):
        """Check the hyper-parameters and reset the running state at the start of a fit.

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
        self._validate_params()
        self.task_names_ = list(task_names)
        self.base_weights_ = torch.as_tensor(base_weights, dtype=torch.float32).to(device)
        self.weights_ = self.base_weights_.clone()
        return self

    def _validate_params(self):
        try:
            super()._validate_params()
        except InvalidParameterError as error:
            raise InvalidParameterError(
                f"{error} Pass a valid value to {type(self).__name__}(...) or set "
                "weighting__<parameter> on the estimator."
            ) from None

    def parameters(self):
        """Learnable tensors the network's optimizer updates too (none by default)."""
        return []

    @abstractmethod
    def backward(self, losses, *, present, network, representation=None):
        """Back-propagate the combined loss of one batch.

        Parameters
        ----------
        losses : torch.Tensor of shape (n_tasks,)
            Each task's mean loss over its labelled rows of the batch (0 with no
            gradient for a task without labelled row).
        present : torch.Tensor of bool, shape (n_tasks,)
            Which tasks have at least one labelled row in the batch.
        network : sklearn_mtl._nn.MultiTaskNetwork
            The network, for ``shared_parameters()`` and ``task_parameters()``.
        representation : torch.Tensor or None
            The body's output when every task reads the same one (hard
            sharing), for strategies that work on the representation.

        Returns
        -------
        weights : torch.Tensor of shape (n_tasks,)
            The weight each task's loss received in this step (detached).
        """

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

    @abstractmethod
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
    :meth:`weigh`, which returns a coefficient per task; how the user's
    ``task_weights`` enter is the class's :attr:`task_weights_enter`. A task
    absent from the batch, whose gradient is zero, or whose task weight is 0
    is left out and gets weight 0 in that step. The heads and other
    task-specific parameters receive the gradient of
    ``sum_t task_weight_t * L_t``, in which each head reads only its own task.
    With no shared parameter at all (``hidden_layer_sizes=()`` under hard
    sharing) there is nothing to combine: that gradient is the whole update.

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

    _parameter_constraints: dict = {}

    #: Work on the gradients of the shared representation when there is one.
    on_representation = False

    #: Whether the update never increases a task's loss to first order:
    #: ``g_t . d >= 0`` for every task ``t`` (MGDA, UPGrad, DualProj).
    non_conflicting = False

    #: Whether the tasks are visited in a random order (PCGrad, GradVac), so
    #: that permuting the tasks permutes the weights in distribution only.
    random_order = False

    #: How the user's ``task_weights`` ``w`` enter the update.
    #: ``"gradients"``: the method sees the weighted gradients ``w_t g_t`` (its
    #: Gram matrix is ``D G D`` with ``D = diag(w)``), so a method that removes
    #: conflicts removes them from the update actually made; ``"coefficients"``:
    #: the method sees the raw gradients and ``w`` multiplies its coefficients
    #: (for methods invariant to a task's gradient scale, where weighting the
    #: gradients would cancel out); ``"preference"``: :meth:`weigh` uses them
    #: itself, as the method's preference vector (``self.base_weights_cpu_``).
    task_weights_enter = "gradients"

    def initialize(self, task_names, base_weights, device):
        super().initialize(task_names, base_weights, device)
        self.base_weights_cpu_ = self.base_weights_.double().cpu().numpy()
        return self

    @abstractmethod
    def weigh(self, gram, losses, active):
        """The weight of each task's gradient.

        Parameters
        ----------
        gram : numpy.ndarray of shape (n_active, n_active), float64
            ``g_i . g_j`` for the active tasks: present in the batch, with a
            non-zero gradient and a positive task weight (the gradients are
            multiplied by their task weights first when
            :attr:`task_weights_enter` is ``"gradients"``).
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

    def task_gradient_rows(self, losses, targets, present):
        """The per-task rows the shared update combines, ``(n_tasks, n)``.

        Each task's gradient on ``targets`` (:func:`task_gradients`); a
        strategy that combines something else (DB-MTL: a moving average of
        the log-loss gradients) overrides this.

        Parameters
        ----------
        losses : torch.Tensor of shape (n_tasks,)
            The batch's per-task losses.
        targets : list of torch.Tensor
            What the gradients are taken with respect to: the shared
            parameters, or the shared representation.
        present : torch.Tensor of bool, shape (n_tasks,)
            Which tasks have a labelled row in the batch.

        Returns
        -------
        rows : torch.Tensor of shape (n_tasks, n)
        """
        return task_gradients(losses, targets)

    def task_parameter_loss(self, losses, present):
        """The scalar whose gradient the task-specific parameters receive.

        Parameters
        ----------
        losses : torch.Tensor of shape (n_tasks,)
            The batch's per-task losses.
        present : torch.Tensor of bool, shape (n_tasks,)
            Which tasks have a labelled row in the batch.

        Returns
        -------
        loss : torch.Tensor
            A scalar: the static-weighted sum of the losses by default.
        """
        return (self.base_weights_ * losses).sum()

    def backward(self, losses, *, present, network, representation=None):
        shared = network.shared_parameters()
        if not shared:
            self.task_parameter_loss(losses, present).backward()
            self.weights_ = self.base_weights_ * present
            return self.weights_
        use_representation = self.on_representation and representation is not None
        targets = [representation] if use_representation else shared
        rows = self.task_gradient_rows(losses, targets, present)
        weights = self._weights(rows @ rows.T, losses, present).to(rows.dtype).to(rows.device)
        specific = network.task_parameters()
        if specific:
            torch.autograd.backward(
                self.task_parameter_loss(losses, present), inputs=specific, retain_graph=True
            )
        combined = weights @ rows
        if use_representation:
            torch.autograd.backward(
                representation, grad_tensors=combined.view_as(representation), inputs=shared
            )
        else:
            set_flat_grad(shared, combined)
        self.weights_ = weights
        return weights

    def _weights(self, gram, losses, present):
        """Every task's weight, from the Gram matrix of their rows (on the CPU)."""
        # One device synchronisation per step: the solve is tiny and runs on the CPU.
        n_tasks = losses.shape[0]
        stats = torch.cat([gram.flatten(), losses.detach(), present.to(gram.dtype)])
        stats = stats.double().cpu().numpy()
        gram = stats[: n_tasks * n_tasks].reshape(n_tasks, n_tasks)
        losses, present = stats[-2 * n_tasks : -n_tasks], stats[-n_tasks:] > 0
        base = self.base_weights_cpu_
        active = (present & (gram.diagonal() > 0) & (base > 0)).nonzero()[0]
        weights = np.zeros(n_tasks)
        if active.size:
            gram, task_weights = gram[np.ix_(active, active)], base[active]
            if self.task_weights_enter == "gradients":
                gram = gram * np.outer(task_weights, task_weights)
            coefficients = np.asarray(self.weigh(gram, losses[active], active), dtype=np.float64)
            if self.task_weights_enter != "preference":
                coefficients = task_weights * coefficients
            weights[active] = coefficients
        return torch.as_tensor(weights)


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
