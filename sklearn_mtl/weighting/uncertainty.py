"""Uncertainty weighting (Kendall, Gal & Cipolla, 2018)."""

import numbers

import torch
from sklearn.utils._param_validation import Interval

from ._base import LossWeighting


class UncertaintyWeighting(LossWeighting):
    """Weigh each task by a learned homoscedastic uncertainty.

    Each task ``t`` gets a learnable log-variance ``s_t = log sigma_t^2`` and the
    network minimises

    .. math:: \\sum_t w_t \\left(e^{-s_t} L_t + \\tfrac{1}{2} s_t\\right)

    jointly over the network and ``s``, so a task whose loss stays high (a
    noisy task) gets a large ``sigma_t`` and a low weight ``e^{-s_t}``. For a
    fixed loss the optimum is ``e^{-s_t} = 1 / (2 L_t)``: with the mean squared
    error of a regression whose residual variance is ``sigma^2``, the weight
    tends to ``1 / (2 sigma^2)``.

    Parameters
    ----------
    init_log_variance : float, default=0.0
        Initial ``s_t`` of every task (0 gives weight 1).

    Attributes
    ----------
    log_variance_ : torch.Tensor of shape (n_tasks,)
        The learned ``s_t``, updated by the network's optimizer (same learning
        rate and weight decay).
    weights_ : torch.Tensor of shape (n_tasks,)
        The weights ``w_t e^{-s_t}`` in force at the last step.

    See Also
    --------
    DWAWeighting : Adapts the weights from the loss trend instead.

    Notes
    -----
    Cost per step: one backward pass, as ``static``; ``n_tasks`` extra
    parameters.

    The user's ``task_weights`` ``w_t`` multiply each task's term, so the
    weight in force is ``w_t e^{-s_t}``. A task with no labelled row in a
    batch contributes nothing, not even its regulariser ``s_t / 2``, so its
    ``s_t`` does not drift while it is absent.

    This is the paper's form for a classification task,
    ``L / sigma^2 + log sigma``, used for every task type. LibMTL uses the
    paper's regression form ``L / (2 sigma^2) + log sigma`` for every task
    instead; both reach the same weight at the optimum, ``1 / (2 L_t)``, and
    differ in the starting weight (1 here, 1/2 there at ``s = 0``).

    References
    ----------
    .. [1] A. Kendall, Y. Gal, R. Cipolla, "Multi-Task Learning Using
       Uncertainty to Weigh Losses for Scene Geometry and Semantics", CVPR 2018.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.weighting import UncertaintyWeighting
    >>> s = UncertaintyWeighting().initialize(["a", "b"], torch.ones(2), "cpu")
    >>> total, weights = s.combine(torch.tensor([2.0, 4.0]), torch.tensor([True, True]))
    >>> weights
    tensor([1., 1.])
    """

    _parameter_constraints = {
        "init_log_variance": [Interval(numbers.Real, None, None, closed="neither")],
    }

    def __init__(self, init_log_variance=0.0):
        self.init_log_variance = init_log_variance

    def initialize(self, task_names, base_weights, device):
        super().initialize(task_names, base_weights, device)
        self.log_variance_ = torch.full(
            (len(self.task_names_),),
            float(self.init_log_variance),
            device=self.base_weights_.device,
        ).requires_grad_()
        self.weights_ = self.base_weights_ * torch.exp(-self.log_variance_.detach())
        return self

    def parameters(self):
        return [self.log_variance_]

    def combine(self, losses, present):
        s = self.log_variance_
        terms = torch.exp(-s) * losses + 0.5 * s
        total = (self.base_weights_ * present * terms).sum()
        return total, self.base_weights_ * torch.exp(-s.detach())
