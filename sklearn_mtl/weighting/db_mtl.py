"""Dual-balancing multi-task learning (Lin et al., 2023)."""

import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from ._base import GradientWeighting

_EPS = 1e-8


class DBMTLWeighting(GradientWeighting):
    """Balance the tasks twice: log-transformed losses, then gradients of equal norm.

    DB-MTL balances the loss scales by training on ``log L_t`` (whose
    gradient is ``g_t / L_t``), and the gradient scales by giving every task
    the same gradient norm as the largest: with ``h_t`` a moving average of
    the log-loss gradients, the shared parameters receive
    ``sum_t (max_s |h_s| / |h_t|) h_t``. The heads receive the gradient of
    ``sum_t log L_t``. This follows LibMTL's implementation (the authors'
    library); torchjd has no DB-MTL.

    Parameters
    ----------
    beta : float, default=0.9
        Weight of the past in the moving average,
        ``h_t <- g_t / L_t + beta_k (h_t - g_t / L_t)`` with
        ``beta_k = beta / k^beta_sigma`` at a task's ``k``-th step.
    beta_sigma : float, default=0.0
        Decay of ``beta`` over the steps (0: constant, LibMTL's default).

    Attributes
    ----------
    gradient_average_ : torch.Tensor of shape (n_tasks, n_shared) or None
        The moving averages ``h_t`` of the log-loss gradients.
    n_steps_ : torch.Tensor of shape (n_tasks,)
        Steps in which each task took part.
    weights_ : torch.Tensor of shape (n_tasks,)
        ``max_s |h_s| / |h_t|`` at the last step: each averaged log-loss
        gradient's coefficient (at least 1).

    See Also
    --------
    GradNormWeighting : Learns weights that equalise the gradient norms.
    IMTLWeighting : Scale-invariant by equal projections.

    Notes
    -----
    Cost per step: the per-task gradients of the shared parameters (one
    batched backward pass, ``n_tasks x n_shared`` floats), their moving
    average (another ``n_tasks x n_shared`` floats, kept from step to step
    and saved with the fitted model), and one backward pass for the heads.
    No solve.

    The user's ``task_weights`` multiply the coefficients and each head's
    log-loss. A task absent from a batch keeps its moving average and is
    left out of that step. The weights are coefficients of log-loss
    gradients, so they are not comparable with other strategies' loss
    weights: a task's effective loss weight is about ``weight_t / L_t``.

    References
    ----------
    .. [1] B. Lin, W. Jiang, F. Ye, Y. Zhang, P. Chen, Y.-C. Chen, S. Liu,
       J. T. Kwok, "Dual-Balancing for Multi-Task Learning",
       arXiv:2308.12029, 2023.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_mtl.weighting import DBMTLWeighting
    >>> s = DBMTLWeighting().initialize(["a", "b"], torch.ones(2), "cpu")
    >>> g = np.array([[3.0, 0.0], [0.0, 1.0]])  # both scaled to the larger norm
    >>> s.weigh(g @ g.T, np.ones(2), np.arange(2))
    array([1., 3.])
    """

    task_weights_enter = "coefficients"

    _parameter_constraints = {
        "beta": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_sigma": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(self, beta=0.9, beta_sigma=0.0):
        self.beta = beta
        self.beta_sigma = beta_sigma

    def initialize(self, task_names, base_weights, device):
        super().initialize(task_names, base_weights, device)
        self.gradient_average_ = None
        self.n_steps_ = torch.zeros(len(self.task_names_), device=self.base_weights_.device)
        return self

    def task_gradient_rows(self, losses, targets, present):
        log_losses = torch.log(losses + _EPS)
        rows = super().task_gradient_rows(log_losses, targets, present)
        if self.gradient_average_ is None:
            self.gradient_average_ = torch.zeros_like(rows)
        taking_part = present & (rows != 0).any(dim=1)
        self.n_steps_ = self.n_steps_ + taking_part
        beta = (self.beta / self.n_steps_.clamp_min(1) ** self.beta_sigma)[:, None]
        average = self.gradient_average_
        self.gradient_average_ = torch.where(
            taking_part[:, None], rows + beta * (average - rows), average
        )
        return torch.where(taking_part[:, None], self.gradient_average_, torch.zeros_like(rows))

    def task_parameter_loss(self, losses, present):
        log_losses = torch.where(present, torch.log(losses + _EPS), torch.zeros_like(losses))
        return (self.base_weights_ * log_losses).sum()

    def weigh(self, gram, losses, active):
        norms = np.sqrt(np.diag(gram))
        return norms.max() / norms
