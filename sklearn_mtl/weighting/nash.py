"""Multi-task learning as a bargaining game (Navon et al., 2022)."""

import numpy as np
from scipy.optimize import minimize

from ._base import GradientWeighting


class NashMTLWeighting(GradientWeighting):
    """Combine the task gradients by the Nash bargaining solution.

    Nash-MTL picks the update ``d = sum_t alpha_t g_t`` that maximises
    ``sum_t log(g_t . d)`` in a ball, whose solution satisfies
    ``(G G^T) alpha = 1 / alpha`` elementwise with ``alpha > 0``. That is the
    stationarity condition of the strictly convex problem
    ``min_alpha 1/2 alpha^T G G^T alpha - sum_t log alpha_t``, solved here
    with SciPy's L-BFGS-B (no convex-programming dependency). As in the
    authors' code, the Gram matrix is first divided by its Frobenius norm,
    which makes the update independent of the gradients' overall scale.

    Parameters
    ----------
    max_iter : int, default=50
        L-BFGS-B iterations per step (warm-started from the last solution).
    ridge : float, default=1e-6
        Added to the diagonal of the normalised Gram matrix so the problem
        has a solution when the gradients are linearly dependent.

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
    and an L-BFGS-B solve in ``n_tasks`` variables on the CPU. The paper's
    cheaper variant that solves only every few steps is not implemented.

    ``alpha`` is scale-equivariant per task (doubling a task's gradient
    halves its ``alpha``), so the user's ``task_weights`` multiply ``alpha``
    after the solve instead of scaling the losses, where they would cancel.

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
    >>> alpha = NashMTLWeighting(ridge=0).weigh(g @ g.T, np.ones(2), np.arange(2))
    >>> (alpha[0] / alpha[1]).round(3)
    np.float64(2.0)
    """

    def __init__(self, max_iter=50, ridge=1e-6):
        self.max_iter = max_iter
        self.ridge = ridge

    def initialize(self, task_names, base_weights, device):
        self._check_param("max_iter", low=1)
        self._check_param("ridge", low=0)
        super().initialize(task_names, base_weights, device)
        self.alpha_ = np.ones(len(self.task_names_))
        return self

    def weigh(self, gram, losses, active):
        n = gram.shape[0]
        gram = gram / np.linalg.norm(gram) + self.ridge * np.eye(n)

        def objective(alpha):
            product = gram @ alpha
            return 0.5 * alpha @ product - np.log(alpha).sum(), product - 1.0 / alpha

        start = self.alpha_[active] if hasattr(self, "alpha_") else np.ones(n)
        alpha = minimize(
            objective,
            np.clip(start, 1e-3, None),
            jac=True,
            method="L-BFGS-B",
            bounds=[(1e-8, None)] * n,
            options={"maxiter": self.max_iter},
        ).x
        if hasattr(self, "alpha_"):
            self.alpha_[active] = alpha
        return alpha
