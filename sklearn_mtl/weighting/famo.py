"""Fast adaptive multitask optimisation (Liu et al., 2023)."""

import numbers

import torch
from sklearn.utils._param_validation import Interval

from ._base import LossWeighting

_EPS = 1e-8


class FAMOWeighting(LossWeighting):
    """Balance the tasks' rates of loss decrease at the cost of one backward pass.

    FAMO keeps task logits ``xi`` and, with ``z = softmax(xi)``, minimises

    .. math:: \\frac{\\sum_t z_t \\log L_t}{\\sum_t z_t / L_t}

    (the denominator held constant), so task ``t``'s loss gets the weight
    ``z_t / (c L_t)`` with ``c = sum_i z_i / L_i``: a gradient step on the
    log-losses that decreases them at equal rates. After the optimizer step,
    the losses of the same batch are measured again and the logits move by
    one Adam step on ``J_softmax^T delta``, with ``delta_t`` the drop of
    ``log L_t`` over that step: tasks that improved less gain weight.

    Parameters
    ----------
    lr : float, default=0.025
        Learning rate of the logits' own Adam optimizer.
    gamma : float, default=0.001
        Weight decay of the logits (pulls the weights back towards uniform).

    Attributes
    ----------
    logits_ : torch.Tensor of shape (n_tasks,)
        The task logits ``xi``.
    weights_ : torch.Tensor of shape (n_tasks,)
        The loss weights in force at the last step, ``T z_t / (c L_t)``
        (summing to ``T``).

    See Also
    --------
    DWAWeighting : Balances loss trends per epoch instead of per step.

    Notes
    -----
    Cost per step: one backward pass plus one extra forward pass without
    gradient (the losses after the step; the engine's ``on_step_end`` hook),
    and ``O(n_tasks)`` memory. The paper shows this matches gradient-level
    methods at the cost of loss-level ones.

    The losses are assumed non-negative (cross-entropy, squared error). The
    weights are scaled by the number of tasks ``T`` so that the uniform point
    gives weight 1 per task. The user's ``task_weights`` multiply them. A
    task absent from a batch, or whose task weight is 0, gets weight 0 and
    is left out of the normaliser ``c`` and of the logit update.

    References
    ----------
    .. [1] B. Liu, Y. Feng, P. Stone, Q. Liu, "FAMO: Fast Adaptive Multitask
       Optimization", NeurIPS 2023.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.weighting import FAMOWeighting
    >>> s = FAMOWeighting().initialize(["a", "b"], torch.ones(2), "cpu")
    >>> total, weights = s.combine(torch.tensor([1.0, 3.0]), torch.tensor([True, True]))
    >>> weights  # the larger loss gets the smaller weight at first
    tensor([1.5000, 0.5000])
    """

    _parameter_constraints = {
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "gamma": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(self, lr=0.025, gamma=0.001):
        self.lr = lr
        self.gamma = gamma

    def initialize(self, task_names, base_weights, device):
        super().initialize(task_names, base_weights, device)
        zeros = torch.zeros(len(self.task_names_), device=self.base_weights_.device)
        self.logits_ = zeros.clone()
        self.adam_mean_, self.adam_square_ = zeros.clone(), zeros.clone()
        self.n_updates_ = 0
        self.last_losses_ = None
        self.last_present_ = None
        return self

    def combine(self, losses, present):
        n_tasks = losses.shape[0]
        # A task with weight 0 is switched off: out of the normaliser and the logit update.
        present = present & (self.base_weights_ > 0)
        z = torch.softmax(self.logits_.masked_fill(~present, -torch.inf), 0)
        z = torch.nan_to_num(z)
        shifted = torch.where(present, losses + _EPS, torch.ones_like(losses))
        c = (z / shifted.detach()).sum().clamp_min(_EPS)
        weights = self.base_weights_ * n_tasks * z / (c * shifted.detach())
        total = (self.base_weights_ * n_tasks * z * torch.log(shifted)).sum() / c
        self.last_losses_, self.last_present_ = losses.detach(), present
        return total, weights

    def on_step_end(self, recompute_losses):
        if self.last_losses_ is None:
            return
        with torch.no_grad():
            new = recompute_losses()
            present = self.last_present_
            delta = torch.log(self.last_losses_ + _EPS) - torch.log(new + _EPS)
            z = torch.nan_to_num(torch.softmax(self.logits_.masked_fill(~present, -torch.inf), 0))
            delta = torch.where(present, delta, torch.zeros_like(delta))
            grad = z * (delta - (z * delta).sum()) + self.gamma * self.logits_
            step = self._adam_step(grad)
            self.logits_ = self.logits_ - torch.where(present, step, torch.zeros_like(step))
        self.last_losses_ = None

    def _adam_step(self, grad, beta1=0.9, beta2=0.999, eps=1e-8):
        m = self.adam_mean_ = beta1 * self.adam_mean_ + (1 - beta1) * grad
        v = self.adam_square_ = beta2 * self.adam_square_ + (1 - beta2) * grad**2
        self.n_updates_ += 1
        m_hat = m / (1 - beta1**self.n_updates_)
        v_hat = v / (1 - beta2**self.n_updates_)
        return self.lr * m_hat / (v_hat.sqrt() + eps)
