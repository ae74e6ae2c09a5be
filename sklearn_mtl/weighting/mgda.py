"""Multiple-gradient descent, upper bound (Sener & Koltun, 2018)."""

import numpy as np
from sklearn.utils._param_validation import StrOptions

from ._base import GradientWeighting
from ._solvers import min_norm_weights


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
    floats), one backward pass from it into the trunk, and an exact
    solve on the ``n_tasks x n_tasks`` Gram matrix on the CPU
    (:func:`~sklearn_mtl.weighting._solvers.min_norm_weights`, an NNLS
    problem; Frank-Wolfe from the uniform point, as in torchjd's
    ``MGDAWeighting``, stalls when gradients nearly oppose and then returns
    a direction that increases a task's loss). With an
    architecture without one shared representation, the per-task gradients
    of the shared parameters are used instead (MGDA proper).

    The weights are reported times ``n_tasks`` (the uniform point gives 1 per
    task). The user's ``task_weights`` scale the gradients before the
    min-norm point is found, so the update still decreases every task's
    loss to first order (``g_t . d >= 0``; with ``normalization="none"``,
    since the other normalisations solve for scaled gradients and apply the
    weights to the raw ones, as the paper's code does); its coefficients are
    reported on the raw gradients. ``max_iter`` (of the former Frank-Wolfe
    solver) is gone: the solve is exact.

    References
    ----------
    .. [1] O. Sener, V. Koltun, "Multi-Task Learning as Multi-Objective
       Optimization", NeurIPS 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.weighting import MGDAWeighting
    >>> g = np.array([[1.0, 0.0], [0.0, 2.0]])  # the point (0.8, 0.4) is closest to 0
    >>> MGDAWeighting().weigh(g @ g.T, np.ones(2), np.arange(2)).round(6)
    array([1.6, 0.4])
    """

    on_representation = True

    non_conflicting = True

    _parameter_constraints = {"normalization": [StrOptions({"none", "l2", "loss", "loss+"})]}

    def __init__(self, normalization="none"):
        self.normalization = normalization

    def weigh(self, gram, losses, active):
        norms = np.sqrt(np.diag(gram))
        scale = {
            "none": np.ones_like(norms),
            "l2": norms,
            "loss": np.maximum(losses, 1e-12),
            "loss+": np.maximum(losses, 1e-12) * norms,
        }[self.normalization]
        alpha = min_norm_weights(gram / np.outer(scale, scale))
        return len(alpha) * alpha
