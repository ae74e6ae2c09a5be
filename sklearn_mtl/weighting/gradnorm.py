"""Gradient normalisation (Chen et al., 2018)."""

import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from ._base import GradientWeighting


class GradNormWeighting(GradientWeighting):
    """Learn task weights that equalise the tasks' gradient norms.

    GradNorm learns weights ``w_t`` (summing to the number of tasks ``T``)
    such that each task's weighted gradient norm on the shared parameters,
    ``G_t = w_t |g_t|``, tracks the common target
    ``mean(G) * r_t^alpha``, where ``r_t = (L_t / L_t(0)) / mean_i(L_i / L_i(0))``
    is the task's relative inverse training rate. The weights descend the
    gradient of ``sum_t |G_t - target_t|`` (target held constant), taken with
    the network's optimizer and learning rate; the network follows
    ``sum_t w_t g_t``. A task that trains slowly (large ``r_t``) gets a
    larger share of gradient; ``alpha = 0`` simply equalises the norms.

    Parameters
    ----------
    alpha : float, default=1.5
        Strength of the pull towards a common training rate (the paper uses
        0.12 to 3; 1.5 is its common choice).

    Attributes
    ----------
    logits_ : torch.Tensor of shape (n_tasks,)
        Learnable; the weights are ``T * softmax(logits_)``, which keeps them
        positive and summing to ``T`` (the paper's renormalisation).
    initial_losses_ : torch.Tensor of shape (n_tasks,)
        ``L_t(0)``: each task's loss in the first batch where it had labels.
    weights_ : torch.Tensor of shape (n_tasks,)
        The weights in force at the last step.

    See Also
    --------
    UncertaintyWeighting : Learned weights at the cost of one backward pass.
    IMTLWeighting : Equal projections in closed form.

    Notes
    -----
    Cost per step: the per-task gradients of the shared parameters (one
    batched backward pass, ``n_tasks x n_shared`` floats) and their Gram
    matrix; the weight update itself needs only the gradient norms (its
    diagonal), no second-order pass. The paper measures ``G_t`` on the last
    shared layer only; here it uses all shared parameters.

    The user's ``task_weights`` multiply the learned weights: GradNorm
    balances the raw gradients and the task weights then express a
    deliberate preference. A task absent from a batch is left out of that
    step's balance (its ``L_t(0)`` is taken the first time it appears).

    References
    ----------
    .. [1] Z. Chen, V. Badrinarayanan, C.-Y. Lee, A. Rabinovich, "GradNorm:
       Gradient Normalization for Adaptive Loss Balancing in Deep Multitask
       Networks", ICML 2018.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_mtl.weighting import GradNormWeighting
    >>> s = GradNormWeighting(alpha=0.0).initialize(["a", "b"], torch.ones(2), "cpu")
    >>> g = np.array([[1.0, 0.0], [0.0, 3.0]])
    >>> s.weigh(g @ g.T, np.ones(2), np.arange(2))  # weights start equal
    array([1., 1.])
    >>> s.logits_.grad  # ...and the update moves weight to the small gradient
    tensor([-2.,  2.])
    """

    task_weights_enter = "coefficients"

    _parameter_constraints = {"alpha": [Interval(numbers.Real, 0, None, closed="left")]}

    def __init__(self, alpha=1.5):
        self.alpha = alpha

    def initialize(self, task_names, base_weights, device):
        super().initialize(task_names, base_weights, device)
        n_tasks = len(self.task_names_)
        device = self.base_weights_.device
        self.logits_ = torch.zeros(n_tasks, device=device, requires_grad=True)
        self.initial_losses_ = torch.zeros(n_tasks, dtype=torch.float64)
        return self

    def parameters(self):
        return [self.logits_]

    def weigh(self, gram, losses, active):
        n_tasks = self.logits_.shape[0]
        index = torch.as_tensor(active)
        new = self.initial_losses_[index] <= 0
        self.initial_losses_[index[new]] = torch.as_tensor(losses)[new]
        with torch.enable_grad():
            weights = n_tasks * torch.softmax(self.logits_, 0).double().cpu()[index]
            norms = weights * torch.as_tensor(np.sqrt(np.diag(gram)))
            rates = torch.as_tensor(losses) / self.initial_losses_[index].clamp_min(1e-12)
            target = norms.mean().detach() * (rates / rates.mean()) ** self.alpha
            balance = (norms - target).abs().sum()
            (grad,) = torch.autograd.grad(balance, self.logits_)
        self.logits_.grad = grad
        return weights.detach().numpy()
