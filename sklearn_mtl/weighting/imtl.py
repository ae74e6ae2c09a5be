"""Impartial multi-task learning (Liu et al., 2021)."""

import numpy as np
import torch
from torchjd.aggregation import IMTLGWeighting

from ._base import GradientWeighting


class IMTLWeighting(GradientWeighting):
    """Make the shared update impartial: equal projections on every task's direction.

    IMTL-G chooses weights ``alpha`` (summing to 1) such that the combined
    gradient ``g = sum_t alpha_t g_t`` has the same projection on every unit
    gradient ``u_t = g_t / |g_t|``, so no task is favoured however large its
    gradient. The closed form is ``alpha = G^{-1} |g| / sum(G^{-1} |g|)``,
    with ``G`` the Gram matrix and ``|g|`` the gradients' norms (then
    ``g_t . g`` is proportional to ``|g_t|``); it is computed with the
    pseudo-inverse, as torchjd's ``IMTLGWeighting`` does, which extends it to
    linearly dependent gradients. (The equal-projection conditions alone
    also admit ``alpha = (1, 1, -1)`` for the gradients ``(1, 0)``,
    ``(0, 1)``, ``(1, 1)``: a zero update.)

    IMTL-L (``loss_scaling=True``, the paper's hybrid IMTL) also learns a
    scale ``e^{s_t}`` per task by minimising ``e^{s_t} L_t - s_t``, which
    drives each scaled loss to 1; the gradients are scaled by ``e^{s_t}``
    before IMTL-G.

    Parameters
    ----------
    loss_scaling : bool, default=True
        Learn the IMTL-L loss scales (hybrid IMTL); False gives IMTL-G.

    Attributes
    ----------
    log_scale_ : torch.Tensor of shape (n_tasks,)
        The learned ``s_t`` (updated by the network's optimizer; stays 0
        without loss scaling).
    weights_ : torch.Tensor of shape (n_tasks,)
        Each raw gradient's coefficient times ``n_tasks`` at the last step.

    See Also
    --------
    NashMTLWeighting : Another scale-invariant combination.
    MGDAWeighting : Min-norm combination.

    Notes
    -----
    Cost per step: the per-task gradients of the shared parameters (one
    batched backward pass, ``n_tasks x n_shared`` floats), their Gram matrix
    and the pseudo-inverse of that ``n_tasks x n_tasks`` matrix on the CPU.

    For two tasks the weights are always non-negative. With three or more
    tasks the closed form often gives one task a negative coefficient; the
    update still has the same, positive, projection on every task's
    direction, so it descends every task. The coefficients are kept as the
    paper defines them (clipping them would break that impartiality), which
    is why this strategy sets ``negative_weights = True``. The user's
    ``task_weights`` multiply the weights.

    References
    ----------
    .. [1] L. Liu, Y. Li, Z. Kuang, J.-H. Xue, Y. Chen, W. Yang, Q. Liao,
       W. Zhang, "Towards Impartial Multi-task Learning", ICLR 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.weighting import IMTLWeighting
    >>> g = np.array([[1.0, 0.0], [0.0, 3.0]])
    >>> IMTLWeighting(loss_scaling=False).weigh(g @ g.T, np.ones(2), np.arange(2))
    array([1.5, 0.5])
    """

    negative_weights = True

    task_weights_enter = "coefficients"

    _parameter_constraints = {"loss_scaling": ["boolean"]}

    def __init__(self, loss_scaling=True):
        self.loss_scaling = loss_scaling

    def initialize(self, task_names, base_weights, device):
        super().initialize(task_names, base_weights, device)
        n_tasks = len(self.task_names_)
        self.log_scale_ = torch.zeros(n_tasks, device=self.base_weights_.device)
        self.log_scale_.requires_grad_(bool(self.loss_scaling))
        return self

    def parameters(self):
        return [self.log_scale_] if self.loss_scaling else []

    def weigh(self, gram, losses, active):
        scale = np.ones(len(active))
        if self.loss_scaling:
            s = self.log_scale_.detach()
            scale = np.exp(s.double().cpu().numpy()[active])
            grad = torch.zeros_like(s)
            index = torch.as_tensor(active, device=s.device)
            grad[index] = torch.as_tensor(scale * losses - 1.0, dtype=s.dtype, device=s.device)
            self.log_scale_.grad = grad
        gram = gram * np.outer(scale, scale)
        # IMTL-G is invariant to the gradients' common scale: solve a well-conditioned copy.
        gram = torch.from_numpy(gram / (np.trace(gram) / len(gram)))
        alpha = IMTLGWeighting()(gram).numpy()
        return len(alpha) * alpha * scale

