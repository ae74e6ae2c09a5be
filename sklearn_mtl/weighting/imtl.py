"""Impartial multi-task learning (Liu et al., 2021)."""

import numpy as np
import torch

from ._base import GradientWeighting


class IMTLWeighting(GradientWeighting):
    """Make the shared update impartial: equal projections on every task's direction.

    IMTL-G chooses weights ``alpha`` (summing to 1) such that the combined
    gradient ``g = sum_t alpha_t g_t`` has the same projection on every unit
    gradient ``u_t = g_t / |g_t|``, so no task is favoured however large its
    gradient. The conditions are linear in ``alpha``,
    ``(u_1 - u_t) . g = 0`` for ``t > 1``; they are solved in the
    least-squares, minimum-norm sense on the Gram matrix (the paper's closed
    form when the system is regular; equal weights for identical tasks).

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
    and an ``n_tasks x n_tasks`` least-squares solve on the CPU.

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

    def __init__(self, loss_scaling=True):
        self.loss_scaling = loss_scaling

    def initialize(self, task_names, base_weights, device):
        self._check_param("loss_scaling", options=(True, False))
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
        alpha = impartial_weights(gram * np.outer(scale, scale))
        return len(alpha) * alpha * scale


def impartial_weights(gram):
    """IMTL-G weights: ``alpha`` summing to 1 with equal projections of ``G^T alpha``.

    Parameters
    ----------
    gram : ndarray of shape (n, n)
        Gram matrix of non-zero gradients.

    Returns
    -------
    alpha : ndarray of shape (n,)
        Summing to 1; may hold negative entries for ``n > 2``.
    """
    n = gram.shape[0]
    if n == 1:
        return np.ones(1)
    projections = gram / np.sqrt(np.diag(gram))[:, None]  # u_t . g_s
    system = np.vstack([projections[:1] - projections[1:], np.ones((1, n))])
    target = np.zeros(n)
    target[-1] = 1.0
    return np.linalg.lstsq(system, target, rcond=None)[0]
