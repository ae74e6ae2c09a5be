"""Multiple-gradient descent, upper bound (Sener & Koltun, 2018)."""

import numpy as np

from ._base import GradientWeighting


class MGDAWeighting(GradientWeighting):
    """Follow the min-norm point of the convex hull of the task gradients.

    MGDA finds weights ``alpha`` on the simplex minimising
    ``|sum_t alpha_t g_t|^2``; the resulting direction decreases every task's
    loss at once (or is zero at a Pareto-stationary point). MGDA-UB takes the
    gradients with respect to the shared representation ``Z`` instead of the
    shared parameters, which bounds the same objective from above at a
    fraction of the cost; the combined gradient is then back-propagated from
    ``Z`` once.

    Parameters
    ----------
    normalization : {"none", "l2", "loss", "loss+"}, default="none"
        How the gradients are scaled before the min-norm problem is solved
        (as in the paper's code): not at all, by their norm, by their loss,
        or by both. The weights then apply to the raw gradients.
    max_iter : int, default=250
        Frank-Wolfe iterations of the min-norm solver (exact for two tasks
        after one).

    Attributes
    ----------
    weights_ : torch.Tensor of shape (n_tasks,)
        ``n_tasks * alpha`` at the last step.

    See Also
    --------
    CAGradWeighting : Trades the average loss off against the worst task.
    NashMTLWeighting : Bargaining solution, scale invariant.

    Notes
    -----
    Cost per step: with hard sharing (the default architecture), one batched
    backward pass to the representation (``n_tasks x batch_size x width``
    floats), one backward pass from it into the trunk, and a Frank-Wolfe
    solve on the ``n_tasks x n_tasks`` Gram matrix on the CPU. With an
    architecture without one shared representation, the per-task gradients
    of the shared parameters are used instead (MGDA proper).

    The weights are reported times ``n_tasks`` (the uniform point gives 1 per
    task); the user's ``task_weights`` multiply them.

    References
    ----------
    .. [1] O. Sener, V. Koltun, "Multi-Task Learning as Multi-Objective
       Optimization", NeurIPS 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.weighting.mgda import min_norm_weights
    >>> g = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> min_norm_weights(g @ g.T)  # the point (0.8, 0.4) is closest to 0
    array([0.8, 0.2])
    """

    on_representation = True

    def __init__(self, normalization="none", max_iter=250):
        self.normalization = normalization
        self.max_iter = max_iter

    def initialize(self, task_names, base_weights, device):
        self._check_param("normalization", options=("none", "l2", "loss", "loss+"))
        self._check_param("max_iter", low=1)
        return super().initialize(task_names, base_weights, device)

    def weigh(self, gram, losses, active):
        norms = np.sqrt(np.diag(gram))
        scale = {
            "none": np.ones_like(norms),
            "l2": norms,
            "loss": np.maximum(losses, 1e-12),
            "loss+": np.maximum(losses, 1e-12) * norms,
        }[self.normalization]
        alpha = min_norm_weights(gram / np.outer(scale, scale), max_iter=self.max_iter)
        return len(alpha) * alpha


def min_norm_weights(gram, max_iter=250, tol=1e-8):
    """The point of the simplex minimising ``alpha^T gram alpha``.

    Frank-Wolfe with exact line search from the uniform point: each step
    moves towards the vertex with the smallest gradient. Exact after one step
    for two vectors; symmetric vectors keep equal weights.

    Parameters
    ----------
    gram : ndarray of shape (n, n)
        Gram matrix of the vectors.
    max_iter : int, default=250
    tol : float, default=1e-8
        Stop when the step size falls below it.

    Returns
    -------
    alpha : ndarray of shape (n,)
    """
    n = gram.shape[0]
    alpha = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        grad = gram @ alpha
        t = int(np.argmin(grad))
        vv, vt, tt = alpha @ grad, grad[t], gram[t, t]
        gap = vv - 2 * vt + tt  # |v - g_t|^2
        if gap <= 1e-12 * max(vv, tt, 1e-300):
            break
        step = min(max((vv - vt) / gap, 0.0), 1.0)
        if step < tol:
            break
        alpha *= 1 - step
        alpha[t] += step
    return alpha
