"""Multi-task learning as a bargaining game (Navon et al., 2022)."""

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval

from ._base import GradientWeighting
from ._solvers import alpha_fair_weights


class NashMTLWeighting(GradientWeighting):
    """Combine the task gradients by the Nash bargaining solution.

    Nash-MTL picks the update ``d = sum_t alpha_t g_t`` that maximises
    ``sum_t log(g_t . d)`` in a ball, whose solution satisfies
    ``(G G^T) alpha = 1 / alpha`` elementwise with ``alpha > 0``. That is the
    stationarity condition of the strictly convex problem
    ``min_alpha 1/2 alpha^T G G^T alpha - sum_t log alpha_t``, solved here
    by a damped Newton method
    (:func:`~sklearn_mtl.weighting._solvers.alpha_fair_weights`, FairGrad's
    solver at ``alpha = 1``; no convex-programming dependency, unlike
    torchjd's ``NashMTL``, which needs cvxpy). The condition is solved on the raw gradients, as the
    paper states it: then ``|d|^2 = sum_t alpha_t g_t . d = n_tasks``, so
    neither the direction nor the length of the update depends on the
    gradients' scale (the authors' code divides the Gram matrix by its
    Frobenius norm first, which makes the update grow with the gradients,
    and then clips it to ``max_norm``).

    Parameters
    ----------
    max_iter : int, default=50
        Newton iterations per step (warm-started from the last solution;
        a handful suffice).
    ridge : float, default=1e-6
        Added to the diagonal of the gradients' cosine matrix, so the problem
        has a solution when the gradients are linearly dependent.
    max_norm : float or None, default=1.0
        The update's norm is clipped to it (``clip_grad_norm_`` in the
        authors' code, whose default is 1.0); None keeps the bargaining
        solution's norm, ``sqrt(n_tasks)``.

    Attributes
    ----------
    weights_ : torch.Tensor of shape (n_tasks,)
        The ``alpha`` in force at the last step.

    See Also
    --------
    IMTLWeighting : Impartial projections.
    MGDAWeighting : Min-norm combination.

    Notes
    -----
    Cost per step: the per-task gradients of the shared parameters (one
    batched backward pass, ``n_tasks x n_shared`` floats), their Gram matrix
    and a Newton solve in ``n_tasks`` variables on the CPU. The paper's
    cheaper variant that solves only every few steps is not implemented.

    ``alpha`` is scale-equivariant per task (doubling a task's gradient
    halves its ``alpha``), so the user's ``task_weights`` multiply ``alpha``
    after the solve instead of scaling the losses, where they would cancel;
    the clipping to ``max_norm`` comes last. The reported weights are the
    coefficients of the raw gradients in the update, clipping included.

    References
    ----------
    .. [1] A. Navon, A. Shamsian, I. Achituve, H. Maron, K. Kawaguchi,
       G. Chechik, E. Fetaya, "Multi-Task Learning as a Bargaining Game",
       ICML 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.weighting import NashMTLWeighting
    >>> g = np.array([[1.0, 0.0], [0.0, 2.0]])  # orthogonal: alpha_t = 1 / |g_t|
    >>> nash = NashMTLWeighting(ridge=0, max_norm=None).initialize(["a", "b"], np.ones(2), "cpu")
    >>> alpha = nash.weigh(g @ g.T, np.ones(2), np.arange(2))
    >>> (alpha[0] / alpha[1]).round(3)
    np.float64(2.0)
    """

    task_weights_enter = "preference"

    _parameter_constraints = {
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "ridge": [Interval(numbers.Real, 0, None, closed="left")],
        "max_norm": [Interval(numbers.Real, 0, None, closed="neither"), None],
    }

    def __init__(self, max_iter=50, ridge=1e-6, max_norm=1.0):
        self.max_iter = max_iter
        self.ridge = ridge
        self.max_norm = max_norm

    def initialize(self, task_names, base_weights, device):
        super().initialize(task_names, base_weights, device)
        self.alpha_ = np.ones(len(self.task_names_))
        return self

    def weigh(self, gram, losses, active):
        alpha = alpha_fair_weights(
            gram, 1.0, self.alpha_[active], max_iter=self.max_iter, ridge=self.ridge
        )
        self.alpha_[active] = alpha
        alpha = alpha * self.base_weights_cpu_[active]
        norm = np.sqrt(max(alpha @ gram @ alpha, 0.0))
        if self.max_norm is not None and norm > self.max_norm:
            alpha = alpha * (self.max_norm / norm)
        return alpha

